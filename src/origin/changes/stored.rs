//! Reading stored changes: loading, approvals still unmet, the change list, and rechecking a pending change.

use super::review::{assess, subject};
use super::{Kind, Proposal};
use crate::origin::api::{Approval, Change, ChangeListQuery, ChangePage, Requirement};
use crate::origin::db::{params, Db};
use crate::origin::governance;
use crate::origin::publish;
use crate::origin::{identity, Op, OriginError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A stored change's essentials.
pub(super) struct Stored {
    pub(super) environment: String,
    pub(super) target: String,
    pub(super) kind: Kind,
    pub(super) status: String,
    pub(super) author: String,
    pub(super) reason: Option<String>,
    pub(super) document: Option<Value>,
    pub(super) archived: bool,
    pub(super) base_revision: i64,
    pub(super) required: Vec<RequirementRow>,
    pub(super) apply_at_ms: Option<i64>,
}

/// A stored [`governance::Requirement`] (changes stored before `triggered_by`,
/// `note` and `flag` existed have none).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(super) struct RequirementRow {
    pub(super) role: String,
    pub(super) policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) triggered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) flag: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) approvers: Vec<String>,
}

impl Stored {
    /// The proposal the change was made of.
    pub(super) fn proposal(&self) -> Proposal {
        Proposal {
            environment: self.environment.clone(),
            target: self.target.clone(),
            kind: self.kind,
            document: self.document.clone(),
            archived: self.archived,
            base_revision: self.base_revision,
            reason: self.reason.clone(),
            apply_at_ms: self.apply_at_ms,
        }
    }
}

pub(super) fn load(db: &Db, id: i64) -> Result<Stored, OriginError> {
    let row = db
        .query_opt(
            "SELECT environment, target, kind, status, author, reason, document, base_revision, required, archived,
                    apply_at_ms
             FROM changes WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<String>(3)?,
                    r.get::<String>(4)?,
                    r.get::<Option<String>>(5)?,
                    r.get::<Option<String>>(6)?,
                    r.get::<i64>(7)?,
                    r.get::<String>(8)?,
                    r.get::<bool>(9)?,
                    r.get::<Option<i64>>(10)?,
                ))
            },
        )?
        .ok_or_else(|| OriginError::NotFound(format!("no change #{id}")))?;
    let (
        environment,
        target,
        kind,
        status,
        author,
        reason,
        document,
        base_revision,
        required,
        archived,
        apply_at_ms,
    ) = row;
    Ok(Stored {
        environment,
        target,
        kind: Kind::parse(&kind)?,
        status,
        author,
        reason,
        document: document.map(|d| serde_json::from_str(&d)).transpose()?,
        archived,
        base_revision,
        required: serde_json::from_str(&required)?,
        apply_at_ms,
    })
}

pub(super) fn approvals(db: &Db, id: i64) -> Result<Vec<Approval>, OriginError> {
    let rows = db.query(
        "SELECT approver, role, comment, at FROM approvals WHERE change_id = ?1 ORDER BY position",
        params![id],
        |r| {
            Ok(Approval {
                approver: r.get(0)?,
                role: r.get(1)?,
                comment: r.get(2)?,
                at: r.get(3)?,
            })
        },
    )?;
    Ok(rows)
}

/// Required roles not yet approved (one approval of a role covers every policy
/// requiring that role).
pub(super) fn unmet(stored: &Stored, approvals: &[Approval]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for req in &stored.required {
        let met = approvals.iter().any(|a| a.role == req.role);
        if !met && !out.contains(&req.role) {
            out.push(req.role.clone());
        }
    }
    out
}

