//! Change requests: every mutation of an environment's flags, segments and
//! exclusion groups is proposed, validated with the engine, assessed by governance,
//! approved as policy requires (never by its author), then applied, audited and
//! published. Changes that need no approval, and the kill switch always, apply at
//! once.

use super::auth::Principal;
use super::governance::{self, Assessment, Change};
use super::publish::{self, EnvState, FlagRow};
use super::{audit, identity, limits, webhooks, Op, OriginError};
use crate::engine::model::{Clause, ClauseRef, FlagDef};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A new flag.
    Create,
    /// A new definition of a flag.
    Update,
    /// A new rollout percentage.
    Rollout,
    /// Re-enabling a disabled flag.
    Enable,
    /// The kill switch.
    Kill,
    /// Archiving: kept, no longer published.
    Archive,
    /// Restoring an earlier revision.
    Rollback,
    /// Copying a flag from another environment.
    Promote,
    /// Setting or deleting a segment.
    Segment,
    /// Setting an exclusion group.
    ExclusionGroup,
}

impl Kind {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Rollout => "rollout",
            Kind::Enable => "enable",
            Kind::Kill => "kill",
            Kind::Archive => "archive",
            Kind::Rollback => "rollback",
            Kind::Promote => "promote",
            Kind::Segment => "segment",
            Kind::ExclusionGroup => "exclusion_group",
        }
    }

    fn parse(text: &str) -> Result<Kind, OriginError> {
        serde_json::from_value(Value::String(text.to_string()))
            .map_err(|_| OriginError::Internal(format!("stored change kind `{text}` is unknown")))
    }

    fn is_flag(self) -> bool {
        !matches!(self, Kind::Segment | Kind::ExclusionGroup)
    }

    /// The governance view of the change.
    fn governance(self, base_revision: i64) -> Change {
        match self {
            Kind::Create => Change::Create,
            Kind::Enable => Change::Enable,
            Kind::Kill => Change::Disable,
            Kind::Archive => Change::Archive,
            Kind::Promote if base_revision == 0 => Change::Create,
            _ => Change::Update,
        }
    }
}

/// A change to be made to one environment.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The environment.
    pub environment: String,
    /// The flag key, segment name or exclusion-group name.
    pub target: String,
    /// What it does.
    pub kind: Kind,
    /// The new flag document (flags), clause (segments; `None` deletes), or group
    /// definition.
    pub document: Option<Value>,
    /// Whether the flag is archived afterwards.
    pub archived: bool,
    /// The flag's revision the change was made against (0: a new flag).
    pub base_revision: i64,
    /// Why.
    pub reason: Option<String>,
    /// When to apply it, once approved (epoch ms); `None`: as soon as approved.
    pub apply_at_ms: Option<i64>,
}

// ---- Building proposals ---------------------------------------------------------

fn flag<'s>(state: &'s EnvState, env: &str, key: &str) -> Result<&'s FlagRow, OriginError> {
    state
        .flags
        .get(key)
        .ok_or_else(|| OriginError::NotFound(format!("no flag `{key}` in `{env}`")))
}

fn live_flag<'s>(state: &'s EnvState, env: &str, key: &str) -> Result<&'s FlagRow, OriginError> {
    let row = flag(state, env, key)?;
    if row.archived {
        return Err(OriginError::Conflict(format!(
            "flag `{key}` is archived in `{env}`; restore it with a rollback first"
        )));
    }
    Ok(row)
}

fn proposal(env: &str, target: &str, kind: Kind, document: Option<Value>, base: i64) -> Proposal {
    Proposal {
        environment: env.to_string(),
        target: target.to_string(),
        kind,
        document,
        archived: false,
        base_revision: base,
        reason: None,
        apply_at_ms: None,
    }
}

/// The key of a flag document, which must be a JSON object.
pub fn document_key(doc: &Value) -> Result<&str, OriginError> {
    let obj = doc.as_object().ok_or_else(|| {
        OriginError::BadRequest("`flag` must be a JSON object (a flag document)".into())
    })?;
    obj.get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| OriginError::BadRequest("the flag document needs a string `key`".into()))
}

