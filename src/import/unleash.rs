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
    let strategies = f["strategies"].as_array().cloned().unwrap_or_default();
    let feature_variants = weighted(&f["variants"]);
    let strategy_variants: Vec<Vec<&Value>> = strategies
        .iter()
        .map(|s| weighted(&s["variants"]))
        .collect();
    // A feature with variants (its own or its strategies') evaluates to the variant
    // name (as OpenFeature string flags do with Unleash's provider); `disabled` is
    // what Unleash answers when off.
    let named = !feature_variants.is_empty() || strategy_variants.iter().any(|v| !v.is_empty());
    let mut variants = Map::new();
    let on_serve = if !feature_variants.is_empty() {
        variant_split(
            &feature_variants,
            key,
            &f["variants"],
            None,
            key,
            &mut variants,
            lossy,
        )
    } else if named {
        // Enabled by a strategy without variants: Unleash says enabled, variant
        // `disabled`; here a variant of its own keeps "enabled" visible.
        variants.insert("enabled".into(), json!("enabled"));
        json!({ "variant": "enabled" })
    } else {
        variants.insert("on".into(), json!(true));
        variants.insert("off".into(), json!(false));
        json!({ "variant": "on" })
    };
    let strategy_serves: Vec<Option<Value>> = strategies
        .iter()
        .zip(&strategy_variants)
        .map(|(s, defs)| {
            (!defs.is_empty()).then(|| {
                let p = &s["parameters"];
                let group = p["groupId"].as_str().unwrap_or(key);
                variant_split(
                    defs,
                    group,
                    &s["variants"],
                    p["stickiness"].as_str(),
                    key,
                    &mut variants,
                    lossy,
                )
            })
        })
        .collect();
    if named {
        variants.insert("disabled".into(), json!("disabled"));
    }
    let variants = Value::Object(variants);
    let off = if named { "disabled" } else { "off" };
    let mut rules = Vec::new();
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
        // What this strategy serves when it matches: its own variants, else the feature's.
        let serves_variants = strategy_serves[i].is_some() || !feature_variants.is_empty();
        let on_serve = strategy_serves[i]
            .clone()
            .unwrap_or_else(|| on_serve.clone());
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
                    100 if needs_unit && !serves_variants => {
                        json!({ "rollout": { "by": by, "salt": group, "bucketing": "unleash", "weights": { "on": 100, "off": 0 } } })
                    }
                    100 => on_serve.clone(),
                    _ if serves_variants => {
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
        // Unleash picks a variant at random, anew on every call, for a visitor it has
        // no stickiness value for; the first variant stands in for that pick (one of
        // the answers Unleash gives; a rollout would answer TARGETING_KEY_MISSING),
        // behind a rule for visitors who have one.
        if let Some((with_unit, stand_in)) = without_unit(&serve) {
            let mut gated = when.clone();
            gated.push(with_unit);
            rules.push(json!({ "id": id, "when": all(gated), "serve": serve }));
            let stand_in = json!({ "variant": stand_in });
            if when.is_empty() {
                fallthrough = stand_in;
                break;
            }
            rules.push(
                json!({ "id": format!("{id}-no-unit"), "when": all(when), "serve": stand_in }),
            );
            continue;
        }
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

/// For a serve that splits Unleash variants: a clause that holds when the context has
/// one of the rollout's unit attributes (a non-empty value), and the first variant,
/// which stands in for Unleash's random pick when it has none.
fn without_unit(serve: &Value) -> Option<(Value, String)> {
    let rollout = &serve["rollout"];
    if rollout["bucketing"] != json!("unleash_variants") {
        return None;
    }
    let paths: Vec<&str> = match &rollout["by"] {
        Value::String(p) => vec![p.as_str()],
        Value::Array(ps) => ps.iter().filter_map(Value::as_str).collect(),
        _ => vec!["targetingKey"],
    };
    let present = paths
        .iter()
        .map(|p| {
            json!({ "all": [
            { "attr": p, "op": "exists" },
            { "attr": p, "op": "not_in", "values": [""] },
        ] })
        })
        .collect::<Vec<_>>();
    let first = rollout["weights"].as_object()?.keys().next()?.clone();
    Some((json!({ "any": present }), first))
}

/// The variants of a feature or strategy that can be served (weight above zero).
fn weighted(defs: &Value) -> Vec<&Value> {
    defs.as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["weight"].as_u64().unwrap_or(0) > 0)
        .collect()
}

/// A rollout over Unleash variants, hashed as Unleash selects them (salt: the
/// feature name for feature variants, the strategy's group id for strategy variants;
/// stickiness: the first variant's, else `fallback_stickiness`, a strategy's own);
/// adds the variant names to `variants`.
fn variant_split(
    defs: &[&Value],
    salt: &str,
    all_defs: &Value,
    fallback_stickiness: Option<&str>,
    key: &str,
    variants: &mut Map<String, Value>,
    lossy: &mut Vec<Loss>,
) -> Value {
    let raw: Vec<u64> = defs
        .iter()
        .map(|w| w["weight"].as_u64().unwrap_or(0))
        .collect();
    let total: u64 = raw.iter().sum();
    if total != 1000 {
        loss(lossy, key, format!("variant weights sum to {total}, not 1000; shares are kept but units may change variant"));
    }
    if all_defs
        .as_array()
        .into_iter()
        .flatten()
        .any(|v| v["overrides"].as_array().is_some_and(|o| !o.is_empty()))
    {
        loss(lossy, key, "variant overrides are not translated");
    }
    // Shares in tenths of a percent that sum to exactly 1000 (largest remainder).
    let mut tenths: Vec<u64> = raw.iter().map(|w| w * 1000 / total).collect();
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(raw[i] * 1000 % total));
    let missing = 1000 - tenths.iter().sum::<u64>();
    for &i in order.iter().take(missing as usize) {
        tenths[i] += 1;
    }
    let mut weights = Map::new();
    for (w, t) in defs.iter().zip(tenths) {
        let name = w["name"].as_str().unwrap_or_default();
        variants.insert(name.to_string(), json!(name));
        weights.insert(name.to_string(), json!(t as f64 / 10.0));
    }
    let by = stickiness(defs[0]["stickiness"].as_str().or(fallback_stickiness), true);
    json!({ "rollout": { "by": by, "salt": salt, "bucketing": "unleash_variants", "weights": weights } })
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
                        .filter_map(|n| match n {
                            // Unleash's `disabled` variant of an enabled parent: served
                            // without a variant of its own.
                            "disabled" if boolean => Some("on"),
                            "disabled" => names.iter().any(|x| x == "enabled").then_some("enabled"),
                            n => names.iter().any(|x| x == n).then_some(n),
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
