//! Applying an approved change: writing it, auditing it and publishing the environment.

use super::review::{assess, subject, submit, validate};
use super::stored::{
    approvals, decide, get, held_until_close, load, require_pending, unmet, Stored,
};
use super::{Kind, Proposal};
use crate::origin::api::{Change, Violation};
use crate::origin::auth::Principal;
use crate::origin::db::{params, Db};
use crate::origin::governance;
use crate::origin::outbox::{self, DomainEvent};
use crate::origin::publish::{self, EnvState};
use crate::origin::{audit, Op, OriginError};
use serde_json::{json, Value};

/// What applying a change came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Applied (the caller publishes).
    Done,
    /// The flag changed since the change was made: marked `conflict`.
    Conflict(String),
    /// Policies refuse it now (a trading-hours freeze): still pending.
    Blocked(Vec<governance::Violation>),
    /// Approved, and waits for its `apply_at` (epoch ms): still pending.
    Scheduled(i64),
}

/// Applies a change whose approvals are complete. Records the outcome.
pub fn apply(op: &Op<'_>, id: i64, actor: &str) -> Result<Applied, OriginError> {
    apply_as(op, id, actor, false)
}

/// [`apply`]; an `emergency` change (a rollout's automatic rollback) is applied
/// even when policies would hold it back, as the kill switch is.
fn apply_as(op: &Op<'_>, id: i64, actor: &str, emergency: bool) -> Result<Applied, OriginError> {
    let stored = load(op.db, id)?;
    require_pending(&stored, id)?;
    let still_needed = unmet(&stored, &approvals(op.db, id)?);
    if !still_needed.is_empty() {
        return Err(OriginError::Conflict(format!(
            "change #{id} still needs approval from {}",
            still_needed.join(", ")
        )));
    }
    let env = stored.environment.clone();
    let state = publish::load_state(op.db, &env)?;
    let current = state.flags.get(&stored.target).map_or(0, |r| r.revision);
    let p = stored.proposal();
    let subject = subject(&env, stored.kind, &stored.target);
    let conflict = if stored.kind.is_flag() && current != stored.base_revision {
        Some(format!(
            "flag `{}` is at revision {current}; the change was made against revision {}",
            stored.target, stored.base_revision
        ))
    } else {
        match validate(&state, &p) {
            Err(e) => Some(e.to_string()),
            Ok(_) => None,
        }
    };
    if let Some(why) = conflict {
        decide(op, id, "conflict")?;
        audit::record(
            op,
            actor,
            "change.conflict",
            &subject,
            json!({ "change": id, "reason": why }),
        )?;
        return Ok(Applied::Conflict(why));
    }
    let assessment = assess(op, &state, &p);
    if !assessment.allowed() && !emergency {
        if let Some(close) = held_until_close(&assessment) {
            if stored.apply_at_ms != Some(close) {
                op.db.execute(
                    "UPDATE changes SET apply_at_ms = ?1 WHERE id = ?2",
                    params![close, id],
                )?;
                let details = json!({ "change": id, "violations": assessment.violations, "applies_at": crate::origin::rfc3339(close) });
                audit::record(op, actor, "change.held", &subject, details)?;
                let change = get(op.db, id)?;
                outbox::emit(op, DomainEvent::ChangeHeld { change })?;
            }
        }
        return Ok(Applied::Blocked(assessment.violations));
    }
    if let Some(at) = stored.apply_at_ms.filter(|at| *at > op.now_ms) {
        return Ok(Applied::Scheduled(at));
    }
    let before = write(op, &stored, &state, id)?;
    decide(op, id, "applied")?;
    let revision = if stored.kind.is_flag() {
        current + 1
    } else {
        0
    };
    op.db.execute(
        "UPDATE changes SET applied = ?1 WHERE id = ?2",
        params![json!({ "revision": revision }).to_string(), id],
    )?;
    let action = if stored.kind == Kind::Kill {
        "flag.killed"
    } else {
        "change.applied"
    };
    audit::record(
        op,
        actor,
        action,
        &subject,
        json!({
            "change": id, "kind": stored.kind.as_str(), "author": stored.author,
            "reason": stored.reason, "approvals": approvals(op.db, id)?,
            "before": before, "after": stored.document, "archived": stored.archived,
            "revision": revision,
        }),
    )?;
    Ok(Applied::Done)
}

