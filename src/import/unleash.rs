//! Unleash → Vexil. Input: the client features API (`GET /api/client/features`):
//! `{features: [...], segments: [...]}`.
//!
//! Unleash enables a feature when any of its strategies does; Vexil serves the first
//! rule that matches. Each strategy becomes a rule serving `on` (its constraints and
//! segments as the condition); a partial rollout becomes a rollout with Unleash's own
//! hashing (`"bucketing": "unleash"`), and feature variants a rollout with
//! `"unleash_variants"`, so every user keeps what Unleash gave them.

use super::{loss, ImportError, Imported, Loss};
use crate::engine::clause::Cidr;
use serde_json::{json, Map, Value};

/// The context field Unleash reads, as a Vexil attribute path.
fn attr(context_name: &str) -> String {
    match context_name {
        "userId" => "targetingKey".into(),
        "currentTime" => "$now".into(),
        other => other
            .strip_prefix("properties.")
            .unwrap_or(other)
            .to_string(),
    }
}

fn strings(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// One constraint as a clause.
fn constraint(c: &Value, flag: &str, lossy: &mut Vec<Loss>) -> Value {
    let name = c["contextName"].as_str().unwrap_or_default();
    let path = attr(name);
    let values: Vec<Value> = match c.get("value") {
        Some(v) if !v.is_null() => vec![v.clone()],
        _ => strings(&c["values"]),
    };
    let numbers = || -> Vec<Value> {
        values
            .iter()
            .map(|v| match v {
                Value::String(s) => s
                    .trim()
                    .parse::<f64>()
                    .map(|n| json!(n))
                    .unwrap_or(Value::String(s.clone())),
                other => other.clone(),
            })
            .collect()
    };
    let op = c["operator"].as_str().unwrap_or("IN");
    let (vexil_op, vals) = match op {
        "IN" => ("in", values.clone()),
        "NOT_IN" => ("not_in", values.clone()),
        "STR_CONTAINS" => ("contains", values.clone()),
        "STR_STARTS_WITH" => ("starts_with", values.clone()),
        "STR_ENDS_WITH" => ("ends_with", values.clone()),
        "NUM_EQ" => ("eq", numbers()),
        "NUM_GT" => ("gt", numbers()),
        "NUM_GTE" => ("gte", numbers()),
        "NUM_LT" => ("lt", numbers()),
        "NUM_LTE" => ("lte", numbers()),
        "DATE_AFTER" => ("after", values.clone()),
        "DATE_BEFORE" => ("before", values.clone()),
        "SEMVER_EQ" => ("semver_eq", values.clone()),
        "SEMVER_GT" => ("semver_gt", values.clone()),
        "SEMVER_LT" => ("semver_lt", values.clone()),
        "SEMVER_GTE" => ("semver_gte", values.clone()),
        "SEMVER_LTE" => ("semver_lte", values.clone()),
        "REGEX" => ("matches", values.clone()),
        // Unleash skips values that are not addresses or ranges; so does the import.
        "IN_CIDR" => (
            "in_cidr",
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|v| Cidr::parse(v).is_some())
                .map(|v| json!(v))
                .collect(),
        ),
        other => {
            loss(lossy, flag, format!("constraint operator {other} on `{name}` has no Vexil equivalent; it never matches"));
            return never(&path);
        }
    };
    if vals.is_empty() {
        // Unleash: IN of nothing never matches, NOT_IN of nothing always does.
        let never = never(&path);
        let matches_all = (vexil_op == "not_in") != (c["inverted"].as_bool() == Some(true));
        return if matches_all {
            json!({ "not": never })
        } else {
            never
        };
    }
    if vexil_op.starts_with("semver")
        && vals.iter().any(|v| {
            v.as_str()
                .is_none_or(|t| semver::Version::parse(t).is_err())
        })
    {
        loss(lossy, flag, format!("`{name}` {op} {vals:?}: not a strict SemVer version; the constraint never matches (as in Unleash)"));
        return never(&path);
    }
    let mut vals = vals;
    if vexil_op == "matches" {
        let insensitive = c["caseInsensitive"].as_bool() == Some(true);
        for v in &mut vals {
            let pattern = v.as_str().unwrap_or_default();
            let pattern = if insensitive {
                format!("(?i){pattern}")
            } else {
                pattern.to_string()
            };
            if regex_lite::Regex::new(&pattern).is_err() {
                loss(lossy, flag, format!("regex {pattern:?} uses syntax Vexil does not support (look-around, backreferences); the constraint never matches"));
                return never(&path);
            }
            *v = json!(pattern);
        }
    }
    let mut clause = json!({ "attr": path, "op": vexil_op, "values": vals });
    if c["caseInsensitive"].as_bool() == Some(true)
        && matches!(
            vexil_op,
            "in" | "not_in" | "contains" | "starts_with" | "ends_with"
        )
    {
        clause["ignore_case"] = json!(true);
    }
    if c["inverted"].as_bool() == Some(true) {
        clause = json!({ "not": clause });
    }
    clause
}

