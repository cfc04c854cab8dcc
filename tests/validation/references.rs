//! References between flags, segments and exclusion groups: unknown names, cycles,
//! bounded chains and fan-out, duplicates.

use super::*;

#[test]
fn unknown_variant_in_a_fixed_serve() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "rules": [rule("beta", json!({ "attr": "a", "op": "exists" }), json!({ "variant": "onn" }))]
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].rules[beta].serve.variant",
        &["unknown variant `onn`"],
    );
}

#[test]
fn unknown_variant_in_the_fallthrough() {
    let doc =
        json!({ "flags": [with(flag("f"), json!({ "fallthrough": { "variant": "maybe" } }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough.variant",
        &["unknown variant `maybe`"],
    );
}

#[test]
fn unknown_variant_in_weights() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "fallthrough": { "rollout": { "weights": { "on": 50, "of": 50 } } }
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough.rollout.weights.of",
        &["unknown variant `of`"],
    );
}

#[test]
fn unknown_off_variant() {
    let doc = json!({ "flags": [with(flag("f"), json!({ "off_variant": "disabled" }))] });
    assert_issue(
        &issues(doc),
        "flags[f].off_variant",
        &["unknown variant `disabled`"],
    );
}

#[test]
fn unknown_variant_in_a_prerequisite() {
    let doc = json!({ "flags": [
        flag("base"),
        with(flag("f"), json!({ "prerequisites": [{ "flag": "base", "variants": ["on", "enabled"] }] }))
    ] });
    assert_issue(
        &issues(doc),
        "flags[f].prerequisites[0].variants",
        &["flag `base` has no variant `enabled`"],
    );
}

#[test]
fn mixed_variant_types() {
    let doc =
        json!({ "flags": [with(flag("f"), json!({ "variants": { "off": false, "on": "yes" } }))] });
    assert_issue(
        &issues(doc),
        "flags[f].variants.on",
        &["string", "boolean", "one type"],
    );
}

#[test]
fn null_variant() {
    let doc =
        json!({ "flags": [with(flag("f"), json!({ "variants": { "off": false, "on": null } }))] });
    assert_issue(&issues(doc), "flags[f].variants.on", &["null"]);
}

#[test]
fn no_variants() {
    let doc = json!({ "flags": [with(flag("f"), json!({ "variants": {} }))] });
    let found = issues(doc);
    assert_issue(&found, "flags[f].variants", &["at least one variant"]);
}

// ------------------------------------------------------------------- references

#[test]
fn unknown_segment() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "rules": [rule("r", json!({ "all": [
            { "attr": "a", "op": "exists" },
            { "not": { "segment": "beta-testers" } }
        ] }), json!({ "variant": "on" }))]
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].rules[r].when.all[1].not",
        &["unknown segment `beta-testers`"],
    );
}

#[test]
fn unknown_segment_inside_a_segment() {
    let doc =
        json!({ "flags": [flag("f")], "segments": { "a": { "any": [{ "segment": "nope" }] } } });
    assert_issue(
        &issues(doc),
        "segments[a].any[0]",
        &["unknown segment `nope`"],
    );
}

#[test]
fn unknown_prerequisite_flag() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "prerequisites": [{ "flag": "market-data-v3", "variants": ["on"] }]
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].prerequisites[0].flag",
        &["unknown flag `market-data-v3`"],
    );
}

#[test]
fn prerequisite_on_itself() {
    let doc = json!({ "flags": [with(flag("f"), json!({ "prerequisites": [{ "flag": "f", "variants": ["on"] }] }))] });
    assert_issue(
        &issues(doc),
        "flags[f].prerequisites[0]",
        &["its own prerequisite"],
    );
}

