//! Unleash variants (a feature's or a strategy's) as Vexil rules: overrides first,
//! then the weighted split hashed as Unleash selects (`unleash_variants` bucketing),
//! then a stand-in for the visitors Unleash has no stickiness value for (it picks at
//! random, anew on every call; the first variant stands in).

use super::super::clauses::{all, any, exists, is_never, never, not, test};
use super::super::{loss, Loss};
use super::constraint::{attr, js_string};
use serde_json::{json, Map, Value};

/// One set of variants, ready to serve.
pub(super) struct Split {
    /// `(condition, variant)` rules that come before the split.
    pub overrides: Vec<(Value, String)>,
    /// The weighted split (a rollout serve).
    pub serve: Value,
    /// Holds when the context has a stickiness value; without one, `stand_in` serves.
    pub has_unit: Value,
    /// The variant that stands in for Unleash's random pick.
    pub stand_in: String,
}

/// Where Unleash finds a variant's stickiness value, as a Vexil `by`: `default` tries
/// the user id, the session id, then the remote address.
fn stickiness(s: Option<&str>) -> Value {
    match s {
        None | Some("default") => json!(["targetingKey", "sessionId", "remoteAddress"]),
        Some(other) => json!(attr(other)),
    }
}

/// Non-empty text in one of the `by` attributes (what Unleash accepts as a seed).
fn has_unit(by: &Value) -> Value {
    let paths: Vec<&str> = match by {
        Value::String(p) => vec![p.as_str()],
        Value::Array(ps) => ps.iter().filter_map(Value::as_str).collect(),
        _ => vec!["targetingKey"],
    };
    any(paths
        .iter()
        .map(|p| all([exists(p), not(test(p, "in", vec![json!("")]))])))
}

/// The variants of `defs` as a split; `None` when Unleash would not select one
/// (no variants, or weights that sum to nothing). `salt` is what Unleash hashes
/// before the unit (the feature name, or a strategy's `groupId` as text);
/// `fallback_stickiness` a strategy's own stickiness. Adds the variant names (and
/// payloads, into `payloads`) to the flag.
pub(super) fn split(
    defs: &Value,
    salt: &str,
    fallback_stickiness: Option<&str>,
    key: &str,
    variants: &mut Map<String, Value>,
    payloads: &mut Map<String, Value>,
    lossy: &mut Vec<Loss>,
) -> Option<Split> {
    let defs: Vec<&Value> = defs.as_array()?.iter().collect();
    let weight = |v: &Value| v["weight"].as_u64().unwrap_or(0);
    let total: u64 = defs.iter().map(|v| weight(v)).sum();
    if defs.is_empty() || total == 0 {
        return None;
    }
    for v in &defs {
        let name = v["name"].as_str().unwrap_or_default();
        if matches!(name, "enabled" | "disabled") {
            loss(lossy, key, format!("variant `{name}` has the name the import gives a feature's on/off state; the two cannot be told apart"));
        }
        variants.insert(name.to_string(), json!(name));
        if let Some(p) = v.get("payload").filter(|p| !p.is_null()) {
            payloads.insert(name.to_string(), p.clone());
        }
    }
    if total > 100_000 {
        loss(lossy, key, format!("variant weights sum to {total}: Unleash hashes into their total, finer than Vexil's bucket space (100 000); shares are kept but some units change variant"));
    }
    // Overrides: the first variant (in order) with an override matching the context.
    let overrides = defs
        .iter()
        .filter_map(|v| {
            let matches: Vec<Value> = v["overrides"]
                .as_array()?
                .iter()
                .map(|o| {
                    let values: Vec<Value> = o["values"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(js_string)
                        .map(Value::from)
                        .collect();
                    let path = attr(o["contextName"].as_str().unwrap_or_default());
                    if values.is_empty() {
                        never()
                    } else {
                        test(&path, "in", values)
                    }
                })
                .collect();
            Some((
                any(matches),
                v["name"].as_str().unwrap_or_default().to_string(),
            ))
        })
        .filter(|(c, _)| !is_never(c))
        .collect();
    let weighted: Vec<&&Value> = defs.iter().filter(|v| weight(v) > 0).collect();
    let weights = cuts(
        &weighted.iter().map(|v| weight(v)).collect::<Vec<_>>(),
        total,
    )
    .into_iter()
    .zip(&weighted)
    .map(|(w, v)| (v["name"].as_str().unwrap_or_default().to_string(), json!(w)))
    .collect::<Map<String, Value>>();
    let first = defs[0]["stickiness"].as_str().filter(|s| !s.is_empty());
    let sticky = first.or(fallback_stickiness);
    if sticky == Some("random") {
        loss(lossy, key, "variants with random stickiness: Unleash picks anew on every call; here the user id (or session, or address) decides, sticky");
    }
    let by = stickiness(sticky.filter(|s| *s != "random"));
    let stand_in = weighted[0]["name"].as_str().unwrap_or_default().to_string();
    Some(Split {
        overrides,
        has_unit: has_unit(&by),
        serve: {
            let mut r = json!({ "by": by, "salt": salt, "bucketing": "unleash_variants", "weights": weights });
            if total != 1000 && total <= 100_000 {
                r["total"] = json!(total);
            }
            json!({ "rollout": r })
        },
        stand_in,
    })
}

/// Percentages (3 decimals) whose cumulative cuts reproduce Unleash's selection:
/// variant `k` takes `hash % total` in `[C(k-1), C(k))`, which lands at or above cut
/// `floor((C - 1) × 100 000 / total) + 1` exactly when it reaches `C` (see the engine's
/// `total`). Weights out of 1000 cut at `C × 100`. Past 100 000 the shares are scaled.
fn cuts(raw: &[u64], total: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(raw.len());
    let (mut c, mut prev) = (0u64, 0u64);
    for &w in raw {
        c += w;
        let cut = if c >= total {
            100_000
        } else if total == 1000 {
            c * 100
        } else if total <= 100_000 {
            (c - 1) * 100_000 / total + 1
        } else {
            c * 100_000 / total
        };
        out.push((cut - prev) as f64 / 1000.0);
        prev = cut;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cuts;

    #[test]
    fn cuts_reproduce_unleash_thresholds() {
        assert_eq!(cuts(&[250, 250, 500], 1000), [25.0, 25.0, 50.0]);
        // Total 99: positions (h % 99) × 100000 / 99; cut for C is floor((C-1)·100000/99)+1.
        assert_eq!(cuts(&[33, 33, 33], 99), [32.324, 33.333, 34.343]);
        assert_eq!(cuts(&[1, 1], 2), [0.001, 99.999]);
    }
}