/// The change as the API shows it.
pub fn get(db: &Db, id: i64) -> Result<Change, OriginError> {
    let row = db
        .query_opt(
            "SELECT environment, target, kind, status, author, reason, document, base_revision, required,
                    oversight_level, created_at, decided_at, rejection, applied, apply_at_ms
             FROM changes WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    (r.get::<String>(0)?, r.get::<String>(1)?, r.get::<String>(2)?, r.get::<String>(3)?),
                    (r.get::<String>(4)?, r.get::<Option<String>>(5)?, r.get::<Option<String>>(6)?, r.get::<i64>(7)?),
                    (r.get::<String>(8)?, r.get::<Option<i64>>(9)?, r.get::<String>(10)?, r.get::<Option<String>>(11)?),
                    (r.get::<Option<String>>(12)?, r.get::<Option<String>>(13)?, r.get::<Option<i64>>(14)?),
                ))
            },
        )?
        .ok_or_else(|| OriginError::NotFound(format!("no change #{id}")))?;
    let (
        (environment, target, kind, status),
        (author, reason, document, base_revision),
        (required, oversight_level, created_at, decided_at),
        (rejection, applied, apply_at),
    ) = row;
    let approvals = approvals(db, id)?;
    let required: Vec<RequirementRow> = serde_json::from_str(&required)?;
    let required = required
        .into_iter()
        .map(|r| Requirement {
            approved_by: approvals
                .iter()
                .find(|a| a.role == r.role)
                .map(|a| a.approver.clone()),
            role: r.role,
            policy: r.policy,
            approvers: r.approvers,
            triggered_by: r.triggered_by,
            note: r.note,
            flag: r.flag,
        })
        .collect();
    let mut change = Change {
        id,
        environment,
        status,
        author,
        reason,
        created_at,
        decided_at,
        document: parse(document)?,
        base_revision,
        required,
        approvals,
        rejection: parse(rejection)?,
        applied: parse(applied)?,
        apply_at: apply_at.map(crate::origin::rfc3339),
        flag: None,
        segment: None,
        exclusion_group: None,
        oversight_level,
        conflict: None,
        blocked: None,
        kind,
    };
    match Kind::parse(&change.kind)? {
        Kind::Segment => change.segment = Some(target),
        Kind::ExclusionGroup => change.exclusion_group = Some(target),
        _ => change.flag = Some(target),
    }
    Ok(change)
}

/// A stored JSON column, when set.
fn parse<T: serde::de::DeserializeOwned>(text: Option<String>) -> Result<Option<T>, OriginError> {
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// Which changes to list (`GET /changes`).
pub type ListFilter = ChangeListQuery;

/// Changes matching `filter`, newest first.
pub fn list(db: &Db, filter: &ListFilter) -> Result<ChangePage, OriginError> {
    const STATUSES: &[&str] = &["pending", "applied", "rejected", "cancelled", "conflict"];
    if let Some(s) = filter.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(OriginError::BadRequest(format!(
            "unknown status `{s}`; statuses are {}",
            STATUSES.join(", ")
        )));
    }
    if let Some(k) = filter.kind.as_deref() {
        Kind::parse(k).map_err(|_| {
            OriginError::BadRequest(format!(
                "unknown kind `{k}`; kinds are {}",
                "create, update, rollout, enable, kill, archive, rollback, promote, segment, exclusion_group"
            ))
        })?;
    }
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
    let author = filter.author.as_deref().map(identity::key);
    let mut ids = Vec::new();
    let mut more = false;
    let rows = db.query(
        "SELECT id, author FROM changes
         WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1)
           AND (CAST(?2 AS TEXT) IS NULL OR environment = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR target = ?3)
           AND (CAST(?4 AS TEXT) IS NULL OR kind = ?4)
           AND (CAST(?5 AS BIGINT) IS NULL OR id < ?5)
         ORDER BY id DESC",
        params![
            filter.status,
            filter.environment,
            filter.flag,
            filter.kind,
            filter.before
        ],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
    )?;
    for row in rows {
        let (id, by) = row;
        if author.as_ref().is_some_and(|a| *a != identity::key(&by)) {
            continue;
        }
        if ids.len() == limit as usize {
            more = true;
            break;
        }
        ids.push(id);
    }
    let next = if more { ids.last().copied() } else { None };
    let changes = ids
        .into_iter()
        .map(|id| get(db, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ChangePage { changes, next })
}