#[test]
fn prerequisite_cycle_names_the_cycle() {
    let pre = |target: &str| json!({ "prerequisites": [{ "flag": target, "variants": ["on"] }] });
    let doc = json!({ "flags": [
        with(flag("a"), pre("b")),
        with(flag("b"), pre("c")),
        with(flag("c"), pre("a")),
        flag("d")
    ] });
    let found = issues(doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_issue(
        &found,
        "flags[a].prerequisites",
        &["cycle", "a → b → c → a"],
    );
}

#[test]
fn segment_cycle_names_the_cycle() {
    let doc = json!({ "flags": [flag("f")], "segments": {
        "a": { "segment": "b" },
        "b": { "all": [{ "attr": "x", "op": "exists" }, { "segment": "a" }] }
    } });
    assert_issue(&issues(doc), "segments[a]", &["cycle", "a → b → a"]);
}

#[test]
fn segment_referring_to_itself() {
    let doc =
        json!({ "flags": [flag("f")], "segments": { "loop": { "not": { "segment": "loop" } } } });
    assert_issue(&issues(doc), "segments[loop]", &["cycle", "loop → loop"]);
}

fn segment_chain(n: usize) -> Value {
    let mut segments = serde_json::Map::new();
    for i in 0..n {
        let clause = if i + 1 == n {
            json!({ "attr": "a", "op": "exists" })
        } else {
            json!({ "segment": format!("s{:05}", i + 1) })
        };
        segments.insert(format!("s{:05}", i), clause);
    }
    json!({ "flags": [with(flag("f"), json!({
        "rules": [rule("r", json!({ "segment": "s00000" }), json!({ "variant": "on" }))]
    }))], "segments": segments })
}

#[test]
fn segment_chains_are_bounded() {
    // 17 segments: a chain 16 references deep is accepted and evaluates.
    let snap = load(&segment_chain(17)).unwrap();
    let ctx = snap.resolve_context(&json!({ "a": 1 })).unwrap();
    let got = snap.details("f", &ctx, json!(false), None, 0);
    assert_eq!(got.rule_id.as_deref(), Some("r"));
    assert_issue(
        &issues(segment_chain(18)),
        "segments[s00000]",
        &["17 levels deep", "limit is 16"],
    );
    // A very long chain is rejected at load instead of overflowing the stack later.
    assert_issue(
        &issues(segment_chain(20_000)),
        "segments[s00000]",
        &["19999 levels deep"],
    );
}

fn prerequisite_chain(n: usize) -> Value {
    let flags: Vec<Value> = (0..n)
        .map(|i| {
            if i + 1 == n {
                flag(&format!("f{i:05}"))
            } else {
                with(
                    flag(&format!("f{i:05}")),
                    json!({ "prerequisites": [{ "flag": format!("f{:05}", i + 1), "variants": ["off"] }] }),
                )
            }
        })
        .collect();
    json!({ "flags": flags })
}

#[test]
fn prerequisite_chains_are_bounded() {
    let snap = load(&prerequisite_chain(17)).unwrap();
    let ctx = snap.resolve_context(&json!({})).unwrap();
    assert_eq!(
        snap.details("f00000", &ctx, json!(true), None, 0)
            .reason
            .as_str(),
        "DEFAULT"
    );
    assert_issue(
        &issues(prerequisite_chain(18)),
        "flags[f00000].prerequisites",
        &["17 deep", "limit is 16"],
    );
    assert_issue(
        &issues(prerequisite_chain(20_000)),
        "flags[f00000].prerequisites",
        &["19999 deep"],
    );
}

#[test]
fn duplicate_flag_key() {
    let doc = json!({ "flags": [flag("f"), flag("g"), flag("f")] });
    assert_issue(&issues(doc), "flags[f]", &["more than once"]);
}

#[test]
fn duplicate_rule_id() {
    let r = rule(
        "same",
        json!({ "attr": "a", "op": "exists" }),
        json!({ "variant": "on" }),
    );
    let doc = json!({ "flags": [with(flag("f"), json!({ "rules": [r.clone(), r] }))] });
    assert_issue(&issues(doc), "flags[f].rules[same].id", &["used twice"]);
}

// ------------------------------------------------------------------- rollouts

/// A diamond lattice of prerequisites: each level has two flags that both require
/// both flags of the level below, so evaluations double per level.
#[test]
fn prerequisite_fan_out_is_bounded() {
    let mut flags = vec![];
    for level in 0..10 {
        for side in ["a", "b"] {
            let prerequisites: Vec<serde_json::Value> = if level == 0 {
                vec![]
            } else {
                ["a", "b"]
                    .iter()
                    .map(|s| serde_json::json!({"flag": format!("l{}{s}", level - 1), "variants": ["on"]}))
                    .collect()
            };
            flags.push(serde_json::json!({
                "key": format!("l{level}{side}"), "variants": {"on": true, "off": false},
                "off_variant": "off", "prerequisites": prerequisites, "fallthrough": {"variant": "on"}
            }));
        }
    }
    let doc = serde_json::json!({ "flags": flags }).to_string();
    let err = vexil::engine::Snapshot::from_json(doc.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("prerequisite evaluations; the limit is 256"),
        "{err}"
    );
    assert!(err.contains("flags[l"), "{err}");
}
