//! The webhook consumer: each event a webhook can receive becomes a delivery of
//! every subscribed webhook, its envelope dated when the event happened.

use super::{Consumer, DomainEvent, Recorded};
use crate::origin::{publish, webhooks, Op, OriginError};
use serde_json::Value;

/// Queues deliveries (`deliveries`), which [`webhooks::run`] posts.
pub(super) struct Webhooks;

impl Consumer for Webhooks {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn handle(&self, op: &Op<'_>, recorded: &Recorded) -> Result<(), OriginError> {
        let event = &recorded.event;
        let name = event.type_name();
        let data = match event {
            DomainEvent::ChangeRequested { change }
            | DomainEvent::ChangeApproved { change }
            | DomainEvent::ChangeRejected { change }
            | DomainEvent::ChangeHeld { change }
            | DomainEvent::ChangeApplied { change }
            | DomainEvent::FlagKilled { change } => serde_json::to_value(change)?,
            DomainEvent::FlagReviewed { notice, .. } => notice.clone(),
            DomainEvent::RolloutAdvanced(n)
            | DomainEvent::RolloutRolledBack(n)
            | DomainEvent::RolloutCompleted(n)
            | DomainEvent::RolloutAborted(n) => n.rollout.clone(),
            DomainEvent::SystemDown(down) => {
                return every_environment(op, name, &serde_json::to_value(down)?, recorded.at_ms)
            }
            DomainEvent::SystemUp(up) => {
                return every_environment(op, name, &serde_json::to_value(up)?, recorded.at_ms)
            }
            DomainEvent::SnapshotPublished { .. } => return Ok(()),
        };
        match event.environment() {
            Some(env) => webhooks::enqueue_at(op.db, env, name, &data, recorded.at_ms),
            None => Ok(()),
        }
    }
}

/// An origin-wide event is told to every environment's webhooks.
fn every_environment(op: &Op<'_>, name: &str, data: &Value, at_ms: i64) -> Result<(), OriginError> {
    for env in publish::environment_names(op.db)? {
        webhooks::enqueue_at(op.db, &env, name, data, at_ms)?;
    }
    Ok(())
}