fn all(clauses: Vec<Value>) -> Value {
    if clauses.len() == 1 {
        clauses.into_iter().next().unwrap_or_default()
    } else {
        json!({ "all": clauses })
    }
}

/// A clause that never holds (for conditions that cannot be translated).
pub(super) fn never(path: &str) -> Value {
    json!({ "all": [ { "attr": path, "op": "exists" }, { "not": { "attr": path, "op": "exists" } } ] })
}

/// Where Unleash finds a rollout's unit, as a Vexil `by`. Its `default` stickiness
/// tries the user id, then the session id (then, for variants, the remote address),
/// then a random number, which has no deterministic equivalent.
fn stickiness(s: Option<&str>, for_variants: bool) -> Value {
    match s {
        None | Some("default") if for_variants => {
            json!(["targetingKey", "sessionId", "remoteAddress"])
        }
        None | Some("default") => json!(["targetingKey", "sessionId"]),
        Some("userId") | Some("random") => json!("targetingKey"),
        Some(other) => json!(other),
    }
}

/// Translates an Unleash client features document.
pub fn translate(input: &Value) -> Result<Imported, ImportError> {
    let features = input["features"].as_array().ok_or_else(|| {
        ImportError::Format("not an Unleash client features document: no `features` list".into())
    })?;
    let mut out = Imported::default();
    let mut segments = Map::new();
    for s in input["segments"].as_array().into_iter().flatten() {
        let id = s["id"].to_string();
        let name = format!("unleash-segment-{id}");
        let clauses = s["constraints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| constraint(c, &name, &mut out.lossy))
            .collect();
        segments.insert(name, all(clauses));
    }
    let mut flags = Vec::new();
    for f in features {
        let key = f["name"].as_str().unwrap_or_default().to_string();
        if key.is_empty() {
            return Err(ImportError::Format("a feature has no `name`".into()));
        }
        flags.push(feature(f, &key, &segments, &mut out.lossy));
    }
    resolve_dependencies(&mut flags, &mut out.lossy);
    out.document.insert("flags".into(), Value::Array(flags));
    out.document
        .insert("segments".into(), Value::Object(segments));
    Ok(out)
}

fn feature(f: &Value, key: &str, segments: &Map<String, Value>, lossy: &mut Vec<Loss>) -> Value {
    let kind = match f["type"].as_str() {
        Some("experiment") => "experiment",
        Some("operational") => "ops",
        Some("kill-switch") => "kill_switch",
        Some("permission") => "permission",
        _ => "release",
    };
    let variants_def = f["variants"].as_array().cloned().unwrap_or_default();
    let weighted: Vec<&Value> = variants_def
        .iter()
        .filter(|v| v["weight"].as_u64().unwrap_or(0) > 0)
        .collect();
    // A feature with variants evaluates to the variant name (as OpenFeature string
    // flags do with Unleash's provider); `disabled` is what Unleash answers when off.
    let (variants, on_serve) = if weighted.is_empty() {
        (
            json!({ "on": true, "off": false }),
            json!({ "variant": "on" }),
        )
    } else {
        let mut v = Map::new();
        let mut weights = Map::new();
        let total: u64 = weighted
            .iter()
            .map(|w| w["weight"].as_u64().unwrap_or(0))
            .sum();
        for w in &weighted {
            let name = w["name"].as_str().unwrap_or_default();
            v.insert(name.to_string(), json!(name));
            let share = w["weight"].as_u64().unwrap_or(0) as f64 * 100.0 / total as f64;
            weights.insert(name.to_string(), json!((share * 10.0).round() / 10.0));
        }
        if total != 1000 {
            loss(lossy, key, format!("variant weights sum to {total}, not 1000; shares are kept but units may change variant"));
        }
        if variants_def
            .iter()
            .any(|v| v["overrides"].as_array().is_some_and(|o| !o.is_empty()))
        {
            loss(lossy, key, "variant overrides are not translated");
        }
        v.insert("disabled".into(), json!("disabled"));
        let by = stickiness(variants_def[0]["stickiness"].as_str(), true);
        (
            Value::Object(v),
            json!({ "rollout": { "by": by, "salt": key, "bucketing": "unleash_variants", "weights": weights } }),
        )
    };
    let off = if weighted.is_empty() {
        "off"
    } else {
        "disabled"
    };
    let mut rules = Vec::new();
    let strategies = f["strategies"].as_array().cloned().unwrap_or_default();
    // Unleash enables a feature that has no strategies at all.
    let mut fallthrough = if strategies.is_empty() {
        on_serve.clone()
    } else {
        json!({ "variant": off })
    };
    for (i, s) in strategies.iter().enumerate() {
        let id = format!("strategy-{}", i + 1);
        let mut when: Vec<Value> = s["constraints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| constraint(c, key, lossy))
            .collect();
        for seg in s["segments"].as_array().into_iter().flatten() {
            let name = format!("unleash-segment-{seg}");
            if !segments.contains_key(&name) {
                loss(
                    lossy,
                    key,
                    format!("segment {seg} is not in the document; the strategy never matches"),
                );
                when.push(never("targetingKey"));
            } else {
                when.push(json!({ "segment": name }));
            }
        }
        if s["variants"].as_array().is_some_and(|v| !v.is_empty()) {
            loss(
                lossy,
                key,
                format!("{id}: strategy variants are not translated; the feature's variants apply"),
            );
        }
        let p = &s["parameters"];
        let percentage = |name: &str| {
            p[name]
                .as_str()
                .and_then(|t| t.parse::<u64>().ok())
                .or(p[name].as_u64())
        };
        let serve = match s["name"].as_str().unwrap_or_default() {
            "default" => on_serve.clone(),
            "userWithId" => {
                let ids: Vec<Value> = p["userIds"]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| json!(s.trim()))
                    .filter(|v| v != &json!(""))
                    .collect();
                when.push(json!({ "attr": "targetingKey", "op": "in", "values": ids }));
                on_serve.clone()
            }
            "remoteAddress" => {
                let ips: Vec<&str> = p["IPs"]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                if ips.is_empty() {
                    continue;
                }
                // Unleash matches the exact text, or an IPv4 address inside an IPv4 range.
                let exact = json!({ "attr": "remoteAddress", "op": "in", "values": ips });
                let ranges: Vec<&str> = ips
                    .iter()
                    .copied()
                    .filter(|ip| ip.contains('/') && !ip.contains(':') && Cidr::parse(ip).is_some())
                    .collect();
                when.push(if ranges.is_empty() {
                    exact
                } else {
                    json!({ "any": [exact, { "attr": "remoteAddress", "op": "in_cidr", "values": ranges }] })
                });
                on_serve.clone()
            }
            name @ ("flexibleRollout"
            | "gradualRolloutUserId"
            | "gradualRolloutSessionId"
            | "gradualRolloutRandom") => {
                let pct = percentage(if name == "flexibleRollout" {
                    "rollout"
                } else {
                    "percentage"
                })
                .unwrap_or(0)
                .min(100);
                let by = match name {
                    "gradualRolloutSessionId" => json!("sessionId"),
                    "flexibleRollout" => stickiness(p["stickiness"].as_str(), false),
                    _ => json!("targetingKey"),
                };
                if name == "gradualRolloutRandom" || p["stickiness"].as_str() == Some("random") {
                    loss(
                        lossy,
                        key,
                        format!("{id}: random stickiness becomes stickiness on the unit id"),
                    );
                }
                let group = p["groupId"].as_str().unwrap_or(key);
                // Unleash needs the stickiness field unless it falls back to random.
                let needs_unit = matches!(name, "gradualRolloutUserId" | "gradualRolloutSessionId")
                    || !matches!(
                        p["stickiness"].as_str(),
                        None | Some("default") | Some("random")
                    );
                match pct {
                    0 => continue,
                    100 if needs_unit && weighted.is_empty() => {
                        json!({ "rollout": { "by": by, "salt": group, "bucketing": "unleash", "weights": { "on": 100, "off": 0 } } })
                    }
                    100 => on_serve.clone(),
                    _ if !weighted.is_empty() => {
                        loss(lossy, key, format!("{id}: a partial rollout of a feature with variants is served to everyone matching"));
                        on_serve.clone()
                    }
                    _ => {
                        if i + 1 < strategies.len() {
                            loss(lossy, key, format!("{id}: units outside this {pct}% rollout are not checked against later strategies"));
                        }
                        json!({ "rollout": { "by": by, "salt": group, "bucketing": "unleash", "weights": { "on": pct, "off": 100 - pct } } })
                    }
                }
            }
            other => {
                loss(
                    lossy,
                    key,
                    format!("{id}: strategy `{other}` has no Vexil equivalent and is left out"),
                );
                continue;
            }
        };
        if when.is_empty() {
            // Nothing to check: it serves whoever got this far; later strategies are moot.
            fallthrough = serve;
            break;
        }
        rules.push(json!({ "id": id, "when": all(when), "serve": serve }));
    }
    let mut flag = json!({
        "key": key,
        "kind": kind,
        "enabled": f["enabled"].as_bool().unwrap_or(false),
        "variants": variants,
        "off_variant": off,
        "rules": rules,
        "fallthrough": fallthrough,
    });
    if let Some(d) = f["description"].as_str() {
        flag["description"] = json!(d);
    }
    if f["stale"].as_bool() == Some(true) {
        flag["tags"] = json!(["stale"]);
    }
    // Dependencies are resolved once every flag is known (see resolve_dependencies).
    if let Some(deps) = f["dependencies"].as_array().filter(|d| !d.is_empty()) {
        flag["unleash_dependencies"] = Value::Array(deps.clone());
    }
    flag
}

/// Turns Unleash dependencies into prerequisites naming the parents' own variants.
fn resolve_dependencies(flags: &mut [Value], lossy: &mut Vec<Loss>) {
    let info: std::collections::HashMap<String, (Vec<String>, String, bool)> = flags
        .iter()
        .map(|f| {
            let names = f["variants"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let off = f["off_variant"].as_str().unwrap_or("off").to_string();
            let has_parents = f.get("unleash_dependencies").is_some();
            (
                f["key"].as_str().unwrap_or_default().to_string(),
                (names, off, has_parents),
            )
        })
        .collect();
    for flag in flags.iter_mut() {
        let Some(deps) = flag
            .as_object_mut()
            .and_then(|m| m.remove("unleash_dependencies"))
        else {
            continue;
        };
        let key = flag["key"].as_str().unwrap_or_default().to_string();
        let mut prereqs = Vec::new();
        for d in deps.as_array().into_iter().flatten() {
            let parent = d["feature"].as_str().unwrap_or_default();
            let Some((names, off, transitive)) = info.get(parent) else {
                // Unleash: a missing parent leaves the child disabled.
                flag["enabled"] = json!(false);
                continue;
            };
            if *transitive {
                // Unleash does not follow dependencies transitively: the child is off.
                loss(lossy, &key, format!("depends on `{parent}`, which has dependencies of its own; imported disabled, as Unleash evaluates it"));
                flag["enabled"] = json!(false);
                continue;
            }
            let wanted: Vec<Value> = match (
                d["enabled"].as_bool().unwrap_or(true),
                d["variants"].as_array(),
            ) {
                (false, _) => vec![json!(off)],
                (true, Some(v)) if !v.is_empty() => {
                    // A parent without variants answers Unleash's `disabled` variant when on.
                    let boolean = names.len() == 2 && names.iter().any(|n| n == "on");
                    let kept: Vec<Value> = v
                        .iter()
                        .filter_map(|n| n.as_str())
                        .filter_map(|n| {
                            if boolean && n == "disabled" {
                                Some("on")
                            } else {
                                names.iter().any(|x| x == n).then_some(n)
                            }
                        })
                        .map(|n| json!(n))
                        .collect();
                    if kept.is_empty() {
                        loss(lossy, &key, format!("depends on variants {v:?} of `{parent}`, which has none of them; the child stays off"));
                        flag["enabled"] = json!(false);
                        continue;
                    }
                    kept
                }
                (true, _) => names
                    .iter()
                    .filter(|n| *n != off)
                    .map(|n| json!(n))
                    .collect(),
            };
            prereqs.push(json!({ "flag": parent, "variants": wanted }));
        }
        if !prereqs.is_empty() {
            flag["prerequisites"] = Value::Array(prereqs);
        }
    }
    // Unleash evaluates a feature in a dependency cycle as disabled.
    let parents: std::collections::HashMap<String, Vec<String>> = flags
        .iter()
        .map(|f| {
            let ps = f["prerequisites"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["flag"].as_str().map(str::to_string))
                .collect();
            (f["key"].as_str().unwrap_or_default().to_string(), ps)
        })
        .collect();
    let in_cycle = |start: &str| {
        let mut stack = parents.get(start).cloned().unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        while let Some(k) = stack.pop() {
            if k == start {
                return true;
            }
            if seen.insert(k.clone()) {
                stack.extend(parents.get(&k).cloned().unwrap_or_default());
            }
        }
        false
    };
    let cyclic: Vec<String> = parents.keys().filter(|k| in_cycle(k)).cloned().collect();
    for flag in flags.iter_mut() {
        let key = flag["key"].as_str().unwrap_or_default().to_string();
        if cyclic.contains(&key) {
            if let Some(m) = flag.as_object_mut() {
                m.remove("prerequisites");
            }
            flag["enabled"] = json!(false);
            loss(
                lossy,
                &key,
                "its dependencies form a cycle; it is imported disabled, as Unleash evaluates it",
            );
        }
    }
}