/// Writes a change's effect; returns the definition it replaced.
fn write(op: &Op<'_>, stored: &Stored, state: &EnvState, id: i64) -> Result<Value, OriginError> {
    let env = &stored.environment;
    let name = &stored.target;
    match stored.kind {
        Kind::Segment => {
            let before = state.segments.get(name).cloned().unwrap_or(Value::Null);
            match &stored.document {
                Some(clause) => op.db.execute(
                    "INSERT INTO segments (environment, name, clause) VALUES (?1, ?2, ?3)
                     ON CONFLICT (environment, name) DO UPDATE SET clause = ?3",
                    params![env, name, clause.to_string()],
                )?,
                None => op.db.execute(
                    "DELETE FROM segments WHERE environment = ?1 AND name = ?2",
                    params![env, name],
                )?,
            };
            Ok(before)
        }
        Kind::ExclusionGroup => {
            let before = state
                .exclusion_groups
                .get(name)
                .cloned()
                .unwrap_or(Value::Null);
            op.db.execute(
                "INSERT INTO exclusion_groups (environment, name, definition) VALUES (?1, ?2, ?3)
                 ON CONFLICT (environment, name) DO UPDATE SET definition = ?3",
                params![
                    env,
                    name,
                    stored.document.clone().unwrap_or(json!({})).to_string()
                ],
            )?;
            Ok(before)
        }
        _ => {
            let prev = state.flags.get(name);
            let before = prev.map_or(Value::Null, |r| r.document.clone());
            let revision = prev.map_or(0, |r| r.revision) + 1;
            let doc = stored.document.clone().unwrap_or(Value::Null).to_string();
            op.db.execute(
                "INSERT INTO flags (environment, key, document, archived, revision, updated_at, updated_at_ms, updated_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (environment, key) DO UPDATE SET document = ?3, archived = ?4, revision = ?5,
                    updated_at = ?6, updated_at_ms = ?7, updated_by = ?8",
                params![env, name, doc, stored.archived, revision, op.now(), op.now_ms, stored.author],
            )?;
            op.db.execute(
                "INSERT INTO flag_revisions (environment, key, revision, document, archived, change_id, author, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![env, name, revision, doc, stored.archived, id, stored.author, op.now()],
            )?;
            Ok(before)
        }
    }
}

/// Publishes `env` after changes were applied and records the version on them.
pub fn publish_applied(op: &Op<'_>, env: &str, ids: &[i64]) -> Result<u64, OriginError> {
    let version = publish::publish(op, env)?;
    audit::record(
        op,
        "system",
        "snapshot.published",
        env,
        json!({ "version": version, "changes": ids }),
    )?;
    for id in ids {
        let applied: Option<String> = op.db.query_row(
            "SELECT applied FROM changes WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        let mut applied: Value = applied
            .map(|a| serde_json::from_str(&a))
            .transpose()?
            .unwrap_or(json!({}));
        applied["snapshot_version"] = json!(version);
        op.db.execute(
            "UPDATE changes SET applied = ?1 WHERE id = ?2",
            params![applied.to_string(), id],
        )?;
        let change = get(op.db, *id)?;
        let killed = change.kind == Kind::Kill.as_str();
        outbox::emit(
            op,
            DomainEvent::ChangeApplied {
                change: change.clone(),
            },
        )?;
        if killed {
            outbox::emit(op, DomainEvent::FlagKilled { change })?;
        }
    }
    Ok(version)
}

/// Applies a change the system makes on its own authority (a rollout stage approved
/// when the rollout was), recorded like any other change with no approvals required.
/// Returns the change id, or why it could not apply.
pub fn apply_system(
    op: &Op<'_>,
    actor: &str,
    p: Proposal,
    emergency: bool,
) -> Result<Result<i64, Applied>, OriginError> {
    let state = publish::load_state(op.db, &p.environment)?;
    validate(&state, &p)?;
    let id: i64 = op.db.query_row(
        "INSERT INTO changes (environment, target, kind, status, author, reason, document, base_revision,
                              required, created_at, created_at_ms, archived)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, '[]', ?8, ?9, ?10) RETURNING id",
        params![
            p.environment,
            p.target,
            p.kind.as_str(),
            actor,
            p.reason,
            p.document.as_ref().map(|d| d.to_string()),
            p.base_revision,
            op.now(),
            op.now_ms,
            p.archived
        ],
        |r| r.get::<i64>(0),
    )?;
    match apply_as(op, id, actor, emergency)? {
        Applied::Done => {
            publish_applied(op, &p.environment, &[id])?;
            Ok(Ok(id))
        }
        other => {
            decide(op, id, "cancelled")?;
            Ok(Err(other))
        }
    }
}

/// The status of a change.
pub fn status(db: &Db, id: i64) -> Result<String, OriginError> {
    Ok(load(db, id)?.status)
}

/// Submits one change and, if it applied, publishes. Returns the change.
pub fn submit_and_publish(
    op: &Op<'_>,
    author: &Principal,
    p: Proposal,
) -> Result<Change, OriginError> {
    let env = p.environment.clone();
    let submitted = submit(op, author, p)?;
    if submitted.applied {
        publish_applied(op, &env, &[submitted.id])?;
    }
    get(op.db, submitted.id)
}

/// Applies a pending change and publishes, reporting a conflict or a block.
pub(super) fn apply_and_publish(op: &Op<'_>, id: i64, actor: &str) -> Result<Change, OriginError> {
    let env = load(op.db, id)?.environment;
    let outcome = apply(op, id, actor)?;
    if outcome == Applied::Done {
        publish_applied(op, &env, &[id])?;
    }
    let mut change = get(op.db, id)?;
    match outcome {
        Applied::Done => {}
        Applied::Conflict(why) => change.conflict = Some(why),
        Applied::Blocked(violations) => {
            change.blocked = Some(
                violations
                    .into_iter()
                    .map(|v| Violation {
                        policy: v.policy.into(),
                        message: v.message,
                    })
                    .collect(),
            )
        }
        Applied::Scheduled(_) => {}
    }
    Ok(change)
}