/// A new flag.
pub fn create(state: &EnvState, env: &str, doc: Value) -> Result<Proposal, OriginError> {
    let key = document_key(&doc)?.to_string();
    if let Some(row) = state.flags.get(&key) {
        return Err(OriginError::Conflict(format!(
            "flag `{key}` already exists in `{env}`{}",
            if row.archived { " (archived)" } else { "" }
        )));
    }
    Ok(proposal(env, &key, Kind::Create, Some(doc), 0))
}

/// A new definition of an existing flag.
pub fn update(
    state: &EnvState,
    env: &str,
    key: &str,
    mut doc: Value,
) -> Result<Proposal, OriginError> {
    let row = live_flag(state, env, key)?;
    if let Some(obj) = doc.as_object_mut() {
        obj.entry("key").or_insert_with(|| json!(key));
    }
    let doc_key = document_key(&doc)?;
    if doc_key != key {
        return Err(OriginError::BadRequest(format!(
            "the document's key `{doc_key}` differs from the flag `{key}` in the path; keys cannot be renamed"
        )));
    }
    Ok(proposal(env, key, Kind::Update, Some(doc), row.revision))
}

/// Replaces a flag's rules (the seed's `update_rules`).
pub fn update_rules(
    state: &EnvState,
    env: &str,
    key: &str,
    rules: Value,
) -> Result<Proposal, OriginError> {
    if !rules.is_array() {
        return Err(OriginError::BadRequest(
            "`targeting_rules` must be a list of rules".into(),
        ));
    }
    let mut doc = live_flag(state, env, key)?.document.clone();
    doc["rules"] = rules;
    update(state, env, key, doc)
}

fn set_enabled(
    state: &EnvState,
    env: &str,
    key: &str,
    enabled: bool,
    kind: Kind,
) -> Result<Proposal, OriginError> {
    let row = live_flag(state, env, key)?;
    let mut doc = row.document.clone();
    doc["enabled"] = json!(enabled);
    Ok(proposal(env, key, kind, Some(doc), row.revision))
}

/// Re-enables a flag.
pub fn enable(state: &EnvState, env: &str, key: &str) -> Result<Proposal, OriginError> {
    set_enabled(state, env, key, true, Kind::Enable)
}

/// The kill switch.
pub fn kill(state: &EnvState, env: &str, key: &str) -> Result<Proposal, OriginError> {
    set_enabled(state, env, key, false, Kind::Kill)
}

/// Archives a flag.
pub fn archive(state: &EnvState, env: &str, key: &str) -> Result<Proposal, OriginError> {
    let row = live_flag(state, env, key)?;
    let mut p = proposal(
        env,
        key,
        Kind::Archive,
        Some(row.document.clone()),
        row.revision,
    );
    p.archived = true;
    Ok(p)
}

/// Restores revision `to` (default: the one before the current).
pub fn rollback(
    db: &Connection,
    state: &EnvState,
    env: &str,
    key: &str,
    to: Option<i64>,
) -> Result<Proposal, OriginError> {
    let row = flag(state, env, key)?;
    let to = to.unwrap_or(row.revision - 1);
    if to < 1 || to >= row.revision {
        return Err(OriginError::BadRequest(format!(
            "flag `{key}` is at revision {}; roll back to a revision from 1 to {}",
            row.revision,
            row.revision - 1
        )));
    }
    let doc: String = db
        .query_row(
            "SELECT document FROM flag_revisions WHERE environment = ?1 AND key = ?2 AND revision = ?3",
            params![env, key, to],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| OriginError::NotFound(format!("flag `{key}` has no revision {to}")))?;
    Ok(proposal(
        env,
        key,
        Kind::Rollback,
        Some(serde_json::from_str(&doc)?),
        row.revision,
    ))
}

