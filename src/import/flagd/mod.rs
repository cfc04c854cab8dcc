//! flagd → Vexil. Input: a flagd flag definition (`{flags: {key: {state, variants,
//! defaultVariant, targeting, metadata}}, $evaluators, metadata}`), targeting in
//! JSONLogic, with flagd-core 4 (json-logic-engine 5) as the reference.
//!
//! The targeting is evaluated over the context space into disjoint cases (see
//! [`value`]): each case that names a variant becomes a rule (`TARGETING_MATCH`, as
//! flagd answers any variant targeting returns); cases where flagd's targeting gives
//! `null` are left to the fallthrough, the default variant (`DEFAULT`), or the caller's
//! default when there is none; cases where flagd throws or names no variant serve the
//! caller's default (flagd answers `GENERAL`). `fractional` becomes a rollout with
//! flagd's hashing (`"bucketing": "flagd"`), or bucket tests when its buckets are
//! computed. `$ref`s are inlined, as flagd substitutes them. A disabled flag has no off
//! variant: it answers the caller's default with `DISABLED`, as flagd does.

mod compare;
mod fractional;
mod ops;
mod strings;
mod value;

use super::{loss, ImportError, Imported, Loss};
use crate::engine::edit::rule_json;
use crate::engine::model::Serve;
use serde_json::{json, Map, Value};
use value::{merge, to_string, Part, V};

/// What translating one flag needs.
pub(super) struct Cx<'a> {
    key: &'a str,
    /// The variant names the translation serves.
    names: Vec<String>,
    evaluators: &'a Map<String, Value>,
    /// `$ref`s being expanded (to catch cycles).
    refs: Vec<String>,
    lossy: &'a mut Vec<Loss>,
    /// Why the targeting does not parse in flagd, if it does not.
    parse_error: Option<String>,
}

impl Cx<'_> {
    /// Records a loss; the expression becomes `null`.
    fn lose(&mut self, message: String) -> Part {
        self.loss(message);
        value::everywhere(V::Null)
    }

    fn loss(&mut self, message: String) {
        loss(self.lossy, self.key, message);
    }

    fn parse_error(&mut self, why: String) {
        self.parse_error.get_or_insert(why);
    }
}

/// What a case of the targeting serves.
#[derive(Debug, Clone, PartialEq)]
enum Out {
    Variant(String),
    CallerDefault,
    Rollout(Value),
}

impl Cx<'_> {
    /// The serves of the targeting's cases (cases giving `null` serve nothing: the
    /// fallthrough answers them).
    fn outcomes(&mut self, part: Part) -> Vec<(Value, Out)> {
        let mut out = Vec::new();
        for (c, v) in part {
            match v {
                V::Null => {}
                V::Error => out.push((c, Out::CallerDefault)),
                V::Attr(p) => {
                    let lookup = ops::lookup_attr(&p, &self.names);
                    for (c2, o) in self.outcomes(lookup) {
                        out.push((super::clauses::all([c.clone(), c2]), o));
                    }
                }
                V::Split(s) => match s.rollout(&self.names) {
                    Some(r) => out.push((c, Out::Rollout(r))),
                    None => {
                        for (c2, o) in self.outcomes(s.explode()) {
                            out.push((super::clauses::all([c.clone(), c2]), o));
                        }
                    }
                },
                V::Cat(..) | V::Time => {
                    self.loss(format!(
                        "targeting returns {v:?}, which names no variant this import can find"
                    ));
                }
                v => match to_string(&v).filter(|n| self.names.contains(n)) {
                    Some(name) => out.push((c, Out::Variant(name))),
                    None => out.push((c, Out::CallerDefault)),
                },
            }
        }
        let mut merged: Vec<(Value, Out)> = Vec::new();
        for (c, o) in out {
            if super::clauses::is_never(&c) {
                continue;
            }
            // Weights are ordered: compare rollouts as written (JSON maps compare unordered).
            let same = |p: &Out| match (p, &o) {
                (Out::Rollout(a), Out::Rollout(b)) => written(a) == written(b),
                (p, o) => p == o,
            };
            match merged.iter_mut().find(|(_, p)| same(p)) {
                Some((pc, _)) => *pc = super::clauses::any([pc.clone(), c]),
                None => merged.push((c, o)),
            }
        }
        merged
    }
}

/// A value as written, keys in order.
fn written(v: &Value) -> String {
    v.to_string()
}

/// The JSON type of a variant value, as Vexil groups them.
fn value_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::Bool(_) => Some("boolean"),
        Value::String(_) => Some("string"),
        Value::Number(_) => Some("number"),
        Value::Object(_) | Value::Array(_) => Some("object"),
        Value::Null => None,
    }
}

