//! Reports about flags: the lifecycle insights of `GET /insights` ([`InsightList`])
//! and one flag's insights report, `GET /environments/{env}/flags/{key}/insights`
//! ([`FlagInsights`]), and its audit report, `GET .../flags/{key}/audit-report`
//! ([`AuditReport`]).

use super::audit::Link;
use super::{Change, Revision, VariantMetrics, Violation};
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
    /// `no_evaluations`, `variant_errors`, `review_due` or `stale_change`.
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

/// `GET /environments/{env}/flags/{key}/audit-report`: the seed's audit report of a
/// flag, its history, approvals, metrics and compliance together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The flag's key.
    pub flag_id: String,
    /// Its environment.
    pub environment: String,
    /// When the report was made (RFC 3339).
    pub audit_timestamp: String,
    /// What its document says of it, and its row.
    pub flag: AuditedFlag,
    /// Its revisions, newest first.
    pub configuration_history: Vec<Revision>,
    /// The change requests about it, newest first.
    pub changes: Vec<Change>,
    /// Every approval those changes got.
    pub approvals: Vec<ReportApproval>,
    /// Its audit entries, oldest first.
    pub audit_entries: Vec<Link>,
    /// What the edges reported over the last 30 days.
    pub evaluation_metrics: EvaluationMetrics,
    /// The latency of its tracked outcomes over those days.
    pub performance_metrics: PerformanceMetrics,
    /// Who it reached over those days.
    pub user_impact_metrics: UserImpactMetrics,
    /// Its governance and HIPAA standing.
    pub security_information: SecurityInformation,
    /// The headline figures.
    pub audit_summary: AuditSummary,
}

/// A flag as its audit report describes it (`null` where the document says nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditedFlag {
    /// Its name.
    pub name: Option<String>,
    /// Its owner.
    pub owner: Option<String>,
    /// Its kind, as declared.
    pub kind: Option<String>,
    /// Its strategy.
    pub strategy: Option<String>,
    /// Its risk, as declared.
    pub risk: Option<String>,
    /// The compliance regimes it falls under.
    pub compliance: Option<Vec<String>>,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Whether it is archived.
    pub archived: bool,
    /// Its current revision.
    pub revision: i64,
    /// When it expires (RFC 3339).
    pub expires_at: Option<String>,
}

/// An approval given to one of the flag's changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportApproval {
    /// Who approved.
    pub approver: String,
    /// As which role.
    pub role: String,
    /// What they said.
    pub comment: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// The change approved.
    pub change: i64,
}

/// A flag's evaluations over the report's 30 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationMetrics {
    /// How many evaluations the edges reported.
    pub total_evaluations: u64,
    /// Percent of tracked outcomes that succeeded (0 without outcomes).
    pub success_rate: f64,
    /// Percent of evaluations that failed (0 without evaluations).
    pub error_rate: f64,
    /// Per variant, the figures of [`FlagMetrics`](super::FlagMetrics)' `variants` (counts, reasons,
    /// units, dimensions, outcome rates and latencies).
    pub by_variant: BTreeMap<String, VariantMetrics>,
    /// The window the figures cover.
    pub window: Window,
}

/// A window of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Start (RFC 3339).
    pub from: String,
    /// End (RFC 3339).
    pub to: String,
}

/// The latency of a flag's tracked outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceMetrics {
    /// Mean, ms (0 without latencies).
    pub avg_response_time_ms: f64,
    /// 95th percentile, ms.
    pub p95_response_time_ms: Option<f64>,
}

/// Who a flag reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserImpactMetrics {
    /// Estimated distinct units evaluated.
    pub unique_users: f64,
    /// Evaluations per country.
    pub geography: BTreeMap<String, u64>,
}

/// A flag's governance and HIPAA standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityInformation {
    /// `compliant` (no policy violated by an update of it now) or `non_compliant`.
    pub compliance_status: String,
    /// The policies it violates.
    pub violations: Vec<Violation>,
    /// The approvals an update of it needs.
    pub required_approvals: Vec<RequiredApproval>,
    /// Its HIPAA clinical oversight level (0-3), for flags under HIPAA.
    pub oversight_level: Option<u8>,
    /// Whether the whole audit chain verifies.
    pub audit_chain: AuditChain,
    /// The HIPAA Security Rule's safeguards (empty for flags neither `HIPAA` nor PHI).
    pub hipaa_safeguards: Vec<Safeguard>,
    /// Its clinical review schedule (`null` when its oversight level needs none).
    pub oversight_review: Option<ReviewSchedule>,
}

/// An approval a change of the flag would need, as governance assesses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequiredApproval {
    /// The role that must approve.
    pub role: String,
    /// The policy requiring it.
    pub policy: String,
    /// Which version of the flag triggers the policy (`proposed`, `current`, `both`).
    pub triggered_by: String,
    /// What the change lowers, when only the current version triggers the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The flag whose policy requires it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// The only people who may give it, when the policy names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
}

/// Whether the audit chain verifies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditChain {
    /// Whether every entry's hash and link hold.
    pub intact: bool,
    /// How many entries it holds (when intact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// What is broken (when not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One HIPAA Security Rule safeguard, with the evidence Vexil holds or the gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Safeguard {
    /// `administrative`, `physical` or `technical`.
    pub kind: String,
    /// The Security Rule's standard and its section.
    pub standard: String,
    /// `evidence`, `gap` or `delegated`.
    pub status: String,
    /// The evidence, or what is missing, in words.
    pub detail: String,
}

/// `POST /environments/{env}/flags/{key}/review`: a clinical review recorded, and
/// where the flag's schedule stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagReview {
    /// The flag's key.
    pub flag: String,
    /// Its environment.
    pub environment: String,
    /// Its schedule, with the review just given as `last`. Never `null` in practice
    /// (only flags with scheduled reviews are reviewed); optional because the schedule
    /// is computed as for reports, where flags below oversight level 2 have none.
    pub schedule: Option<ReviewSchedule>,
}

/// Where a flag's clinical review schedule stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSchedule {
    /// The flag's oversight level.
    pub oversight_level: u8,
    /// Days between reviews.
    pub every_days: i64,
    /// The last review, if any.
    pub last: Option<LastReview>,
    /// When the next review is due: the last one (or, before any, the flag's first
    /// audit entry) plus the interval (RFC 3339).
    pub due_at: String,
    /// `done` while the last review is within its interval, `scheduled` before the
    /// first is due, `due` once the date has passed.
    pub status: String,
}

/// The last clinical review of a flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastReview {
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub by: String,
    /// What they found.
    pub comment: String,
}

/// An audit report's headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// How many evaluations the edges reported.
    pub total_evaluations: u64,
    /// Percent of tracked outcomes that succeeded.
    pub success_rate: f64,
    /// Mean latency, ms.
    pub average_response_time_ms: f64,
    /// Estimated distinct units evaluated.
    pub unique_users_affected: f64,
    /// `compliant` or `non_compliant`.
    pub compliance_status: String,
}
