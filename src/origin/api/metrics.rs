//! Edge metrics: what `POST /metrics` answers about a batch ([`BatchAnswer`]) and a
//! flag's metrics report, `GET /flags/{key}/metrics?env=` ([`FlagMetrics`]), which
//! the insights and audit reports are built from.
//!
//! Rates are percents rounded to three decimals, `null` when nothing was measured
//! (no evaluations, no outcomes reporting success or failure, no latencies); unique
//! units are a sketch's estimate, rounded and never above the evaluations counted.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts by name (variants, reasons, error codes, countries), sorted.
pub type Counts = BTreeMap<String, u64>;

/// `POST /metrics`: the batch was stored, or had been before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchAnswer {
    /// Stored now.
    Stored(StoredBatch),
    /// This key sent this environment a batch of that id before; nothing changed.
    Duplicate(DuplicateBatch),
}

impl BatchAnswer {
    /// Whether the batch had been stored before.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, BatchAnswer::Duplicate(_))
    }
}

/// A batch stored in its bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBatch {
    /// Always `true`.
    pub accepted: bool,
    /// Start of the 10-second bucket it was merged into (RFC 3339).
    pub bucket: String,
    /// HIPAA evaluation audit events it carried, now in the audit log.
    pub audit_events: usize,
    /// The kind of key that sent it: `server` or `client`.
    pub sdk_kind: String,
    /// The running rollouts whose treated variant it spoke about.
    pub rollouts: Vec<BatchRollout>,
    /// Dimensions dropped before storage (private for their flag, or unit ids), as
    /// `flag: dimension`, sorted.
    pub withheld_dimensions: Vec<String>,
}

/// A batch already stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateBatch {
    /// Always `false`.
    pub accepted: bool,
    /// Always `true`.
    pub duplicate: bool,
    /// The batch's id, as sent.
    pub batch_id: String,
}

/// Whether a batch counted for one running rollout's current stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRollout {
    /// The rollout's id.
    pub rollout: i64,
    /// Its flag.
    pub flag: String,
    /// `false` when a client key sent it and the rollout does not count client
    /// metrics: recorded against the key, but not judged.
    pub counted: bool,
}

/// `GET /flags/{key}/metrics?env=`: the seed's `FeatureFlagMetrics` for one flag
/// over `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagMetrics {
    /// The flag's key.
    pub flag: String,
    /// Its environment.
    pub environment: String,
    /// Start of the window (RFC 3339).
    pub from: String,
    /// End of the window, exclusive (RFC 3339).
    pub to: String,
    /// Evaluations reported: variants served and errors.
    pub total_evaluations: u64,
    /// Per variant served, by name.
    pub variants: BTreeMap<String, VariantMetrics>,
    /// Evaluation errors by code.
    pub errors: Counts,
    /// Percent of evaluations that were errors.
    pub error_rate: Option<f64>,
    /// Percent of tracked outcomes (over every variant) that succeeded.
    pub success_rate: Option<f64>,
    /// Percent of tracked outcomes that failed.
    pub outcome_error_rate: Option<f64>,
    /// Mean latency of the tracked outcomes, ms.
    pub avg_response_time_ms: Option<f64>,
    /// 95th percentile of that latency, ms.
    pub p95_response_time_ms: Option<f64>,
    /// Estimated distinct units evaluated.
    pub unique_units: f64,
    /// Evaluations per country (dimensions whose name ends in `country`).
    pub geography: Counts,
    /// Tracked event → variant → its outcomes.
    pub outcomes: BTreeMap<String, BTreeMap<String, OutcomeMetrics>>,
    /// The figures per kind of key that sent them (`server`, `client`), kinds
    /// without any left out.
    pub by_key_kind: BTreeMap<String, KeyKindMetrics>,
    /// The window's 10-second buckets that evaluated the flag, oldest first.
    pub series: Vec<MetricsBucket>,
}

/// One variant of a flag over a report's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantMetrics {
    /// How often it was served.
    pub count: u64,
    /// Why, by evaluation reason.
    pub reasons: Counts,
    /// Estimated distinct units it was served to.
    pub unique_units: f64,
    /// Dimension → value → evaluations (private dimensions never stored).
    pub dimensions: BTreeMap<String, Counts>,
    /// Percent of its tracked outcomes that failed.
    pub outcome_error_rate: Option<f64>,
    /// Percent that succeeded.
    pub success_rate: Option<f64>,
    /// Mean latency of its tracked outcomes, ms.
    pub latency_mean_ms: Option<f64>,
    /// 95th percentile of that latency, ms.
    pub latency_p95_ms: Option<f64>,
}

/// A tracked event's outcomes attributed to one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeMetrics {
    /// How often it was tracked.
    pub count: u64,
    /// Outcomes reported as successes.
    pub success: u64,
    /// Outcomes reported as failures.
    pub failure: u64,
    /// Percent of successes among those reporting either.
    pub success_rate: Option<f64>,
    /// Mean of the values tracked with it.
    pub value_mean: Option<f64>,
    /// Mean latency, ms.
    pub latency_mean_ms: Option<f64>,
    /// 95th percentile latency, ms.
    pub latency_p95_ms: Option<f64>,
}

/// What one kind of key reported about a flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyKindMetrics {
    /// Evaluations counted from its batches.
    pub evaluations: u64,
    /// Tracked outcomes that reported success or failure.
    pub samples: u64,
    /// Of those, failures.
    pub failures: u64,
    /// Percent of them that failed.
    pub outcome_error_rate: Option<f64>,
}

/// One 10-second bucket of a flag's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsBucket {
    /// Start of the bucket (RFC 3339).
    pub at: String,
    /// Evaluations: variants served and errors.
    pub evaluations: u64,
    /// Evaluation errors.
    pub errors: u64,
    /// Evaluations per variant.
    pub variants: Counts,
    /// Evaluations per reason, over every variant.
    pub reasons: Counts,
    /// Errors per code.
    pub error_codes: Counts,
    /// Per variant, its tracked outcomes in the bucket.
    pub outcomes: BTreeMap<String, BucketOutcomes>,
}

/// A variant's tracked outcomes in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketOutcomes {
    /// Outcomes reporting success or failure.
    pub samples: u64,
    /// Of those, failures.
    pub failures: u64,
    /// Percent of them that failed.
    pub error_rate: Option<f64>,
    /// Mean latency, ms.
    pub latency_mean_ms: Option<f64>,
}