/// Translates a flagd flag definition document.
pub fn translate(input: &Value) -> Result<Imported, ImportError> {
    let flags = input["flags"].as_object().ok_or_else(|| {
        ImportError::Format("not a flagd flag definition: no `flags` object".into())
    })?;
    let empty = Map::new();
    let evaluators = input["$evaluators"].as_object().unwrap_or(&empty);
    let set_metadata = input["metadata"].as_object().cloned().unwrap_or_default();
    let mut out = Imported::default();
    let mut docs = Vec::new();
    for (key, f) in flags {
        docs.push(flag(key, f, evaluators, &set_metadata, &mut out.lossy)?);
    }
    out.document.insert("flags".into(), Value::Array(docs));
    out.document.insert("segments".into(), json!({}));
    Ok(out)
}

fn flag(
    key: &str,
    f: &Value,
    evaluators: &Map<String, Value>,
    set_metadata: &Map<String, Value>,
    lossy: &mut Vec<Loss>,
) -> Result<Value, ImportError> {
    let enabled = match f["state"].as_str() {
        Some("ENABLED") => true,
        Some("DISABLED") => false,
        other => {
            return Err(ImportError::Format(format!(
                "flag `{key}`: state {other:?} is neither ENABLED nor DISABLED (flagd refuses the whole definition)"
            )))
        }
    };
    let all_variants = f["variants"].as_object().cloned().unwrap_or_default();
    // flagd treats an empty default variant as none.
    let default = f["defaultVariant"].as_str().filter(|d| !d.is_empty());
    if let Some(d) = default {
        if !all_variants.contains_key(d) {
            return Err(ImportError::Format(format!(
                "flag `{key}`: default variant `{d}` is not one of its variants (flagd refuses the whole definition)"
            )));
        }
    }
    // One value type per flag: the default's (or the first variant's).
    let kind = default
        .and_then(|d| value_type(&all_variants[d]))
        .or_else(|| all_variants.values().find_map(value_type));
    let mut variants = Map::new();
    for (name, v) in &all_variants {
        if value_type(v).is_some() && value_type(v) == kind {
            variants.insert(name.clone(), v.clone());
        } else {
            loss(lossy, key, format!("variant `{name}` = {v} is not a {} like the others; a flag has one type here, so contexts served it get the caller's default (as a typed flagd evaluation answers TYPE_MISMATCH)", kind.unwrap_or("value")));
        }
    }
    if variants.is_empty() {
        loss(
            lossy,
            key,
            "the flag has no variants with a value; it answers the caller's default",
        );
        variants.insert("none".into(), json!(false));
    }
    let mut cx = Cx {
        key,
        names: variants.keys().cloned().collect(),
        evaluators,
        refs: Vec::new(),
        lossy,
        parse_error: None,
    };
    let targeting = f
        .get("targeting")
        .filter(|t| t.as_object().is_none_or(|m| !m.is_empty()) && !t.is_null());
    let mut rules = Vec::new();
    let mut parse_error = false;
    if let Some(t) = targeting {
        let part = merge(cx.eval(t));
        let outcomes = cx.outcomes(part);
        if let Some(why) = cx.parse_error.take() {
            cx.loss(format!("the targeting does not parse in flagd ({why}): flagd answers every evaluation with PARSE_ERROR and the caller's default; here the caller's default with reason DEFAULT"));
            parse_error = true;
        } else {
            for (i, (when, o)) in outcomes.into_iter().enumerate() {
                let serve = match o {
                    Out::Variant(v) => Serve::fixed(v).to_json(),
                    Out::CallerDefault => Serve::callers_default().to_json(),
                    Out::Rollout(r) => r,
                };
                rules.push(rule_json(&format!("rule-{}", i + 1), when, serve, None));
            }
        }
    }
    let fallthrough = match default.filter(|d| variants.contains_key(*d) && !parse_error) {
        Some(d) => Serve::fixed(d).to_json(),
        None => Serve::callers_default().to_json(),
    };
    if targeting.is_some() && rules.is_empty() {
        // Targeting that never names a variant: flagd still answers DEFAULT, not STATIC.
        rules.push(rule_json(
            "targeting",
            json!({ "any": [] }),
            fallthrough.clone(),
            Some("flagd targeting that never names a variant (kept so the reason is DEFAULT)"),
        ));
    }
    let mut doc = json!({
        "key": key,
        "enabled": enabled,
        "variants": variants,
        "rules": rules,
        "fallthrough": fallthrough,
    });
    // Flag metadata over the flag set's, as flagd merges them.
    let mut metadata = set_metadata.clone();
    if let Some(m) = f["metadata"].as_object() {
        metadata.extend(m.clone());
    }
    if !metadata.is_empty() {
        doc["metadata"] = Value::Object(metadata);
    }
    Ok(doc)
}
