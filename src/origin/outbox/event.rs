//! The domain events: what the origin's operations did, as the side effects
//! (webhooks, server-sent events, publish targets) need to know it.
//!
//! Stored in the outbox as JSON with a stable `type` tag. A tag, once released, is
//! never renamed (events written by an older origin are read by a newer one); a new
//! event is a new variant. Where a webhook event exists, the tag is its name.

use crate::origin::api::{Change, SystemDown, SystemUp};
use crate::origin::OriginError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One thing that happened, written with the change that made it happen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DomainEvent {
    /// A change was proposed and waits for approval (or for its time), or a due
    /// change was found to need approval again.
    #[serde(rename = "change.requested")]
    ChangeRequested {
        /// The change as the API answers it, at that moment.
        change: Change,
    },
    /// A change received an approval.
    #[serde(rename = "change.approved")]
    ChangeApproved {
        /// The change, with the approval.
        change: Change,
    },
    /// A change was rejected.
    #[serde(rename = "change.rejected")]
    ChangeRejected {
        /// The change, with who rejected it.
        change: Change,
    },
    /// An approved change is held back by policy until the next open.
    #[serde(rename = "change.held")]
    ChangeHeld {
        /// The change, with the time it applies at.
        change: Change,
    },
    /// A change was applied and the snapshot carrying it published.
    #[serde(rename = "change.applied")]
    ChangeApplied {
        /// The change, with its revision and snapshot version.
        change: Change,
    },
    /// The kill switch was applied and published (follows its `change.applied`).
    #[serde(rename = "flag.killed")]
    FlagKilled {
        /// The kill change, with its reason and snapshot version.
        change: Change,
    },
    /// A flag under clinical oversight was reviewed.
    #[serde(rename = "flag.reviewed")]
    FlagReviewed {
        /// The flag's environment.
        environment: String,
        /// The notice: flag, environment, reviewer, review and next schedule.
        notice: Value,
    },
    /// A rollout moved to its next stage.
    #[serde(rename = "rollout.advanced")]
    RolloutAdvanced(RolloutNotice),
    /// A rollout breached a guard and was set back.
    #[serde(rename = "rollout.rolled_back")]
    RolloutRolledBack(RolloutNotice),
    /// A rollout reached its last stage.
    #[serde(rename = "rollout.completed")]
    RolloutCompleted(RolloutNotice),
    /// A rollout was stopped.
    #[serde(rename = "rollout.aborted")]
    RolloutAborted(RolloutNotice),
    /// A health-probed system went down, and what that did to its flags (told to
    /// every environment).
    #[serde(rename = "system.down")]
    SystemDown(SystemDown),
    /// A health-probed system recovered (told to every environment).
    #[serde(rename = "system.up")]
    SystemUp(SystemUp),
    /// A new snapshot version of an environment was signed and stored.
    #[serde(rename = "snapshot.published")]
    SnapshotPublished {
        /// The environment.
        environment: String,
        /// Its new version.
        version: u64,
    },
}

/// What a rollout event tells: the rollout as the API shows it, with the event's
/// details under `details`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutNotice {
    /// The rollout's environment.
    pub environment: String,
    /// The rollout answer plus `details`.
    pub rollout: Value,
}

/// Every event type's tag: a new variant is added here too (the tests check the list
/// and the enum agree). The first [`WEBHOOK_TYPES`] are the events a webhook can
/// subscribe to, in the order the API lists them
/// ([`webhooks::EVENTS`](crate::origin::webhooks::EVENTS)); then the others.
pub const TYPES: &[&str] = &[
    "change.requested",
    "change.approved",
    "change.rejected",
    "change.applied",
    "change.held",
    "flag.killed",
    "flag.reviewed",
    "rollout.advanced",
    "rollout.rolled_back",
    "rollout.completed",
    "rollout.aborted",
    "system.down",
    "system.up",
    "snapshot.published",
];

/// How many of [`TYPES`], from the first, webhooks receive.
pub const WEBHOOK_TYPES: usize = 13;

impl DomainEvent {
    /// The stable `type` tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            DomainEvent::ChangeRequested { .. } => "change.requested",
            DomainEvent::ChangeApproved { .. } => "change.approved",
            DomainEvent::ChangeRejected { .. } => "change.rejected",
            DomainEvent::ChangeHeld { .. } => "change.held",
            DomainEvent::ChangeApplied { .. } => "change.applied",
            DomainEvent::FlagKilled { .. } => "flag.killed",
            DomainEvent::FlagReviewed { .. } => "flag.reviewed",
            DomainEvent::RolloutAdvanced(_) => "rollout.advanced",
            DomainEvent::RolloutRolledBack(_) => "rollout.rolled_back",
            DomainEvent::RolloutCompleted(_) => "rollout.completed",
            DomainEvent::RolloutAborted(_) => "rollout.aborted",
            DomainEvent::SystemDown(_) => "system.down",
            DomainEvent::SystemUp(_) => "system.up",
            DomainEvent::SnapshotPublished { .. } => "snapshot.published",
        }
    }

    /// The environment the event belongs to; `None` for events of the whole origin
    /// (a system going down or up).
    pub fn environment(&self) -> Option<&str> {
        match self {
            DomainEvent::ChangeRequested { change }
            | DomainEvent::ChangeApproved { change }
            | DomainEvent::ChangeRejected { change }
            | DomainEvent::ChangeHeld { change }
            | DomainEvent::ChangeApplied { change }
            | DomainEvent::FlagKilled { change } => Some(&change.environment),
            DomainEvent::FlagReviewed { environment, .. }
            | DomainEvent::SnapshotPublished { environment, .. } => Some(environment),
            DomainEvent::RolloutAdvanced(n)
            | DomainEvent::RolloutRolledBack(n)
            | DomainEvent::RolloutCompleted(n)
            | DomainEvent::RolloutAborted(n) => Some(&n.environment),
            DomainEvent::SystemDown(_) | DomainEvent::SystemUp(_) => None,
        }
    }

    /// A rollout event by its name (`rollout.advanced`, ...).
    pub fn rollout(name: &str, notice: RolloutNotice) -> Result<DomainEvent, OriginError> {
        Ok(match name {
            "rollout.advanced" => DomainEvent::RolloutAdvanced(notice),
            "rollout.rolled_back" => DomainEvent::RolloutRolledBack(notice),
            "rollout.completed" => DomainEvent::RolloutCompleted(notice),
            "rollout.aborted" => DomainEvent::RolloutAborted(notice),
            other => {
                return Err(OriginError::Internal(format!(
                    "`{other}` is not a rollout event"
                )))
            }
        })
    }
}

impl From<SystemDown> for DomainEvent {
    fn from(down: SystemDown) -> Self {
        DomainEvent::SystemDown(down)
    }
}

impl From<SystemUp> for DomainEvent {
    fn from(up: SystemUp) -> Self {
        DomainEvent::SystemUp(up)
    }
}