/// Ids of pending changes to a flag.
pub fn pending_for(db: &Db, env: &str, key: &str) -> Result<Vec<i64>, OriginError> {
    let ids = db.query(
        "SELECT id FROM changes WHERE environment = ?1 AND target = ?2 AND status = 'pending'
         ORDER BY id",
        params![env, key],
        |r| r.get(0),
    )?;
    Ok(ids)
}

pub(super) fn require_pending(stored: &Stored, id: i64) -> Result<(), OriginError> {
    if stored.status != "pending" {
        return Err(OriginError::Conflict(format!(
            "change #{id} is {}, not pending",
            stored.status
        )));
    }
    Ok(())
}

pub(super) fn decide(op: &Op<'_>, id: i64, status: &str) -> Result<(), OriginError> {
    op.db.execute(
        "UPDATE changes SET status = ?1, decided_at = ?2 WHERE id = ?3",
        params![status, op.now(), id],
    )?;
    Ok(())
}

/// Assesses pending change `id` again against today's state and policies (a
/// scheduled change, when it comes due): requirements the policies now add are
/// recorded on the change. Returns the roles that still have to approve, and the
/// change's audit subject.
pub(in crate::origin) fn recheck(
    op: &Op<'_>,
    id: i64,
) -> Result<(Vec<String>, String), OriginError> {
    let stored = load(op.db, id)?;
    require_pending(&stored, id)?;
    let state = publish::load_state(op.db, &stored.environment)?;
    let p = stored.proposal();
    let mut required = stored.required.clone();
    for r in assess(op, &state, &p).approvals {
        let row: RequirementRow = serde_json::from_value(serde_json::to_value(&r)?)?;
        if !required
            .iter()
            .any(|k| k.role == row.role && k.policy == row.policy)
        {
            required.push(row);
        }
    }
    if required.len() != stored.required.len() {
        op.db.execute(
            "UPDATE changes SET required = ?1 WHERE id = ?2",
            params![serde_json::to_string(&required)?, id],
        )?;
    }
    let subject = subject(&stored.environment, stored.kind, &stored.target);
    let missing = unmet(&Stored { required, ..stored }, &approvals(op.db, id)?);
    Ok((missing, subject))
}

/// When a change refused only by the trading-hours freeze may apply: when all the
/// venues of the flags it touches are closed.
pub(super) fn held_until_close(assessment: &governance::Assessment) -> Option<i64> {
    let violations = &assessment.violations;
    if violations.is_empty()
        || violations
            .iter()
            .any(|v| v.policy != governance::FREEZE_POLICY)
    {
        return None;
    }
    assessment.frozen_until_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::format_rfc3339_ms;

    /// Approvals come back in the order they were given. Their times are RFC 3339
    /// text with as few fraction digits as needed, which does not sort as text
    /// within a second (`05.1Z` after `05.12Z`, `05Z` after both).
    #[test]
    fn approvals_are_listed_in_the_order_given() {
        let mut db = crate::origin::db::Db::open_sqlite_in_memory().unwrap();
        crate::origin::store::migrate(&mut db).unwrap();
        db.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        let second = 1_780_000_005_000;
        for (who, ms) in [("ann", second), ("bob", second + 100), ("cy", second + 120)] {
            db.execute(
                "INSERT INTO approvals (change_id, approver, role, comment, at)
                 VALUES (7, ?1, 'COMPLIANCE', NULL, ?2)",
                params![who, format_rfc3339_ms(ms)],
            )
            .unwrap();
        }
        let order: Vec<String> = approvals(&db, 7)
            .unwrap()
            .into_iter()
            .map(|a| a.approver)
            .collect();
        assert_eq!(order, ["ann", "bob", "cy"]);
    }
}
