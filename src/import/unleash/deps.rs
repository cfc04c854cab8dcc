//! Unleash dependencies as prerequisites: a child is on when each parent is (or is
//! off, or serves one of the listed variants); parents with dependencies of their own,
//! missing parents and cycles leave the child off, as the Node SDK evaluates them.

use super::super::{loss, Loss};
use serde_json::{json, Value};

/// Turns Unleash dependencies into prerequisites naming the parents' own variants.
pub(super) fn resolve_dependencies(flags: &mut [Value], lossy: &mut Vec<Loss>) {
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
                        // None of them can be served: Unleash leaves the child off.
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
        }
    }
    // A child of a parent whose translation is not faithful is not faithful either.
    let mut unfaithful: std::collections::HashSet<String> =
        lossy.iter().map(|l| l.flag.clone()).collect();
    loop {
        let mut added = Vec::new();
        for flag in flags.iter() {
            let key = flag["key"].as_str().unwrap_or_default();
            if unfaithful.contains(key) {
                continue;
            }
            let parent = flag["prerequisites"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["flag"].as_str())
                .find(|p| unfaithful.contains(*p));
            if let Some(parent) = parent {
                added.push((key.to_string(), parent.to_string()));
            }
        }
        if added.is_empty() {
            break;
        }
        for (key, parent) in added {
            loss(
                lossy,
                &key,
                format!("depends on `{parent}`, whose translation is not faithful (see above)"),
            );
            unfaithful.insert(key);
        }
    }
}
