//! Resolving a caller's JSON context (native adapters: the CLI, the origin).

use super::{AttrSpec, ContextError, HostValue, ResolvedContext};
use serde_json::{Map, Value};

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Looks `spec` up in `ctx`: nested objects first, then the whole dotted path as
/// one top-level key (contexts built from flat maps such as headers use that form).
fn lookup<'a>(ctx: &'a Map<String, Value>, spec: &AttrSpec) -> Option<&'a Value> {
    let mut current: Option<&Value> = None;
    let mut map = ctx;
    for (i, segment) in spec.segments.iter().enumerate() {
        match map.get(&**segment) {
            Some(v) => {
                current = Some(v);
                if i + 1 < spec.segments.len() {
                    match v {
                        Value::Object(inner) => map = inner,
                        _ => {
                            current = None;
                            break;
                        }
                    }
                }
            }
            None => {
                current = None;
                break;
            }
        }
    }
    current.or_else(|| {
        if spec.segments.len() > 1 {
            ctx.get(&*spec.path)
        } else {
            None
        }
    })
}

fn host(value: &Value) -> (HostValue<'_>, Option<String>) {
    match value {
        Value::Bool(b) => (HostValue::Bool(*b), None),
        Value::String(s) => (HostValue::Str(s), None),
        Value::Number(n) => match n.as_f64() {
            Some(f) => (HostValue::Num(f, None), None),
            None => (HostValue::Other, None),
        },
        Value::Null | Value::Array(_) | Value::Object(_) => (HostValue::Other, None),
    }
}

/// Resolves `ctx` against an attribute table.
pub fn resolve(table: &[AttrSpec], ctx: &Value) -> Result<ResolvedContext, ContextError> {
    let map = match ctx {
        Value::Object(map) => map,
        other => return Err(ContextError::NotAnObject(type_name(other))),
    };
    let mut out = ResolvedContext::empty(table);
    for (id, spec) in table.iter().enumerate() {
        match lookup(map, spec) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                out.set_list(table, id as u32, items.iter().map(|v| host(v).0));
            }
            Some(v) => {
                let (value, text) = host(v);
                let value = match (value, &text) {
                    (HostValue::Num(n, _), Some(t)) => HostValue::Num(n, Some(t)),
                    (value, _) => value,
                };
                out.set(table, id as u32, value);
            }
        }
    }
    Ok(out)
}
