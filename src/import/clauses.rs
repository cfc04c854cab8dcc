//! Building Vexil clauses (as JSON) for the importers, with the simplifications that
//! keep translations readable: `all` of one clause is that clause, `true` and `false`
//! fold away.

use serde_json::{json, Value};

/// The clause that always holds.
pub fn always() -> Value {
    json!({ "all": [] })
}

/// The clause that never holds.
pub fn never() -> Value {
    json!({ "any": [] })
}

/// Whether `c` is [`always`].
pub fn is_always(c: &Value) -> bool {
    c.get("all")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
        && c.as_object().is_some_and(|m| m.len() == 1)
}

/// Whether `c` is [`never`].
pub fn is_never(c: &Value) -> bool {
    c.get("any")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
        && c.as_object().is_some_and(|m| m.len() == 1)
}

/// All of `clauses` (nested `all`s flattened).
pub fn all(clauses: impl IntoIterator<Item = Value>) -> Value {
    let mut out = Vec::new();
    for c in clauses {
        if is_never(&c) {
            return never();
        }
        if is_always(&c) {
            continue;
        }
        match c {
            Value::Object(ref m) if m.len() == 1 && m.contains_key("all") => {
                out.extend(m["all"].as_array().cloned().unwrap_or_default())
            }
            c => out.push(c),
        }
    }
    if out.len() == 1 {
        return out.pop().unwrap_or_else(always);
    }
    json!({ "all": out })
}

/// Any of `clauses` (nested `any`s flattened).
pub fn any(clauses: impl IntoIterator<Item = Value>) -> Value {
    let mut out = Vec::new();
    for c in clauses {
        if is_always(&c) {
            return always();
        }
        if is_never(&c) {
            continue;
        }
        match c {
            Value::Object(ref m) if m.len() == 1 && m.contains_key("any") => {
                out.extend(m["any"].as_array().cloned().unwrap_or_default())
            }
            c => out.push(c),
        }
    }
    if out.len() == 1 {
        return out.pop().unwrap_or_else(never);
    }
    json!({ "any": out })
}

/// The negation of `c`.
pub fn not(c: Value) -> Value {
    if is_always(&c) {
        return never();
    }
    if is_never(&c) {
        return always();
    }
    match c {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("not") => {
            m.remove("not").unwrap_or_else(never)
        }
        c => json!({ "not": c }),
    }
}

/// An attribute test.
pub fn test(path: &str, op: &str, values: Vec<Value>) -> Value {
    json!({ "attr": path, "op": op, "values": values })
}

/// `path` equals one of `values` (as the `in` operator compares).
pub fn in_values(path: &str, values: Vec<Value>) -> Value {
    test(path, "in", values)
}

/// `path` is present (not null).
pub fn exists(path: &str) -> Value {
    json!({ "attr": path, "op": "exists" })
}

/// `path` holds a string (any string: every string starts with "").
pub fn is_string(path: &str) -> Value {
    test(path, "starts_with", vec![json!("")])
}

/// `path` holds a JSON number (not a numeric string).
pub fn is_number(path: &str) -> Value {
    all([
        any([
            test(path, "lt", vec![json!(0)]),
            test(path, "gte", vec![json!(0)]),
        ]),
        not(is_string(path)),
    ])
}

/// `path` holds `true` or `false`.
pub fn is_bool(path: &str) -> Value {
    test(path, "in", vec![json!(true), json!(false)])
}

/// A numeric comparison `path <op> k` for a double `k`, infinities included (JSON has
/// no infinity: `x < ∞` is `x ≤ MAX`, `x ≥ ∞` is `x > MAX`). `lenient` reads text as
/// JavaScript's `Number()`. `op` is `lt`, `lte`, `gt`, `gte` or `eq`.
pub fn number_test(path: &str, op: &str, k: f64, lenient: bool) -> Value {
    let t = |op: &str, v: f64| {
        let mut c = test(path, op, vec![json!(v)]);
        if lenient {
            c["lenient"] = json!(true);
        }
        c
    };
    let max = f64::MAX;
    if k.is_nan() {
        return never();
    }
    if k == f64::INFINITY {
        return match op {
            "lt" => t("lte", max),
            "lte" => any([t("lte", max), t("gt", max)]),
            "gt" => never(),
            _ => t("gt", max),
        };
    }
    if k == f64::NEG_INFINITY {
        return match op {
            "gt" => t("gte", -max),
            "gte" => any([t("gte", -max), t("lt", -max)]),
            "lt" => never(),
            _ => t("lt", -max),
        };
    }
    match op {
        "eq" => all([t("gte", k), t("lte", k)]),
        op => t(op, k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplifications() {
        let a = exists("a");
        assert_eq!(all([always(), a.clone()]), a);
        assert_eq!(all([a.clone(), never()]), never());
        assert_eq!(any([never(), a.clone()]), a);
        assert_eq!(any([a.clone(), always()]), always());
        assert_eq!(not(not(a.clone())), a);
        assert_eq!(
            all([all([a.clone(), exists("b")]), exists("c")])["all"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert!(is_always(&all([])) && is_never(&any([])));
    }
}
