//! Reports about flags: the lifecycle insights of `GET /insights` ([`InsightList`]).

use serde::{Deserialize, Serialize};

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
