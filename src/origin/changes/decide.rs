//! Deciding on a pending change: approve, retry, reject, cancel.

use super::apply::apply_and_publish;
use super::review::subject;
use super::stored::{approvals, decide, get, load, require_pending, unmet};
use crate::origin::api::{Approval, Change};
use crate::origin::auth::Principal;
use crate::origin::db::params;
use crate::origin::outbox::{self, DomainEvent};
use crate::origin::{audit, identity, Op, OriginError};
use serde_json::json;

/// Records `approver`'s approval; applies the change when it was the last one needed.
pub fn approve(
    op: &Op<'_>,
    approver: &Principal,
    id: i64,
    comment: Option<String>,
    role: Option<String>,
) -> Result<Change, OriginError> {
    let stored = load(op.db, id)?;
    require_pending(&stored, id)?;
    if approver.kind != "token" {
        return Err(OriginError::Forbidden(
            "SDK keys cannot approve changes".into(),
        ));
    }
    if identity::same(&approver.name, &stored.author) {
        let who = if approver.name == stored.author {
            format!("`{}`", approver.name)
        } else {
            format!(
                "`{}` (the same person as `{}`)",
                approver.name, stored.author
            )
        };
        return Err(OriginError::Forbidden(format!(
            "four-eyes: {who} proposed change #{id} and cannot approve it"
        )));
    }
    let given = approvals(op.db, id)?;
    let same_person = |a: &Approval| identity::same(&a.approver, &approver.name);
    if given.iter().any(same_person) {
        return Err(OriginError::Conflict(format!(
            "`{}` already approved change #{id}",
            approver.name
        )));
    }
    let needed = unmet(&stored, &given);
    if needed.is_empty() {
        return Err(OriginError::Conflict(format!(
            "change #{id} has every approval it needs; apply it with POST /api/v1/changes/{id}/apply"
        )));
    }
    let role = match role {
        Some(r) if !approver.roles.contains(&r) => {
            return Err(OriginError::Forbidden(format!(
                "`{}` does not hold the role {r}",
                approver.name
            )))
        }
        Some(r) if !needed.contains(&r) => {
            return Err(OriginError::Conflict(format!(
                "change #{id} does not need {r}; it needs {}",
                needed.join(", ")
            )))
        }
        Some(r) => r,
        None => needed
            .iter()
            .find(|r| approver.roles.contains(*r))
            .cloned()
            .ok_or_else(|| {
                OriginError::Forbidden(format!(
                    "change #{id} needs approval from {}; `{}` holds {}",
                    needed.join(", "),
                    approver.name,
                    approver
                        .roles
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
    };
    // A requirement that names its approvers (a level-3 flag's on-call) is met only
    // by one of them; others holding the role are refused before anything is recorded.
    if let Some(named) = stored
        .required
        .iter()
        .find(|r| r.role == role && !r.approvers.is_empty())
    {
        if !named
            .approvers
            .iter()
            .any(|n| identity::same(n, &approver.name))
        {
            return Err(OriginError::Forbidden(format!(
                "change #{id}'s {role} approval comes from the flag's on-call approvers ({}); `{}` is not on call",
                named.approvers.join(", "),
                approver.name
            )));
        }
    }
    op.db.execute(
        "INSERT INTO approvals (change_id, approver, role, comment, at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, approver.name, role, comment, op.now()],
    )?;
    let policy = stored
        .required
        .iter()
        .find(|r| r.role == role)
        .map(|r| r.policy.clone());
    audit::record(
        op,
        &approver.name,
        "change.approved",
        &subject(&stored.environment, stored.kind, &stored.target),
        json!({ "change": id, "role": role, "policy": policy, "comment": comment }),
    )?;
    let change = get(op.db, id)?;
    outbox::emit(op, DomainEvent::ChangeApproved { change })?;
    if unmet(&stored, &approvals(op.db, id)?).is_empty() {
        return apply_and_publish(op, id, &approver.name);
    }
    get(op.db, id)
}

/// Retries applying a fully approved change (after a trading-hours freeze).
pub fn retry(op: &Op<'_>, who: &Principal, id: i64) -> Result<Change, OriginError> {
    let stored = load(op.db, id)?;
    if !identity::same(&who.name, &stored.author) && !who.can_edit() {
        return Err(OriginError::Forbidden(
            "only the author or an editor may apply a change".into(),
        ));
    }
    apply_and_publish(op, id, &who.name)
}

/// Rejects a change.
pub fn reject(
    op: &Op<'_>,
    who: &Principal,
    id: i64,
    comment: String,
) -> Result<Change, OriginError> {
    let stored = load(op.db, id)?;
    require_pending(&stored, id)?;
    if comment.trim().is_empty() {
        return Err(OriginError::BadRequest(
            "a rejection needs a `comment` saying why".into(),
        ));
    }
    let holds_required = stored.required.iter().any(|r| who.roles.contains(&r.role));
    if !(holds_required || who.is_admin()) || who.kind != "token" {
        return Err(OriginError::Forbidden(format!(
            "only an approver the change needs ({}) or an admin may reject change #{id}",
            stored
                .required
                .iter()
                .map(|r| r.role.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    decide(op, id, "rejected")?;
    op.db.execute(
        "UPDATE changes SET rejection = ?1 WHERE id = ?2",
        params![
            json!({ "by": who.name, "comment": comment, "at": op.now() }).to_string(),
            id
        ],
    )?;
    audit::record(
        op,
        &who.name,
        "change.rejected",
        &subject(&stored.environment, stored.kind, &stored.target),
        json!({ "change": id, "comment": comment }),
    )?;
    let change = get(op.db, id)?;
    outbox::emit(
        op,
        DomainEvent::ChangeRejected {
            change: change.clone(),
        },
    )?;
    Ok(change)
}

/// Withdraws a pending change (its author, or an admin).
pub fn cancel(op: &Op<'_>, who: &Principal, id: i64) -> Result<Change, OriginError> {
    let stored = load(op.db, id)?;
    require_pending(&stored, id)?;
    if !identity::same(&who.name, &stored.author) && !who.is_admin() {
        return Err(OriginError::Forbidden(format!(
            "only the author (`{}`) or an admin may cancel change #{id}",
            stored.author
        )));
    }
    decide(op, id, "cancelled")?;
    audit::record(
        op,
        &who.name,
        "change.cancelled",
        &subject(&stored.environment, stored.kind, &stored.target),
        json!({ "change": id }),
    )?;
    get(op.db, id)
}
