//! Building proposals: one constructor per kind of change, from the environment's current state.

use super::{Kind, Proposal};
use crate::engine::edit::{self, EditError, FlagDoc, FlagEdit};
use crate::origin::db::{params, Db};
use crate::origin::publish::{EnvState, FlagRow};
use crate::origin::OriginError;
use serde_json::Value;

// ---- Building proposals ---------------------------------------------------------

pub(super) fn flag<'s>(
    state: &'s EnvState,
    env: &str,
    key: &str,
) -> Result<&'s FlagRow, OriginError> {
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

pub(super) fn proposal(
    env: &str,
    target: &str,
    kind: Kind,
    document: Option<Value>,
    base: i64,
) -> Proposal {
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
    if !doc.is_object() {
        return Err(EditError::NotAnObject.into());
    }
    Some(FlagDoc(doc).key())
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
    if let Ok(mut edit) = FlagEdit::new(&mut doc) {
        edit.default_key(key);
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
    let Value::Array(rules) = rules else {
        return Err(OriginError::BadRequest(
            "`targeting_rules` must be a list of rules".into(),
        ));
    };
    let mut doc = live_flag(state, env, key)?.document.clone();
    FlagEdit::new(&mut doc)?.set_rules(rules);
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
    FlagEdit::new(&mut doc)?.set_enabled(enabled);
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
    db: &Db,
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
        .query_opt(
            "SELECT document FROM flag_revisions
             WHERE environment = ?1 AND key = ?2 AND revision = ?3",
            params![env, key, to],
            |r| r.get(0),
        )?
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

/// Sets the share of a flag's fallthrough (or rule `rule`) served `variant` (default:
/// the first variant that is not the off variant); the rest gets the off variant
/// (see [`FlagEdit::set_split`]: an existing rollout keeps every field but its weights,
/// and their order, so raising the percentage only adds units; one hashing into a
/// `total` takes only percentages that are whole numbers of its positions).
pub fn rollout(
    state: &EnvState,
    env: &str,
    key: &str,
    percentage: f64,
    variant: Option<&str>,
    rule: Option<&str>,
) -> Result<Proposal, OriginError> {
    // The engine's own conversion: whatever it accepts as a weight is accepted here.
    let on_thousandths = edit::percentage(percentage)?;
    let row = live_flag(state, env, key)?;
    let mut doc = row.document.clone();
    FlagEdit::new(&mut doc)?.set_split(rule.into(), variant, on_thousandths)?;
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
