//! Reports about flags: the lifecycle insights of `GET /insights` ([`InsightList`])
//! and one flag's insights report, `GET /environments/{env}/flags/{key}/insights`
//! ([`FlagInsights`]).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One lifecycle insight: something about a flag (or a change to it) worth acting on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    /// The flag's environment.
    pub environment: String,
    /// The flag's key.
    pub flag: String,
    /// `expired`, `fully_off`, `fully_rolled_out`, `archived_prerequisite`,
    /// `review_due`, `stale_change`, or one of the metrics' kinds (`no_evaluations`,
    /// `variant_errors`, ...).
    pub kind: String,
    /// What was found, for people.
    pub message: String,
    /// What to do about it.
    pub recommendation: String,
}

/// `GET /insights`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightList {
    /// The insights, by environment and flag, then the waiting changes by id.
    pub insights: Vec<Insight>,
}

/// `GET /environments/{env}/flags/{key}/insights`: one flag over the last `days` days
/// of edge metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagInsights {
    /// The flag's key.
    pub flag: String,
    /// Its environment.
    pub environment: String,
    /// How many days the report covers (1 to 90).
    pub days: u32,
    /// Start of the window (RFC 3339).
    pub from: String,
    /// End of the window (RFC 3339).
    pub to: String,
    /// How it was evaluated.
    pub performance: Performance,
    /// Who it reached.
    pub adoption: Adoption,
    /// The tracked events per variant, against the control.
    pub business_impact: BusinessImpact,
    /// Where the flag is in its life.
    pub lifecycle: Lifecycle,
    /// What to do about it, with the reasons (its lifecycle insights).
    pub recommendations: Vec<Recommendation>,
}

/// A flag's evaluations over the report's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// How many evaluations the edges reported.
    pub evaluations: u64,
    /// Evaluations per day of the window, rounded.
    pub evaluations_per_day: f64,
    /// Percent of evaluations that failed (`null` without evaluations).
    pub error_rate: Option<f64>,
    /// Percent of tracked outcomes that succeeded (`null` without outcomes).
    pub success_rate: Option<f64>,
    /// Mean latency of the tracked outcomes, ms (`null` without latencies).
    pub avg_response_time_ms: Option<f64>,
    /// 95th percentile of that latency, ms.
    pub p95_response_time_ms: Option<f64>,
}

/// Who a flag reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adoption {
    /// Estimated distinct units evaluated (a sketch's estimate, never above the
    /// evaluations).
    pub unique_units: f64,
    /// Per variant, by name.
    pub by_variant: BTreeMap<String, VariantAdoption>,
    /// Evaluations per country.
    pub geography: BTreeMap<String, u64>,
}

/// One variant's share of a flag's evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantAdoption {
    /// How often it was served.
    pub evaluations: u64,
    /// Percent of the flag's evaluations (`null` without evaluations).
    pub share_percent: Option<f64>,
    /// Estimated distinct units it was served to.
    pub unique_units: f64,
    /// Percent of its tracked outcomes that succeeded.
    pub success_rate: Option<f64>,
    /// Mean latency of its tracked outcomes, ms.
    pub latency_mean_ms: Option<f64>,
}

/// The tracked events per variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessImpact {
    /// The variant the others are compared with (the flag's off variant).
    pub control: Option<String>,
    /// Event name → variant → its outcomes.
    pub events: BTreeMap<String, BTreeMap<String, EventOutcome>>,
}

/// An event's outcomes under one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOutcome {
    /// How often it was tracked.
    pub count: u64,
    /// Mean value tracked with it.
    pub value_mean: Option<f64>,
    /// Percent that succeeded.
    pub success_rate: Option<f64>,
    /// Mean latency, ms.
    pub latency_mean_ms: Option<f64>,
    /// This variant less the control (absent for the control, or without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_control: Option<VsControl>,
}

/// A variant's outcomes less the control's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VsControl {
    /// Difference of the mean values.
    pub value_mean: Option<f64>,
    /// Difference of the success rates, in points.
    pub success_rate: Option<f64>,
}

/// Where a flag is in its life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// `active`, `disabled`, `expired` or `archived`.
    pub state: String,
    /// Its current revision.
    pub revision: i64,
    /// When it was created (RFC 3339; its first audit entry).
    pub created_at: Option<String>,
    /// When it last changed (RFC 3339).
    pub last_changed_at: String,
    /// Who changed it last.
    pub last_changed_by: String,
    /// Whole days since.
    pub days_since_change: i64,
    /// When it expires (RFC 3339), as its document says.
    pub expires_at: Option<String>,
    /// Whole days until then (negative once expired).
    pub expires_in_days: Option<i64>,
}

/// A lifecycle insight about the flag, as advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The insight's kind (see [`Insight::kind`]).
    pub kind: String,
    /// Why: the insight's message.
    pub reason: String,
    /// What to do.
    pub recommendation: String,
}
