//! Progressive rollouts: a plan of percentage stages that the origin advances only
//! when each stage has run its duration and the treated variant's edge metrics hold
//! the guards, and rolls back to the starting percentage the moment they do not.
//!
//! Starting a rollout applies its first stage as an ordinary change request, so a
//! high-risk flag's rollout waits for the approvals governance requires. Later
//! stages are applied by the scheduler on the plan's authority; a rollback is an
//! emergency change, like the kill switch. All state is in the database, so a
//! restarted server carries on where it stopped.
//!
//! The files, by idea:
//! - `mod.rs`: the plan and its guards (`Plan`, `Guards`, `EventGuard`, `DEFAULT_STAGES`);
//! - `start.rs`: starting a rollout, its first stage submitted as a change request;
//! - `observe.rs`: adding metrics batches to the running stages' figures (`KeyFeed`);
//! - `best_execution.rs`: the best-execution guard, treatment against control with an
//!   always-valid interval (`BestExecution`, `check`);
//! - `judge.rs`: judging a stage's figures against the guards (`Judgement`);
//! - `store.rs`: the stored rollouts as the API shows them and as the scheduler reads them;
//! - `control.rs`: pausing, resuming and aborting;
//! - `tick.rs`: the scheduler's pass, which advances, completes or rolls back.

pub mod best_execution;
mod control;
mod judge;
mod observe;
mod start;
mod store;
mod tick;

pub use control::control;
pub use judge::{judge, Judgement};
pub use observe::{observe, KeyFeed};
pub use start::start;
pub use store::{get, list};
pub use tick::tick;

use super::OriginError;
use serde::{Deserialize, Serialize};

/// A guard on a tracked event attributed to the treated variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventGuard {
    /// At most `max` occurrences in a stage (`adverse_event:max=0`).
    Max {
        /// The event name.
        event: String,
        /// Largest count allowed.
        max: u64,
    },
    /// At most `percent` occurrences per 100 evaluations (`checkout_failed:rate<=0.5`).
    Rate {
        /// The event name.
        event: String,
        /// Largest rate allowed, percent of evaluations.
        percent: f64,
    },
}

impl EventGuard {
    /// The tracked event it watches.
    pub fn event(&self) -> &str {
        match self {
            EventGuard::Max { event, .. } | EventGuard::Rate { event, .. } => event,
        }
    }

    /// Parses `EVENT:max=N` or `EVENT:rate<=P`.
    pub fn parse(text: &str) -> Result<EventGuard, OriginError> {
        let bad = || {
            OriginError::BadRequest(format!(
                "guard {text:?} is not `EVENT:max=N` or `EVENT:rate<=PERCENT`"
            ))
        };
        let (event, rule) = text.split_once(':').ok_or_else(bad)?;
        if event.is_empty() {
            return Err(bad());
        }
        if let Some(n) = rule.strip_prefix("max=") {
            let max = n.trim().parse().map_err(|_| bad())?;
            return Ok(EventGuard::Max {
                event: event.into(),
                max,
            });
        }
        if let Some(p) = rule.strip_prefix("rate<=") {
            let percent: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&percent) {
                return Err(bad());
            }
            return Ok(EventGuard::Rate {
                event: event.into(),
                percent,
            });
        }
        Err(bad())
    }
}

/// What must hold for a stage to advance (the seed's thresholds by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guards {
    /// Largest share of failed outcomes, percent.
    pub max_error_rate: f64,
    /// Smallest share of successful outcomes, percent.
    pub min_success_rate: f64,
    /// Largest mean latency of tracked outcomes, milliseconds.
    pub max_latency_ms: f64,
    /// Outcomes (success or failure) needed before a stage is judged.
    pub min_samples: u64,
    /// Guards on tracked events.
    #[serde(default)]
    pub events: Vec<EventGuard>,
    /// Best-execution guards: the treated variant's tracked values against the
    /// control's (mandatory for MiFID II order-routing flags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub best_execution: Vec<best_execution::BestExecution>,
    /// Whether metrics posted with client (public) SDK keys count; by default only
    /// server keys' do, since anyone can read a client key out of a web page.
    #[serde(default)]
    pub count_client_metrics: bool,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            max_error_rate: 1.0,
            min_success_rate: 99.0,
            max_latency_ms: 100.0,
            min_samples: 100,
            events: Vec::new(),
            best_execution: Vec::new(),
            count_client_metrics: false,
        }
    }
}

/// The stages of the seed's progressive rollout.
pub const DEFAULT_STAGES: &[f64] = &[5.0, 15.0, 25.0, 50.0, 75.0, 100.0];

/// A request to start a rollout.
pub type Plan = crate::origin::api::RolloutPlan;
