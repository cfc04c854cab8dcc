//! Unleash dependencies as prerequisites: a child is on when each parent is (or is
//! off, or serves one of the listed variants); parents with dependencies of their own,
//! missing parents and cycles leave the child off, as the Node SDK evaluates them.

use super::super::{loss, Loss};
use crate::engine::edit::{FlagDoc, FlagEdit};
use crate::engine::model::Prerequisite;
use serde_json::Value;

/// Leaves `flag` off, as Unleash evaluates a child whose dependencies cannot hold.
fn disable(flag: &mut Value) {
    if let Ok(mut edit) = FlagEdit::new(flag) {
        edit.set_enabled(false);
    }
}

/// Turns Unleash dependencies into prerequisites naming the parents' own variants.
pub(super) fn resolve_dependencies(flags: &mut [Value], lossy: &mut Vec<Loss>) {
    let info: std::collections::HashMap<String, (Vec<String>, String, bool)> = flags
        .iter()
        .map(|f| {
            let doc = FlagDoc(f);
            let names = doc.variant_names().map(str::to_string).collect();
            let off = doc.off_variant().unwrap_or("off").to_string();
            let has_parents = f.get("unleash_dependencies").is_some();
            (doc.key().to_string(), (names, off, has_parents))
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
                disable(flag);
                continue;
            };
            if *transitive {
                // Unleash does not follow dependencies transitively: the child is off.
                disable(flag);
                continue;
            }
            let wanted: Vec<String> = match (
                d["enabled"].as_bool().unwrap_or(true),
                d["variants"].as_array(),
            ) {
                (false, _) => vec![off.clone()],
                (true, Some(v)) if !v.is_empty() => {
                    // A parent without variants answers Unleash's `disabled` variant when on.
                    let boolean = names.len() == 2 && names.iter().any(|n| n == "on");
                    let kept: Vec<String> = v
                        .iter()
                        .filter_map(|n| n.as_str())
                        .filter_map(|n| match n {
                            // Unleash's `disabled` variant of an enabled parent: served
                            // without a variant of its own.
                            "disabled" if boolean => Some("on"),
                            "disabled" => names.iter().any(|x| x == "enabled").then_some("enabled"),
                            n => names.iter().any(|x| x == n).then_some(n),
                        })
                        .map(str::to_string)
                        .collect();
                    if kept.is_empty() {
                        // None of them can be served: Unleash leaves the child off.
                        disable(flag);
                        continue;
                    }
                    kept
                }
                (true, _) => names.iter().filter(|n| *n != off).cloned().collect(),
            };
            prereqs.push(Prerequisite {
                flag: parent.to_string(),
                variants: wanted,
            });
        }
        if !prereqs.is_empty() {
            if let Ok(mut edit) = FlagEdit::new(flag) {
                edit.set_prerequisites(&prereqs);
            }
        }
    }
    // Unleash evaluates a feature in a dependency cycle as disabled.
    let parents: std::collections::HashMap<String, Vec<String>> = flags
        .iter()
        .map(|f| {
            let doc = FlagDoc(f);
            let ps = doc.prerequisite_flags().map(str::to_string).collect();
            (doc.key().to_string(), ps)
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
        let key = FlagDoc(flag).key().to_string();
        if cyclic.contains(&key) {
            if let Ok(mut edit) = FlagEdit::new(flag) {
                edit.set_prerequisites(&[]);
                edit.set_enabled(false);
            }
        }
    }
    // A child of a parent whose translation is not faithful is not faithful either.
    let mut unfaithful: std::collections::HashSet<String> =
        lossy.iter().map(|l| l.flag.clone()).collect();
    loop {
        let mut added = Vec::new();
        for flag in flags.iter() {
            let doc = FlagDoc(flag);
            let key = doc.key();
            if unfaithful.contains(key) {
                continue;
            }
            let parent = doc.prerequisite_flags().find(|p| unfaithful.contains(*p));
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
