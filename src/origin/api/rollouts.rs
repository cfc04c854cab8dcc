//! Progressive rollouts: `POST /environments/{env}/flags/{key}/rollouts`
//! ([`RolloutPlan`], answered with a [`Rollout`]), `GET /environments/{env}/rollouts`
//! ([`RolloutList`]), `GET /rollouts/{id}` and `POST /rollouts/{id}/{action}`.
//! A rollout carries its guards ([`Guards`]), the scheduler's last judgement of its
//! stage ([`StageCheck`] with its [`Figures`]) and its history
//! ([`RolloutEvent`], in `rollout_events`).

use super::rollout_events::RolloutEvent;
pub use crate::origin::rollouts::best_execution::{Check as BestExecutionCheck, Decision};
pub use crate::origin::rollouts::{EventGuard, Guards};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A request to start a rollout; every field has a default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutPlan {
    /// Percentages, increasing (default 5, 15, 25, 50, 75, 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<f64>>,
    /// How long each stage runs before it may advance (default `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_duration: Option<String>,
    /// Error-rate guard (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<f64>,
    /// Success-rate guard (default 99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_success_rate: Option<f64>,
    /// Latency guard (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<f64>,
    /// Samples needed (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_samples: Option<u64>,
    /// Event guards, `EVENT:max=N` or `EVENT:rate<=P`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<String>,
    /// Best-execution guards: `{event, metric?: "value", higher_is_better?, tolerance?,
    /// confidence?: 0.95, min_samples?: 100}`, treatment against control.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub best_execution: Vec<crate::origin::rollouts::best_execution::BestExecution>,
    /// Count client SDK keys' metrics too (default `[rollouts] count_client_metrics`,
    /// itself false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_client_metrics: Option<bool>,
    /// The variant rolled out (default: the first that is not the off variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Roll out within this rule instead of the fallthrough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The reason, kept with the change and in the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A rollout as every rollout route answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// The rollout's id.
    pub id: i64,
    /// Its environment.
    pub environment: String,
    /// The flag rolled out.
    pub flag: String,
    /// The variant rolled out.
    pub variant: String,
    /// The rule rolled out within (`null`: the fallthrough).
    pub rule: Option<String>,
    /// The stages' percentages.
    pub stages: Vec<f64>,
    /// The current stage, from 1.
    pub stage: i64,
    /// The current stage's percentage.
    pub percentage: Option<f64>,
    /// How long each stage runs before it may advance.
    pub stage_duration_ms: i64,
    /// What must hold for a stage to advance.
    pub guards: Guards,
    /// `waiting_approval`, `running`, `paused`, `completed`, `rolled_back` or `aborted`.
    pub status: String,
    /// The percentage before the rollout (where a rollback returns).
    pub start_percentage: f64,
    /// When the current stage began (RFC 3339).
    pub stage_started_at: Option<String>,
    /// When it may advance.
    pub stage_ends_at: Option<String>,
    /// The change that set the current stage.
    pub change_id: Option<i64>,
    /// Who started it.
    pub created_by: String,
    /// When it was started (RFC 3339).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// The scheduler's last judgement of the stage (none before its first pass).
    pub last_check: Option<StageCheck>,
    /// What happened to it, oldest first.
    pub history: Vec<RolloutEvent>,
    /// The SDK keys whose metrics fed the current stage.
    pub metrics_keys: Vec<MetricsKey>,
}

/// The scheduler's judgement of a stage at one pass, stored with the rollout as
/// JSON (rows written before the SDK keys were recorded have no `keys`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageCheck {
    /// When (RFC 3339).
    pub at: String,
    /// The stage judged, from 1.
    pub stage: u64,
    /// Its percentage.
    pub percentage: f64,
    /// The treated variant's figures in the stage's window.
    pub figures: Figures,
    /// The guards that failed, in words (any rolls the rollout back).
    pub breaches: Vec<String>,
    /// Whether there were enough samples to judge the rate guards (and every
    /// best-execution guard had enough values); without, the stage holds.
    pub enough_samples: bool,
    /// The SDK keys whose batches the judgement rests on (and those left out).
    #[serde(default)]
    pub keys: Vec<MetricsKey>,
}

/// The treated variant's figures in a stage's window, as the guards judged them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Evaluations that served the variant.
    pub evaluations: u64,
    /// Tracked outcomes (success or failure) attributed to it.
    pub samples: u64,
    /// Failed outcomes, percent of samples (none without samples).
    pub error_rate: Option<f64>,
    /// Successful outcomes, percent of samples.
    pub success_rate: Option<f64>,
    /// Mean latency of the tracked outcomes, milliseconds.
    pub latency_mean_ms: Option<f64>,
    /// Tracked events attributed to the variant, by name.
    pub events: BTreeMap<String, u64>,
    /// The best-execution guards' checks, one per guard (absent without such guards,
    /// and in checks stored before they existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub best_execution: Vec<BestExecutionCheck>,
}

/// What one SDK key's batches brought to a rollout stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsKey {
    /// Token id of the SDK key.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `client` or `server`.
    pub kind: String,
    /// Batches with figures about the treated variant.
    pub batches: u64,
    /// Evaluations of the treated variant they reported.
    pub evaluations: u64,
    /// Outcomes (success or failure) they reported.
    pub samples: u64,
    /// Whether they counted for the guards (client keys' do only when opted in).
    pub counted: bool,
}

/// `GET /environments/{env}/rollouts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutList {
    /// The rollouts, newest first.
    pub rollouts: Vec<Rollout>,
}