/// Copies a flag's current definition from `from` into `to`'s state.
pub fn promote(
    from: &EnvState,
    from_env: &str,
    to: &EnvState,
    to_env: &str,
    key: &str,
) -> Result<Proposal, OriginError> {
    if from_env == to_env {
        return Err(OriginError::BadRequest(
            "`from` and `to` must be different environments".into(),
        ));
    }
    let source = live_flag(from, from_env, key)?;
    let base = to.flags.get(key).map_or(0, |r| r.revision);
    Ok(proposal(
        to_env,
        key,
        Kind::Promote,
        Some(source.document.clone()),
        base,
    ))
}

/// A percentage in thousandths as JSON: `5`, `1.001`.
fn percent_json(thousandths: u32) -> Value {
    if thousandths % 1000 == 0 {
        json!(thousandths / 1000)
    } else {
        json!(f64::from(thousandths) / 1000.0)
    }
}

/// Sets the share of a flag's fallthrough (or rule `rule`) served `variant` (default:
/// the first variant that is not the off variant); the rest gets the off variant.
/// An existing rollout keeps its unit attribute, salt and weight order, so raising
/// the percentage only adds units.
pub fn rollout(
    state: &EnvState,
    env: &str,
    key: &str,
    percentage: f64,
    variant: Option<&str>,
    rule: Option<&str>,
) -> Result<Proposal, OriginError> {
    // The engine's own conversion: whatever it accepts as a weight is accepted here.
    let on_thousandths = crate::engine::compile::thousandths(percentage)
        .map_err(|e| OriginError::BadRequest(format!("percentage {e}")))?;
    let row = live_flag(state, env, key)?;
    let mut doc = row.document.clone();
    let variants: Vec<String> = doc
        .get("variants")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let off = doc
        .get("off_variant")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            OriginError::BadRequest(format!(
                "flag `{key}` has no `off_variant` to roll out against"
            ))
        })?;
    let on = match variant {
        Some(v) if variants.iter().any(|x| x == v) && v != off => v.to_string(),
        Some(v) => {
            return Err(OriginError::BadRequest(format!(
            "variant `{v}` is not one of `{key}`'s variants other than the off variant `{off}`: {}",
            variants.join(", ")
        )))
        }
        None => variants
            .iter()
            .find(|v| **v != off)
            .cloned()
            .ok_or_else(|| {
                OriginError::BadRequest(format!("flag `{key}` has no variant besides `{off}`"))
            })?,
    };
    let serve = match rule {
        Some(id) => doc
            .get_mut("rules")
            .and_then(Value::as_array_mut)
            .and_then(|rules| {
                rules
                    .iter_mut()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
            })
            .map(|r| &mut r["serve"])
            .ok_or_else(|| OriginError::NotFound(format!("flag `{key}` has no rule `{id}`")))?,
        None => &mut doc["fallthrough"],
    };
    let existing = serve.get("rollout").cloned().unwrap_or(Value::Null);
    if let Some(weights) = existing.get("weights").and_then(Value::as_object) {
        if weights.keys().any(|k| *k != on && *k != off) {
            return Err(OriginError::BadRequest(format!(
                "this rollout splits between {} variants; change its weights with `flag update`",
                weights.len()
            )));
        }
    }
    let off_first = existing
        .get("weights")
        .and_then(Value::as_object)
        .and_then(|w| w.keys().next())
        .is_some_and(|first| *first == off);
    let mut weights = Map::new();
    let (on_w, off_w) = (
        percent_json(on_thousandths),
        percent_json(crate::engine::BUCKETS - on_thousandths),
    );
    if off_first {
        weights.insert(off, off_w);
        weights.insert(on, on_w);
    } else {
        weights.insert(on, on_w);
        weights.insert(off, off_w);
    }
    let mut new_rollout = Map::new();
    for field in ["by", "salt", "bucketing"] {
        if let Some(v) = existing.get(field) {
            new_rollout.insert(field.into(), v.clone());
        }
    }
    new_rollout.insert("weights".into(), Value::Object(weights));
    *serve = json!({ "rollout": new_rollout });
    Ok(proposal(env, key, Kind::Rollout, Some(doc), row.revision))
}

