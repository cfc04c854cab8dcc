//! Unleash constraints as Vexil clauses, with the Node SDK's exact semantics
//! (`unleash-client` 6, `strategy.js`): list operators trim their values and drop empty
//! ones; `caseInsensitive` applies to the `STR_` operators only; numbers are read with
//! JavaScript's `Number()`; dates compare the current time whatever the field;
//! context versions must be strict SemVer without a `v`.

use super::super::clauses::{all, any, is_string, never, not, number_test, test};
use super::super::{loss, Loss};
use crate::engine::clause::Cidr;
use crate::engine::lenient::{js_number, js_trim};
use crate::engine::time::parse_rfc3339_ms;
use serde_json::{json, Value};

/// The context field Unleash reads, as a Vexil attribute path (`userId` is the
/// targeting key; properties are read flat, as Unleash reads them).
pub(super) fn attr(context_name: &str) -> String {
    match context_name {
        "userId" => "targetingKey".into(),
        other => other.to_string(),
    }
}

/// JavaScript's `String(v)` for a JSON scalar (`None` for null and containers).
pub(super) fn js_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => crate::engine::context::number_text(n.as_f64()?),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `cleanValues`: values that are truthy, trimmed.
fn clean_values(c: &Value) -> Vec<String> {
    c["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| match v {
            Value::String(s) => !s.is_empty(),
            Value::Null | Value::Bool(false) => false,
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        })
        .filter_map(js_string)
        .map(|s| js_trim(&s).to_string())
        .collect()
}

/// JavaScript's `new Date(text)` for the forms a constraint value takes: RFC 3339 and
/// date-only ISO (UTC midnight). `None` for forms whose meaning depends on the SDK's
/// time zone or that this import cannot read.
fn js_date(text: &str) -> Option<i64> {
    parse_rfc3339_ms(text).or_else(|| {
        let b = text.as_bytes();
        let date_only = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
        date_only
            .then(|| parse_rfc3339_ms(&format!("{text}T00:00:00Z")))
            .flatten()
    })
}

/// A version as the `semver` package's strict parse reads a constraint value: trimmed,
/// one optional leading `v`.
fn semver_value(text: &str) -> Option<semver::Version> {
    let t = js_trim(text);
    semver::Version::parse(t.strip_prefix('v').unwrap_or(t)).ok()
}

/// One constraint as a clause; `inverted` applied.
pub(super) fn constraint(c: &Value, flag: &str, lossy: &mut Vec<Loss>) -> Value {
    let name = c["contextName"].as_str().unwrap_or_default();
    let path = attr(name);
    let op = c["operator"].as_str().unwrap_or_default();
    let insensitive = c["caseInsensitive"].as_bool() == Some(true);
    let value = &c["value"];
    let clause = match op {
        "IN" | "NOT_IN" => {
            let values = clean_values(c);
            let isin = if values.is_empty() {
                never()
            } else {
                test(&path, "in", values.into_iter().map(Value::from).collect())
            };
            if op == "IN" {
                isin
            } else {
                not(isin)
            }
        }
        "STR_CONTAINS" | "STR_STARTS_WITH" | "STR_ENDS_WITH" => {
            let mut values = clean_values(c);
            if values.is_empty() {
                never()
            } else {
                let vexil = match op {
                    "STR_CONTAINS" => "contains",
                    "STR_STARTS_WITH" => "starts_with",
                    _ => "ends_with",
                };
                if insensitive {
                    values = values.iter().map(|v| v.to_lowercase()).collect();
                }
                let mut t = test(&path, vexil, values.into_iter().map(Value::from).collect());
                if insensitive {
                    t["ignore_case"] = json!(true);
                }
                // `contains` also tests list membership; Unleash reads text only.
                all([is_string(&path), t])
            }
        }
        "NUM_EQ" | "NUM_GT" | "NUM_GTE" | "NUM_LT" | "NUM_LTE" => {
            let k = match value {
                Value::Number(n) => n.as_f64(),
                v => js_string(v).as_deref().and_then(js_number),
            };
            match k {
                None => never(),
                Some(k) => {
                    let vexil = match op {
                        "NUM_EQ" => "eq",
                        "NUM_GT" => "gt",
                        "NUM_GTE" => "gte",
                        "NUM_LT" => "lt",
                        _ => "lte",
                    };
                    number_test(&path, vexil, k, true)
                }
            }
        }
        "DATE_AFTER" | "DATE_BEFORE" => {
            // Unleash compares the current time, whatever the constraint's field.
            match value.as_str().and_then(js_date) {
                Some(ms) => test(
                    "$now",
                    if op == "DATE_AFTER" {
                        "after"
                    } else {
                        "before"
                    },
                    vec![json!(ms)],
                ),
                None => {
                    loss(lossy, flag, format!("{op} {value}: not an ISO 8601 time with a zone (or a date) this import can read; the constraint never matches"));
                    never()
                }
            }
        }
        "SEMVER_EQ" | "SEMVER_GT" | "SEMVER_GTE" | "SEMVER_LT" | "SEMVER_LTE" => {
            match value.as_str().and_then(semver_value) {
                // An invalid constraint version makes Unleash's comparison throw: false.
                None => never(),
                Some(v) => {
                    let vexil = match op {
                        "SEMVER_EQ" => "semver_eq",
                        "SEMVER_GT" => "semver_gt",
                        "SEMVER_GTE" => "semver_gte",
                        "SEMVER_LT" => "semver_lt",
                        _ => "semver_lte",
                    };
                    test(&path, vexil, vec![json!(v.to_string())])
                }
            }
        }
        "REGEX" => {
            let pattern = value.as_str().unwrap_or_default();
            match crate::engine::dfa_build::build(pattern, insensitive) {
                Ok(_) => {
                    let mut t = test(&path, "matches", vec![json!(pattern)]);
                    if insensitive {
                        t["ignore_case"] = json!(true);
                    }
                    t
                }
                Err(_) => {
                    loss(lossy, flag, format!("regex {pattern:?} on `{name}` is not one Vexil runs (look-around, backreferences, Unicode classes, or too complex); the constraint never matches"));
                    never()
                }
            }
        }
        "IN_CIDR" => {
            // Unleash skips values that are not addresses or ranges; so does the import.
            let ranges: Vec<Value> = clean_values(c)
                .into_iter()
                .filter(|v| Cidr::parse(v).is_some())
                .map(Value::from)
                .collect();
            if ranges.is_empty() {
                never()
            } else {
                test(&path, "in_cidr", ranges)
            }
        }
        other => {
            // Unleash answers false for an operator it does not know, inverted or not.
            loss(lossy, flag, format!("constraint operator {other:?} on `{name}` has no Vexil equivalent; it never matches (as in the Node SDK)"));
            return never();
        }
    };
    if c["inverted"].as_bool() == Some(true) {
        not(clause)
    } else {
        clause
    }
}

