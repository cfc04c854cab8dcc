//! Control of a rollout by hand: pause, resume, abort.

use super::store::{get, push_history};
use crate::origin::api::{Rollout, RolloutEvent};
use crate::origin::auth::Principal;
use crate::origin::db::params;
use crate::origin::{audit, Op, OriginError};
use serde_json::json;

/// Pauses, resumes or aborts a rollout.
pub fn control(
    op: &Op<'_>,
    who: &Principal,
    id: i64,
    action: &str,
) -> Result<Rollout, OriginError> {
    let r = get(op.db, id)?;
    let status = r.status.clone();
    let next = match (action, status.as_str()) {
        ("pause", "running") => "paused",
        ("resume", "paused") => "running",
        ("abort", "running" | "paused" | "waiting_approval") => "aborted",
        _ => {
            return Err(OriginError::Conflict(format!(
                "rollout #{id} is {status}; it cannot {action}"
            )))
        }
    };
    op.db.execute(
        "UPDATE rollouts SET status = ?1, updated_at = ?2 WHERE id = ?3",
        params![next, op.now(), id],
    )?;
    if action == "resume" {
        // The stage starts over: metrics from before the pause do not count.
        op.db.execute(
            "UPDATE rollouts SET stage_started_ms = ?1 WHERE id = ?2",
            params![op.now_ms, id],
        )?;
    }
    push_history(
        op,
        id,
        &RolloutEvent {
            at: op.now(),
            event: action.to_string(),
            by: Some(who.name.clone()),
            details: None,
        },
    )?;
    let subject = format!("{}/{}", r.environment, r.flag);
    audit::record(
        op,
        &who.name,
        &format!("rollout.{next}"),
        &subject,
        json!({ "rollout": id }),
    )?;
    get(op.db, id)
}