/// Sets (`Some`) or deletes (`None`) a segment.
pub fn segment(
    state: &EnvState,
    env: &str,
    name: &str,
    clause: Option<Value>,
) -> Result<Proposal, OriginError> {
    if name.is_empty() {
        return Err(OriginError::BadRequest("a segment needs a name".into()));
    }
    if clause.is_none() && !state.segments.contains_key(name) {
        return Err(OriginError::NotFound(format!(
            "no segment `{name}` in `{env}`"
        )));
    }
    Ok(proposal(env, name, Kind::Segment, clause, 0))
}

/// Sets an exclusion group.
pub fn exclusion_group(env: &str, name: &str, definition: Value) -> Result<Proposal, OriginError> {
    if name.is_empty() {
        return Err(OriginError::BadRequest(
            "an exclusion group needs a name".into(),
        ));
    }
    Ok(proposal(
        env,
        name,
        Kind::ExclusionGroup,
        Some(definition),
        0,
    ))
}

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
fn validate(state: &EnvState, p: &Proposal) -> Result<(), OriginError> {
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
fn assess(op: &Op<'_>, state: &EnvState, p: &Proposal) -> Assessment {
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
pub fn dry_run(op: &Op<'_>, p: &Proposal) -> Result<Value, OriginError> {
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
    Ok(json!({
        "valid": issues.is_empty() && assessment.allowed(),
        "issues": issues.iter().map(|i| json!({ "path": i.path, "message": i.message })).collect::<Vec<_>>(),
        "violations": assessment.violations,
        "approvals": assessment.approvals,
        "oversight_level": assessment.oversight_level,
        "risk": assessment.risk,
    }))
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
        super::scheduled::check_apply_at(op, p.kind, at)?;
    }
    validate(&state, &p)?;
    let assessment = assess(op, &state, &p);
    let mut apply_at = p.apply_at_ms;
    if !assessment.allowed() {
        // Frozen by trading hours alone: held, to apply when the session closes.
        let close = held_until_close(op, &assessment.violations)
            .ok_or_else(|| OriginError::Policy(assessment.violations.clone()))?;
        apply_at = Some(apply_at.map_or(close, |at| at.max(close)));
    }
    op.db.execute(
        "INSERT INTO changes (environment, target, kind, status, author, reason, document, base_revision,
                              required, oversight_level, created_at, created_at_ms, archived, apply_at_ms)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
    )?;
    let id = op.db.last_insert_rowid();
    let subject = subject(&p.environment, p.kind, &p.target);
    audit::record(
        op,
        &author.name,
        "change.requested",
        &subject,
        json!({ "change": id, "kind": p.kind.as_str(), "reason": p.reason,
                "required": assessment.approvals, "oversight_level": assessment.oversight_level,
                "apply_at": apply_at.map(super::rfc3339), "held": (!assessment.allowed()).then_some(&assessment.violations) }),
    )?;
    if assessment.approvals.is_empty() && apply_at.is_none() {
        apply(op, id, &author.name)?;
        return Ok(Submitted { id, applied: true });
    }
    webhooks::enqueue(op, &p.environment, "change.requested", get(op.db, id)?)?;
    Ok(Submitted { id, applied: false })
}

fn subject(env: &str, kind: Kind, target: &str) -> String {
    match kind {
        Kind::Segment => format!("{env}/segment:{target}"),
        Kind::ExclusionGroup => format!("{env}/exclusion-group:{target}"),
        _ => format!("{env}/{target}"),
    }
}

/// A stored change's essentials.
struct Stored {
    environment: String,
    target: String,
    kind: Kind,
    status: String,
    author: String,
    reason: Option<String>,
    document: Option<Value>,
    archived: bool,
    base_revision: i64,
    required: Vec<RequirementRow>,
    apply_at_ms: Option<i64>,
}

