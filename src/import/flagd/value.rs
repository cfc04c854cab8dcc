//! What a JSONLogic expression evaluates to, described over the context space: a
//! partition (disjoint clauses, each with the value the expression has there), and
//! JavaScript's operations on constant values, as json-logic-engine 5 performs them.

use super::super::clauses::{all, any, in_values, is_never, is_number, is_string, not, test};
use crate::engine::lenient::js_number;
use serde_json::{json, Value};

/// A value an expression takes on part of the context space.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum V {
    /// JSON null (also what `var` gives for a missing attribute).
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// The context value at a path (any type).
    Attr(String),
    /// `prefix + String(value at path ?? "")`: a `cat` ending with a `var`.
    Cat(String, String),
    /// `$flagd.timestamp`: the evaluation time in whole seconds.
    Time,
    /// Evaluation throws: flagd answers the caller's default (`GENERAL`).
    Error,
    /// A `fractional` split of the contexts that have its unit.
    Split(Box<super::fractional::Split>),
}

/// Disjoint `(clause, value)` pairs; contexts in none of them (lists and objects where
/// scalars are expected) are not described.
pub(super) type Part = Vec<(Value, V)>;

/// One value everywhere.
pub(super) fn everywhere(v: V) -> Part {
    vec![(super::super::clauses::always(), v)]
}

impl V {
    /// A JSON literal as a value (`None` for arrays and objects).
    pub(super) fn literal(v: &Value) -> Option<V> {
        Some(match v {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(n.as_f64()?),
            Value::String(s) => V::Str(s.clone()),
            _ => return None,
        })
    }

    /// Whether this is a constant (JSON scalar).
    pub(super) fn is_const(&self) -> bool {
        matches!(self, V::Null | V::Bool(_) | V::Num(_) | V::Str(_))
    }
}

/// JavaScript truthiness of a constant.
pub(super) fn truthy(v: &V) -> bool {
    match v {
        V::Null | V::Error => false,
        V::Bool(b) => *b,
        V::Num(n) => *n != 0.0 && !n.is_nan(),
        V::Str(s) => !s.is_empty(),
        _ => true,
    }
}

/// JavaScript's `+v` for a constant (`NaN` for text that is not a number).
pub(super) fn to_number(v: &V) -> f64 {
    match v {
        V::Null => 0.0,
        V::Bool(b) => f64::from(u8::from(*b)),
        V::Num(n) => *n,
        V::Str(s) => js_number(s).unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// JavaScript's `String(n)` for the numbers flags use.
pub(super) fn number_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n.fract() == 0.0 && n.abs() < 1e21 {
        return format!("{}", n as i128);
    }
    let text = crate::engine::context::number_text(n).unwrap_or_default();
    match text.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => text,
    }
}

/// JavaScript's `String(v)` for a constant.
pub(super) fn to_string(v: &V) -> Option<String> {
    Some(match v {
        V::Null => "null".into(),
        V::Bool(b) => b.to_string(),
        V::Num(n) => number_string(*n),
        V::Str(s) => s.clone(),
        _ => return None,
    })
}

/// The truthiness of the value at `path` as a clause (strings other than "",
/// numbers other than 0, `true`).
pub(super) fn truthy_attr(path: &str) -> Value {
    any([
        all([is_string(path), not(in_values(path, vec![json!("")]))]),
        all([is_number(path), not(in_values(path, vec![json!(0)]))]),
        in_values(path, vec![json!(true)]),
    ])
}

/// The clauses where a partition's value is truthy, falsy (without error), and where
/// it throws.
pub(super) fn truth(part: &Part) -> (Value, Value, Value) {
    let (mut t, mut f, mut e) = (Vec::new(), Vec::new(), Vec::new());
    for (c, v) in part {
        match v {
            V::Error => e.push(c.clone()),
            V::Attr(p) => {
                t.push(all([c.clone(), truthy_attr(p)]));
                f.push(all([c.clone(), not(truthy_attr(p))]));
            }
            // `cat` gives a non-empty string unless both halves are empty (a missing
            // value is written "null").
            V::Cat(prefix, p) if prefix.is_empty() => {
                let empty = in_values(p, vec![json!("")]);
                t.push(all([c.clone(), not(empty.clone())]));
                f.push(all([c.clone(), empty]));
            }
            V::Split(s) => {
                for (bc, bv) in s.explode() {
                    let c = all([c.clone(), bc]);
                    if truthy(&bv) {
                        t.push(c)
                    } else if bv == V::Error {
                        e.push(c)
                    } else {
                        f.push(c)
                    }
                }
            }
            v if truthy(v) => t.push(c.clone()),
            _ => f.push(c.clone()),
        }
    }
    (any(t), any(f), any(e))
}

/// `part` with entries of equal value merged and empty ones dropped.
pub(super) fn merge(part: Part) -> Part {
    let mut out: Part = Vec::new();
    for (c, v) in part {
        if is_never(&c) {
            continue;
        }
        match out.iter_mut().find(|(_, w)| *w == v) {
            Some((oc, _)) => *oc = any([oc.clone(), c]),
            None => out.push((c, v)),
        }
    }
    out
}

/// Each entry of `part` refined by `f`, which describes its value over the context.
pub(super) fn flat_map(part: Part, mut f: impl FnMut(V) -> Part) -> Part {
    let mut out = Vec::new();
    for (c, v) in part {
        for (c2, v2) in f(v) {
            out.push((all([c.clone(), c2]), v2));
        }
    }
    merge(out)
}

/// A test whose values are strings only matches strings; a test on numbers made exact
/// for JSON numbers only.
pub(super) fn number_is(path: &str, n: f64) -> Value {
    all([is_number(path), test(path, "in", vec![json!(n)])])
}
