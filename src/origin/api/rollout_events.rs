//! A rollout's history: a control by someone (`pause`, `resume`, `abort`, with `by`)
//! or a step of the scheduler (`rollout.advanced`, `rollout.completed`,
//! `rollout.rolled_back`, `rollout.aborted`, with [`EventDetails`]). The history is
//! stored with the rollout as JSON; the same details go to the audit trail and to
//! webhooks.

use super::rollouts::{Figures, MetricsKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An event of a rollout's history: a control by someone, or the scheduler's step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredEvent")]
pub struct RolloutEvent {
    /// When (RFC 3339).
    pub at: String,
    /// `pause`, `resume`, `abort`, `rollout.advanced`, `rollout.rolled_back`, ...
    pub event: String,
    /// Who, for a control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The scheduler's details, for its steps (their kind follows `event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<EventDetails>,
}

/// What the scheduler records with a step, by event (written as the step's fields
/// alone: the event names the kind).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventDetails {
    /// `rollout.advanced`.
    Advanced(Advanced),
    /// `rollout.completed`.
    Completed(Completed),
    /// `rollout.rolled_back`.
    RolledBack(RolledBack),
    /// `rollout.aborted`.
    Aborted(Aborted),
}

impl EventDetails {
    /// The event these details go with.
    pub fn event(&self) -> &'static str {
        match self {
            EventDetails::Advanced(_) => "rollout.advanced",
            EventDetails::Completed(_) => "rollout.completed",
            EventDetails::RolledBack(_) => "rollout.rolled_back",
            EventDetails::Aborted(_) => "rollout.aborted",
        }
    }

    /// Why, when the step says (a rollback or an abort).
    pub fn reason(&self) -> Option<&str> {
        match self {
            EventDetails::RolledBack(d) => Some(&d.reason),
            EventDetails::Aborted(d) => Some(&d.reason),
            EventDetails::Advanced(_) | EventDetails::Completed(_) => None,
        }
    }

    /// The SDK keys whose batches the step rests on (none for an abort).
    pub fn keys(&self) -> &[MetricsKey] {
        match self {
            EventDetails::Advanced(d) => &d.keys,
            EventDetails::Completed(d) => &d.keys,
            EventDetails::RolledBack(d) => &d.keys,
            EventDetails::Aborted(_) => &[],
        }
    }
}

/// A stage that ran its course with the guards holding: the next one applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advanced {
    /// The rollout's id.
    pub rollout: i64,
    /// The percentage left.
    pub from: f64,
    /// The percentage applied.
    pub to: f64,
    /// The stage now running, from 1.
    pub stage: u64,
    /// The figures the finished stage was judged on.
    pub figures: Figures,
    /// The change that applied the new stage.
    pub change: i64,
    /// The SDK keys whose batches the figures came from (none in older rows).
    #[serde(default)]
    pub keys: Vec<MetricsKey>,
}

/// The last stage ran its course with the guards holding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completed {
    /// The rollout's id.
    pub rollout: i64,
    /// The percentage it ended at.
    pub percentage: f64,
    /// The figures the last stage was judged on.
    pub figures: Figures,
    /// The SDK keys whose batches the figures came from (none in older rows).
    #[serde(default)]
    pub keys: Vec<MetricsKey>,
}

/// A guard failed: the flag set back to the starting percentage (and, at clinical
/// oversight level 3, killed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolledBack {
    /// The rollout's id.
    pub rollout: i64,
    /// `rollout #3 rolled back at 25%: error rate 3.00% > 1%`.
    pub reason: String,
    /// The percentage rolled back from.
    pub from: f64,
    /// The starting percentage, restored.
    pub to: f64,
    /// The figures that failed the guards.
    pub figures: Figures,
    /// The guards that failed, in words.
    pub breaches: Vec<String>,
    /// The change that restored the percentage (none when it could not apply).
    pub change: Option<i64>,
    /// The SDK keys whose batches the figures came from (none in older rows).
    #[serde(default)]
    pub keys: Vec<MetricsKey>,
    /// The kill's change, at clinical oversight level 3 (none in older rows).
    #[serde(default)]
    pub killed: Option<i64>,
    /// Who is on call for the flag, whom a level-3 breach notice names.
    #[serde(default)]
    pub on_call: Vec<String>,
}

/// The first stage's change request ended without being applied (rejected or
/// cancelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aborted {
    /// The rollout's id.
    pub rollout: i64,
    /// `its first stage was rejected`.
    pub reason: String,
}

/// A history entry as stored, before its details are read by its event.
#[derive(Deserialize)]
struct StoredEvent {
    at: String,
    event: String,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    details: Option<Value>,
}

/// A history entry whose details do not read as its event's.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Details with an event the scheduler does not write.
    #[error("rollout event `{0}` carries no details")]
    Unexpected(String),
    /// Details that are not the event's.
    #[error("details of rollout event `{event}`: {source}")]
    Details {
        /// The event.
        event: String,
        /// What did not read.
        source: serde_json::Error,
    },
}

impl TryFrom<StoredEvent> for RolloutEvent {
    type Error = EventError;

    fn try_from(e: StoredEvent) -> Result<Self, EventError> {
        let details = match e.details {
            None | Some(Value::Null) => None,
            Some(v) => Some(read_details(&e.event, v)?),
        };
        Ok(RolloutEvent {
            at: e.at,
            event: e.event,
            by: e.by,
            details,
        })
    }
}

fn read_details(event: &str, v: Value) -> Result<EventDetails, EventError> {
    let wrap = |source| EventError::Details {
        event: event.to_string(),
        source,
    };
    Ok(match event {
        "rollout.advanced" => EventDetails::Advanced(serde_json::from_value(v).map_err(wrap)?),
        "rollout.completed" => EventDetails::Completed(serde_json::from_value(v).map_err(wrap)?),
        "rollout.rolled_back" => EventDetails::RolledBack(serde_json::from_value(v).map_err(wrap)?),
        "rollout.aborted" => EventDetails::Aborted(serde_json::from_value(v).map_err(wrap)?),
        other => return Err(EventError::Unexpected(other.to_string())),
    })
}
