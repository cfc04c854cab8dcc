//! Building proposals: one constructor per kind of change, from the environment's current state.

use super::{Kind, Proposal};
use crate::origin::publish::{EnvState, FlagRow};
use crate::origin::OriginError;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

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