/// Splits a list parameter as Unleash does (`split(/\s*,\s*/)`): white space around
/// commas goes, white space at either end stays.
pub(super) fn split_list(text: &str) -> Vec<String> {
    let pieces: Vec<&str> = text.split(',').collect();
    let n = pieces.len();
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let p = if i > 0 {
                p.trim_start_matches(js_space)
            } else {
                p
            };
            let p = if i + 1 < n {
                p.trim_end_matches(js_space)
            } else {
                p
            };
            p.to_string()
        })
        .collect()
}

fn js_space(c: char) -> bool {
    let mut buf = [0u8; 4];
    js_trim(c.encode_utf8(&mut buf)).is_empty()
}

/// The `remoteAddress` strategy's test: the exact text of any listed entry, or an IPv4
/// address inside an IPv4 entry (Unleash checks ranges with `Address4` only).
pub(super) fn remote_address(ips: &[String]) -> Value {
    let exact = test(
        "remoteAddress",
        "in",
        ips.iter().map(|s| json!(s)).collect(),
    );
    let v4: Vec<Value> = ips
        .iter()
        .filter(|ip| !ip.contains(':') && Cidr::parse(ip).is_some())
        .map(|s| json!(s))
        .collect();
    if v4.is_empty() {
        return exact;
    }
    let inside = all([
        test("remoteAddress", "in_cidr", v4),
        // Address4 refuses IPv6 text, even IPv4-mapped.
        not(test("remoteAddress", "contains", vec![json!(":")])),
    ]);
    any([exact, inside])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `text.split(/\s*,\s*/)` gives in JavaScript.
    #[test]
    fn lists_split_as_unleash_splits_them() {
        assert_eq!(split_list("u1,u7"), ["u1", "u7"]);
        assert_eq!(split_list("u9, u12 , user-5"), ["u9", "u12", "user-5"]);
        assert_eq!(split_list(" u1,u7 "), [" u1", "u7 "]);
        assert_eq!(split_list("a,,b"), ["a", "", "b"]);
        assert_eq!(split_list("a, ,b"), ["a", "", "b"]);
    }

    #[test]
    fn constraint_values_read_as_unleash_reads_them() {
        let mut lossy = Vec::new();
        let c = constraint(
            &json!({ "contextName": "country", "operator": "IN", "values": [" DE ", "", "  "], "caseInsensitive": true }),
            "f",
            &mut lossy,
        );
        // Trimmed, empties dropped, whitespace-only kept as "", and no ignore_case.
        assert_eq!(c, test("country", "in", vec![json!("DE"), json!("")]));
        let c = constraint(
            &json!({ "contextName": "signup", "operator": "DATE_AFTER", "value": "2026-01-01" }),
            "f",
            &mut lossy,
        );
        assert_eq!(c["attr"], "$now");
        assert!(lossy.is_empty());
    }
}
