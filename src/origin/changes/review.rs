//! Assessing and submitting: a proposal validated with the engine, assessed by governance, dry-run or stored as a change.

use super::apply::apply;
use super::stored::{get, held_until_close};
use super::{Kind, Proposal};
use crate::engine::model::{Clause, ClauseRef, FlagDef};
use crate::origin::api::{DryRun, DryRunIssue};
use crate::origin::auth::Principal;
use crate::origin::db::params;
use crate::origin::governance::{self, Assessment, Change};
use crate::origin::outbox::{self, DomainEvent};
use crate::origin::publish::{self, EnvState, FlagRow};
use crate::origin::reports::retyped;
use crate::origin::{audit, limits, Op, OriginError};
use serde_json::{json, Value};
use std::collections::BTreeMap;

// ---- Assessing and submitting ---------------------------------------------------

/// `state` with `p` applied, in memory.
fn applied_state(state: &EnvState, p: &Proposal) -> EnvState {
    let mut next = state.clone();
    match p.kind {
        Kind::Segment => match &p.document {
            Some(clause) => {
                next.segments.insert(p.target.clone(), clause.clone());
            }
            None => {
                next.segments.remove(&p.target);
            }
        },
        Kind::ExclusionGroup => {
            next.exclusion_groups
                .insert(p.target.clone(), p.document.clone().unwrap_or(json!({})));
        }
        _ => {
            let prev = state.flags.get(&p.target);
            next.flags.insert(
                p.target.clone(),
                FlagRow {
                    document: p.document.clone().unwrap_or(Value::Null),
                    archived: p.archived,
                    revision: prev.map_or(0, |r| r.revision) + 1,
                    updated_at: String::new(),
                    updated_at_ms: 0,
                    updated_by: String::new(),
                },
            );
        }
    }
    next
}

/// Checks the names `p` introduces against [`limits`], then compiles `state` with
/// `p` applied.
pub(super) fn validate(state: &EnvState, p: &Proposal) -> Result<(), OriginError> {
    let issues = match p.kind {
        Kind::Segment => limits::name_issue("segment", &p.target)
            .into_iter()
            .collect(),
        Kind::ExclusionGroup => limits::name_issue("exclusion group", &p.target)
            .into_iter()
            .collect(),
        _ => p
            .document
            .as_ref()
            .map(limits::flag_issues)
            .unwrap_or_default(),
    };
    if !issues.is_empty() {
        return Err(OriginError::Invalid(issues));
    }
    applied_state(state, p).validate().map(|_| ())
}

fn parsed_segments(state: &EnvState) -> BTreeMap<String, Clause> {
    state
        .segments
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), serde_json::from_value(v.clone()).ok()?)))
        .collect()
}

/// Whether `def` reads segment `name`, directly or through other segments.
fn uses_segment(def: &FlagDef, segments: &BTreeMap<String, Clause>, name: &str) -> bool {
    let mut pending: Vec<&Clause> = def.access.iter().collect();
    pending.extend(def.rules.iter().map(|r| &r.when));
    let mut seen: Vec<String> = Vec::new();
    while let Some(clause) = pending.pop() {
        let mut found = Vec::new();
        clause.visit(&mut |r| {
            if let ClauseRef::Segment(s) = r {
                found.push(s.to_string());
            }
        });
        for s in found {
            if s == name {
                return true;
            }
            if !seen.contains(&s) {
                if let Some(c) = segments.get(&s) {
                    pending.push(c);
                }
                seen.push(s);
            }
        }
    }
    false
}

/// Assesses `p` against `state` (the state before it), as governance requires: a
/// flag change needs the approvals of the stricter of the flag's current and
/// proposed versions (for a promotion, the target environment's current version); a
/// segment or exclusion-group change needs what an update of every flag using it
/// (before or after) needs.
pub(super) fn assess(op: &Op<'_>, state: &EnvState, p: &Proposal) -> Assessment {
    let next = applied_state(state, p);
    let segments = parsed_segments(&next);
    let one = |current: Option<&Value>, proposed: &Value, change| {
        governance::assess_change(
            current,
            proposed,
            &segments,
            change,
            op.now_ms,
            &op.config.governance,
        )
    };
    match p.kind {
        Kind::Segment | Kind::ExclusionGroup => {
            let before = parsed_segments(state);
            let mut out = Assessment::default();
            for (key, row) in next.flags.iter().filter(|(_, r)| !r.archived) {
                let Ok(def) = serde_json::from_value::<FlagDef>(row.document.clone()) else {
                    continue;
                };
                let why = match p.kind {
                    Kind::Segment
                        if uses_segment(&def, &segments, &p.target)
                            || uses_segment(&def, &before, &p.target) =>
                    {
                        format!("flag `{key}` uses segment `{}`", p.target)
                    }
                    Kind::ExclusionGroup
                        if def.exclusion.as_ref().is_some_and(|e| e.group == p.target) =>
                    {
                        format!("flag `{key}` is in exclusion group `{}`", p.target)
                    }
                    _ => continue,
                };
                let doc = &row.document;
                out.join(one(Some(doc), doc, Change::Update).for_flag(key, &why));
            }
            out
        }
        kind => one(
            state.flags.get(&p.target).map(|r| &r.document),
            p.document.as_ref().unwrap_or(&Value::Null),
            kind.governance(p.base_revision),
        ),
    }
}

