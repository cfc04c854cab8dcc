//! Scheduled changes: a change request may carry `apply_at`. Once approved it waits
//! (still pending, so its author or an admin can cancel it) and the scheduler applies
//! it when due, after assessing it again: if the policies or the flag changed so that
//! it now needs approvals it lacks, it stays pending, says so, and waits for them.

use super::changes::{self, Applied, Kind};
use super::outbox::{self, DomainEvent};
use super::{audit, Op, OriginError};
use crate::engine::time::parse_rfc3339_ms;
use crate::origin::db::params;
use serde_json::json;

/// How far ahead a change may be scheduled.
const MAX_AHEAD_MS: i64 = 366 * 86_400_000;

/// `apply_at` as sent (RFC 3339), in epoch milliseconds.
pub fn parse_apply_at(text: &str) -> Result<i64, OriginError> {
    parse_rfc3339_ms(text).ok_or_else(|| {
        OriginError::BadRequest(format!(
            "`apply_at` {text:?} is not an RFC 3339 time such as 2026-12-24T18:00:00Z"
        ))
    })
}

/// `p`, applied at `apply_at` (RFC 3339) when one is given.
pub fn with_apply_at(
    mut p: changes::Proposal,
    apply_at: Option<&str>,
) -> Result<changes::Proposal, OriginError> {
    p.apply_at_ms = apply_at.map(parse_apply_at).transpose()?;
    Ok(p)
}

/// Refuses an `apply_at` that cannot be honoured.
pub fn check_apply_at(op: &Op<'_>, kind: Kind, at: i64) -> Result<(), OriginError> {
    if kind == Kind::Kill {
        return Err(OriginError::BadRequest(
            "the kill switch applies at once: it takes no `apply_at`".into(),
        ));
    }
    if at <= op.now_ms {
        return Err(OriginError::BadRequest(format!(
            "`apply_at` {} is not in the future (now {})",
            super::rfc3339(at),
            op.now()
        )));
    }
    if at > op.now_ms + MAX_AHEAD_MS {
        return Err(OriginError::BadRequest(format!(
            "`apply_at` {} is more than a year ahead",
            super::rfc3339(at)
        )));
    }
    Ok(())
}

/// Applies every pending change whose `apply_at` has come and whose approvals are
/// (still) complete; returns what it did, one line per change.
pub fn apply_due(op: &Op<'_>) -> Result<Vec<String>, OriginError> {
    let due: Vec<(i64, String)> = op.db.query(
        "SELECT id, environment FROM changes WHERE status = 'pending' AND apply_at_ms <= ?1
         ORDER BY apply_at_ms, id",
        params![op.now_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut done = Vec::new();
    for (id, env) in due {
        let (missing, subject) = changes::recheck(op, id)?;
        if !missing.is_empty() {
            // Only once per change: a change already told waits quietly.
            if !already_told(op, "change.rechecked", id)? {
                let change = changes::get(op.db, id)?;
                audit::record(
                    op,
                    "scheduler",
                    "change.rechecked",
                    &subject,
                    json!({ "change": id, "needs": missing }),
                )?;
                outbox::emit(op, DomainEvent::ChangeRequested { change })?;
                done.push(format!(
                    "change #{id} is due but now needs {}",
                    missing.join(", ")
                ));
            }
            continue;
        }
        match changes::apply(op, id, "scheduler")? {
            Applied::Done => {
                changes::publish_applied(op, &env, &[id])?;
                done.push(format!("change #{id} applied as scheduled"));
            }
            Applied::Conflict(why) => done.push(format!("change #{id} not applied: {why}")),
            // A trading-hours freeze, or a policy the change breaks today: held, said
            // once, and tried again on every pass.
            Applied::Blocked(violations) => {
                if !already_told(op, "change.held", id)? {
                    audit::record(
                        op,
                        "scheduler",
                        "change.held",
                        &subject,
                        json!({ "change": id, "violations": violations }),
                    )?;
                    done.push(format!("change #{id} is due but held back by policy"));
                }
            }
            Applied::Scheduled(_) => {}
        }
    }
    Ok(done)
}

/// Whether the audit already holds `action` for change `id`.
fn already_told(op: &Op<'_>, action: &str, id: i64) -> Result<bool, OriginError> {
    // The details are JSON text, read here rather than by a JSON function of one
    // database's dialect.
    let details = op.db.query(
        "SELECT details FROM audit WHERE action = ?1",
        params![action],
        |r| r.get::<String>(0),
    )?;
    for text in details {
        let details: serde_json::Value = serde_json::from_str(&text)?;
        if details.get("change").and_then(serde_json::Value::as_i64) == Some(id) {
            return Ok(true);
        }
    }
    Ok(false)
}