/// A stored [`governance::Requirement`] (changes stored before `triggered_by`,
/// `note` and `flag` existed have none).
#[derive(Debug, Clone, Deserialize, Serialize)]
struct RequirementRow {
    role: String,
    policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    triggered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flag: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    approvers: Vec<String>,
}

impl Stored {
    /// The proposal the change was made of.
    fn proposal(&self) -> Proposal {
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

fn load(db: &Connection, id: i64) -> Result<Stored, OriginError> {
    let row = db
        .query_row(
            "SELECT environment, target, kind, status, author, reason, document, base_revision, required, archived,
                    apply_at_ms
             FROM changes WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, bool>(9)?,
                    r.get::<_, Option<i64>>(10)?,
                ))
            },
        )
        .optional()?
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

fn approvals(db: &Connection, id: i64) -> Result<Vec<Value>, OriginError> {
    let mut stmt = db.prepare(
        "SELECT approver, role, comment, at FROM approvals WHERE change_id = ?1 ORDER BY at, rowid",
    )?;
    let rows = stmt.query_map(params![id], |r| {
        Ok(json!({
            "approver": r.get::<_, String>(0)?,
            "role": r.get::<_, String>(1)?,
            "comment": r.get::<_, Option<String>>(2)?,
            "at": r.get::<_, String>(3)?,
        }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Required roles not yet approved (one approval of a role covers every policy
/// requiring that role).
fn unmet(stored: &Stored, approvals: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for req in &stored.required {
        let met = approvals.iter().any(|a| a["role"] == json!(req.role));
        if !met && !out.contains(&req.role) {
            out.push(req.role.clone());
        }
    }
    out
}

/// The change as the API shows it.
pub fn get(db: &Connection, id: i64) -> Result<Value, OriginError> {
    let row = db
        .query_row(
            "SELECT environment, target, kind, status, author, reason, document, base_revision, required,
                    oversight_level, created_at, decided_at, rejection, applied, apply_at_ms
             FROM changes WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?),
                    (r.get::<_, String>(4)?, r.get::<_, Option<String>>(5)?, r.get::<_, Option<String>>(6)?, r.get::<_, i64>(7)?),
                    (r.get::<_, String>(8)?, r.get::<_, Option<i64>>(9)?, r.get::<_, String>(10)?, r.get::<_, Option<String>>(11)?),
                    (r.get::<_, Option<String>>(12)?, r.get::<_, Option<String>>(13)?, r.get::<_, Option<i64>>(14)?),
                ))
            },
        )
        .optional()?
        .ok_or_else(|| OriginError::NotFound(format!("no change #{id}")))?;
    let (
        (env, target, kind, status),
        (author, reason, document, base),
        (required, level, created, decided),
        (rejection, applied, apply_at),
    ) = row;
    let approvals = approvals(db, id)?;
    let required: Vec<RequirementRow> = serde_json::from_str(&required)?;
    let required: Vec<Value> = required
        .iter()
        .map(|r| {
            let approved_by = approvals
                .iter()
                .find(|a| a["role"] == json!(r.role))
                .map(|a| a["approver"].clone());
            let mut shown =
                json!({ "role": r.role, "policy": r.policy, "approved_by": approved_by });
            if !r.approvers.is_empty() {
                shown["approvers"] = json!(r.approvers);
            }
            for (field, value) in [
                ("triggered_by", &r.triggered_by),
                ("note", &r.note),
                ("flag", &r.flag),
            ] {
                if let Some(v) = value {
                    shown[field] = json!(v);
                }
            }
            shown
        })
        .collect();
    let kind_value = Kind::parse(&kind)?;
    let mut out = json!({
        "id": id,
        "environment": env,
        "kind": kind,
        "status": status,
        "author": author,
        "reason": reason,
        "created_at": created,
        "decided_at": decided,
        "document": document.map(|d| serde_json::from_str::<Value>(&d)).transpose()?,
        "base_revision": base,
        "required": required,
        "approvals": approvals,
        "rejection": rejection.map(|r| serde_json::from_str::<Value>(&r)).transpose()?,
        "applied": applied.map(|a| serde_json::from_str::<Value>(&a)).transpose()?,
    });
    if let Some(at) = apply_at {
        out["apply_at"] = json!(super::rfc3339(at));
    }
    match kind_value {
        Kind::Segment => out["segment"] = json!(target),
        Kind::ExclusionGroup => out["exclusion_group"] = json!(target),
        _ => out["flag"] = json!(target),
    }
    if let Some(level) = level {
        out["oversight_level"] = json!(level);
    }
    Ok(out)
}

/// Which changes to list (`GET /changes`), a page at a time.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFilter {
    /// `pending`, `applied`, `rejected`, `cancelled` or `conflict`.
    pub status: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Flag (or segment) name.
    pub flag: Option<String>,
    /// Proposed by this person (compared as approvals compare people).
    pub author: Option<String>,
    /// Of this kind (`create`, `update`, `rollout`, ...).
    pub kind: Option<String>,
    /// Only changes older than this id: the previous page's `next`.
    pub before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// One page of changes, newest first; `next` (the `before` of the following page) is
/// set when more match.
#[derive(Debug, Serialize)]
pub struct ChangePage {
    /// The changes, newest first.
    pub changes: Vec<Value>,
    /// The `before` of the next page, when more match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// Changes matching `filter`, newest first.
pub fn list(db: &Connection, filter: &ListFilter) -> Result<ChangePage, OriginError> {
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
    let mut stmt = db.prepare(
        "SELECT id, author FROM changes WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR environment = ?2)
         AND (?3 IS NULL OR target = ?3) AND (?4 IS NULL OR kind = ?4) AND (?5 IS NULL OR id < ?5)
         ORDER BY id DESC",
    )?;
    let author = filter.author.as_deref().map(identity::key);
    let mut ids = Vec::new();
    let mut more = false;
    let rows = stmt.query_map(
        params![
            filter.status,
            filter.environment,
            filter.flag,
            filter.kind,
            filter.before
        ],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )?;
    for row in rows {
        let (id, by) = row?;
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
pub fn pending_for(db: &Connection, env: &str, key: &str) -> Result<Vec<i64>, OriginError> {
    let mut stmt = db.prepare(
        "SELECT id FROM changes WHERE environment = ?1 AND target = ?2 AND status = 'pending' ORDER BY id",
    )?;
    let ids = stmt.query_map(params![env, key], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

fn require_pending(stored: &Stored, id: i64) -> Result<(), OriginError> {
    if stored.status != "pending" {
        return Err(OriginError::Conflict(format!(
            "change #{id} is {}, not pending",
            stored.status
        )));
    }
    Ok(())
}

fn decide(op: &Op<'_>, id: i64, status: &str) -> Result<(), OriginError> {
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
pub(super) fn recheck(op: &Op<'_>, id: i64) -> Result<(Vec<String>, String), OriginError> {
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

/// When a change refused only by the trading-hours freeze may apply: the close of
/// the session under way.
fn held_until_close(op: &Op<'_>, violations: &[governance::Violation]) -> Option<i64> {
    if violations.is_empty()
        || violations
            .iter()
            .any(|v| v.policy != governance::FREEZE_POLICY)
    {
        return None;
    }
    op.config
        .governance
        .trading_hours
        .as_ref()?
        .session_end(op.now_ms)
}

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
        if let Some(close) = held_until_close(op, &assessment.violations) {
            if stored.apply_at_ms != Some(close) {
                op.db.execute(
                    "UPDATE changes SET apply_at_ms = ?1 WHERE id = ?2",
                    params![close, id],
                )?;
                let details = json!({ "change": id, "violations": assessment.violations, "applies_at": super::rfc3339(close) });
                audit::record(op, actor, "change.held", &subject, details)?;
                webhooks::enqueue(op, &env, "change.held", get(op.db, id)?)?;
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
        let kind = change["kind"].as_str().unwrap_or_default().to_string();
        webhooks::enqueue(op, env, "change.applied", change.clone())?;
        if kind == "kill" {
            webhooks::enqueue(op, env, "flag.killed", change)?;
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
    op.db.execute(
        "INSERT INTO changes (environment, target, kind, status, author, reason, document, base_revision,
                              required, created_at, created_at_ms, archived)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, '[]', ?8, ?9, ?10)",
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
    )?;
    let id = op.db.last_insert_rowid();
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
pub fn status(db: &Connection, id: i64) -> Result<String, OriginError> {
    Ok(load(db, id)?.status)
}

/// Submits one change and, if it applied, publishes. Returns the change.
pub fn submit_and_publish(
    op: &Op<'_>,
    author: &Principal,
    p: Proposal,
) -> Result<Value, OriginError> {
    let env = p.environment.clone();
    let submitted = submit(op, author, p)?;
    if submitted.applied {
        publish_applied(op, &env, &[submitted.id])?;
    }
    get(op.db, submitted.id)
}

/// Applies a pending change and publishes, reporting a conflict or a block.
fn apply_and_publish(op: &Op<'_>, id: i64, actor: &str) -> Result<Value, OriginError> {
    let env = load(op.db, id)?.environment;
    let outcome = apply(op, id, actor)?;
    if outcome == Applied::Done {
        publish_applied(op, &env, &[id])?;
    }
    let mut change = get(op.db, id)?;
    match outcome {
        Applied::Done => {}
        Applied::Conflict(why) => change["conflict"] = json!(why),
        Applied::Blocked(violations) => change["blocked"] = json!(violations),
        Applied::Scheduled(_) => {}
    }
    Ok(change)
}

/// Records `approver`'s approval; applies the change when it was the last one needed.
pub fn approve(
    op: &Op<'_>,
    approver: &Principal,
    id: i64,
    comment: Option<String>,
    role: Option<String>,
) -> Result<Value, OriginError> {
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
    let same_person = |a: &Value| {
        a["approver"]
            .as_str()
            .is_some_and(|n| identity::same(n, &approver.name))
    };
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
        "INSERT INTO approvals (change_id, approver, role, comment, at) VALUES (?1, ?2, ?3, ?4, ?5)",
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
    webhooks::enqueue(op, &stored.environment, "change.approved", get(op.db, id)?)?;
    if unmet(&stored, &approvals(op.db, id)?).is_empty() {
        return apply_and_publish(op, id, &approver.name);
    }
    get(op.db, id)
}

/// Retries applying a fully approved change (after a trading-hours freeze).
pub fn retry(op: &Op<'_>, who: &Principal, id: i64) -> Result<Value, OriginError> {
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
) -> Result<Value, OriginError> {
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
    webhooks::enqueue(op, &stored.environment, "change.rejected", change.clone())?;
    Ok(change)
}

/// Withdraws a pending change (its author, or an admin).
pub fn cancel(op: &Op<'_>, who: &Principal, id: i64) -> Result<Value, OriginError> {
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

// ---- Bulk updates -----------------------------------------------------------------

/// One operation of the seed's bulk-update format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkOperation {
    /// The flag.
    pub flag_id: String,
    /// `update_percentage`, `toggle_flag` or `update_rules`.
    pub operation: String,
    /// The operation's parameters.
    #[serde(default)]
    pub parameters: Value,
}

fn bulk_proposal(state: &EnvState, env: &str, u: &BulkOperation) -> Result<Proposal, OriginError> {
    let param = |name: &str| u.parameters.get(name);
    match u.operation.as_str() {
        "update_percentage" => {
            let percentage = param("percentage").and_then(Value::as_f64).ok_or_else(|| {
                OriginError::BadRequest("update_percentage needs `parameters.percentage` (a number)".into())
            })?;
            let variant = param("variant").and_then(Value::as_str);
            let rule = param("rule").and_then(Value::as_str);
            rollout(state, env, &u.flag_id, percentage, variant, rule)
        }
        "toggle_flag" => match param("enabled").and_then(Value::as_bool) {
            Some(true) => enable(state, env, &u.flag_id),
            Some(false) => kill(state, env, &u.flag_id),
            None => Err(OriginError::BadRequest("toggle_flag needs `parameters.enabled` (true or false)".into())),
        },
        "update_rules" => {
            let rules = param("targeting_rules").cloned().ok_or_else(|| {
                OriginError::BadRequest("update_rules needs `parameters.targeting_rules` (a list of rules)".into())
            })?;
            update_rules(state, env, &u.flag_id, rules)
        }
        other => Err(OriginError::BadRequest(format!(
            "unknown operation `{other}`; operations are update_percentage, toggle_flag, update_rules"
        ))),
    }
}

/// Applies the seed's bulk update all-or-nothing: every operation becomes a change
/// (applied, or pending approval) and one snapshot is published; if any operation
/// fails, the answer is [`OriginError::BulkFailed`] with the report and nothing is
/// kept (the caller's transaction rolls back).
pub fn bulk(
    op: &Op<'_>,
    author: &Principal,
    env: &str,
    updates: &[BulkOperation],
    reason: Option<String>,
) -> Result<Value, OriginError> {
    if updates.is_empty() {
        return Err(OriginError::BadRequest("`updates` is empty".into()));
    }
    let mut results = Vec::with_capacity(updates.len());
    let mut applied_ids = Vec::new();
    let (mut pending, mut failed) = (0, 0);
    for (index, u) in updates.iter().enumerate() {
        let outcome = publish::load_state(op.db, env)
            .and_then(|state| bulk_proposal(&state, env, u))
            .and_then(|mut p| {
                p.reason = reason
                    .clone()
                    .or_else(|| Some(format!("bulk update: {}", u.operation)));
                submit(op, author, p)
            });
        let mut result = json!({ "index": index, "flag_id": u.flag_id, "operation": u.operation });
        match outcome {
            Ok(s) => {
                result["change"] = json!(s.id);
                result["status"] = json!(if s.applied { "applied" } else { "pending" });
                if s.applied {
                    applied_ids.push(s.id);
                } else {
                    pending += 1;
                }
            }
            Err(e) => {
                failed += 1;
                result["status"] = json!("failed");
                result["error"] = json!(e.to_string());
            }
        }
        results.push(result);
    }
    let mut report = json!({
        "total": updates.len(), "applied": applied_ids.len(), "pending": pending, "failed": failed,
        "results": results,
    });
    if failed > 0 {
        return Err(OriginError::BulkFailed(rolled_back(report)));
    }
    if !applied_ids.is_empty() {
        report["snapshot_version"] = json!(publish_applied(op, env, &applied_ids)?);
    }
    Ok(report)
}

/// The report of a bulk update that failed: its transaction rolls back, so the
/// operations that went through are `not_applied` and their change ids (which no
/// longer exist) are dropped; `failed_operation` is the first that failed.
fn rolled_back(mut report: Value) -> Value {
    let results = report["results"].as_array_mut();
    let first_failure = results
        .as_ref()
        .and_then(|r| r.iter().find(|r| r["status"] == "failed"))
        .cloned();
    let at = first_failure
        .as_ref()
        .map_or(Value::Null, |f| f["index"].clone());
    let mut not_applied = 0;
    for result in results.into_iter().flatten() {
        if result["status"] != "failed" {
            not_applied += 1;
            result["status"] = json!("not_applied");
            result["note"] = json!(format!("rolled back: operation #{at} failed"));
            if let Some(obj) = result.as_object_mut() {
                obj.remove("change");
            }
        }
    }
    report["applied"] = json!(0);
    report["pending"] = json!(0);
    report["not_applied"] = json!(not_applied);
    report["failed_operation"] = first_failure.unwrap_or(Value::Null);
    report
}