/// What submitting `p` would do, without doing it: the engine's issues, the
/// policies violated, the approvals needed. For editors to check a change first.
pub fn dry_run(op: &Op<'_>, p: &Proposal) -> Result<DryRun, OriginError> {
    let state = publish::load_state(op.db, &p.environment)?;
    let issues = match validate(&state, p) {
        Ok(_) => Vec::new(),
        Err(OriginError::Invalid(issues)) => issues,
        Err(e) => return Err(e),
    };
    let mut assessment = assess(op, &state, p);
    if !issues.is_empty() {
        // The engine already said why the document is not a flag.
        assessment
            .violations
            .retain(|v| v.policy != "flag-document");
    }
    Ok(DryRun {
        valid: issues.is_empty() && assessment.allowed(),
        issues: issues
            .into_iter()
            .map(|i| DryRunIssue {
                path: i.path,
                message: i.message,
            })
            .collect(),
        // Governance's types, as the API types with the same JSON.
        violations: retyped(&assessment.violations)?,
        approvals: retyped(&assessment.approvals)?,
        oversight_level: assessment.oversight_level,
        risk: retyped(&assessment.risk)?,
    })
}

/// The result of submitting a change.
#[derive(Debug, Clone, Copy)]
pub struct Submitted {
    /// The change's id.
    pub id: i64,
    /// Whether it was applied at once.
    pub applied: bool,
}

/// Validates, assesses and records a change by `author`, applying it at once when no
/// approval is needed. Does not publish: the caller publishes once per request.
pub fn submit(op: &Op<'_>, author: &Principal, p: Proposal) -> Result<Submitted, OriginError> {
    let state = publish::load_state(op.db, &p.environment)?;
    if p.kind == Kind::Kill && p.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(OriginError::BadRequest(
            "the kill switch needs a `reason`".into(),
        ));
    }
    if let Some(at) = p.apply_at_ms {
        crate::origin::scheduled::check_apply_at(op, p.kind, at)?;
    }
    validate(&state, &p)?;
    let assessment = assess(op, &state, &p);
    let mut apply_at = p.apply_at_ms;
    if !assessment.allowed() {
        // Frozen by trading hours alone: held, to apply when the session closes.
        let close = held_until_close(&assessment)
            .ok_or_else(|| OriginError::Policy(assessment.violations.clone()))?;
        apply_at = Some(apply_at.map_or(close, |at| at.max(close)));
    }
    let id: i64 = op.db.query_row(
        "INSERT INTO changes (environment, target, kind, status, author, reason, document, base_revision,
                              required, oversight_level, created_at, created_at_ms, archived, apply_at_ms)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
        params![
            p.environment,
            p.target,
            p.kind.as_str(),
            author.name,
            p.reason,
            p.document.as_ref().map(|d| d.to_string()),
            p.base_revision,
            serde_json::to_string(&assessment.approvals)?,
            assessment.oversight_level,
            op.now(),
            op.now_ms,
            p.archived,
            apply_at
        ],
        |r| r.get::<i64>(0),
    )?;
    let subject = subject(&p.environment, p.kind, &p.target);
    audit::record(
        op,
        &author.name,
        "change.requested",
        &subject,
        json!({ "change": id, "kind": p.kind.as_str(), "reason": p.reason,
                "required": assessment.approvals, "oversight_level": assessment.oversight_level,
                "apply_at": apply_at.map(crate::origin::rfc3339), "held": (!assessment.allowed()).then_some(&assessment.violations) }),
    )?;
    if assessment.approvals.is_empty() && apply_at.is_none() {
        apply(op, id, &author.name)?;
        return Ok(Submitted { id, applied: true });
    }
    let change = get(op.db, id)?;
    outbox::emit(op, DomainEvent::ChangeRequested { change })?;
    Ok(Submitted { id, applied: false })
}

pub(super) fn subject(env: &str, kind: Kind, target: &str) -> String {
    match kind {
        Kind::Segment => format!("{env}/segment:{target}"),
        Kind::ExclusionGroup => format!("{env}/exclusion-group:{target}"),
        _ => format!("{env}/{target}"),
    }
}
