//! Load-time validation: every problem in a flags document is reported with a precise
//! path and message, and all problems are reported at once.

use serde_json::{json, Value};
use vexil::engine::{Issue, LoadError, Snapshot};

/// A minimal valid boolean flag, to be patched by each test.
fn flag(key: &str) -> Value {
    json!({
        "key": key,
        "variants": { "on": true, "off": false },
        "off_variant": "off",
        "fallthrough": { "variant": "off" }
    })
}

fn with(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn load(doc: &Value) -> Result<Snapshot, LoadError> {
    Snapshot::from_json(&serde_json::to_vec(doc).unwrap())
}

fn issues(doc: Value) -> Vec<Issue> {
    match load(&doc) {
        Err(LoadError::Invalid(issues)) => issues,
        Err(other) => panic!("expected validation issues, got {other}"),
        Ok(_) => panic!("document loaded but should not have: {doc}"),
    }
}

/// Asserts that exactly one issue has `path` and that its message contains each of
/// `fragments`.
#[track_caller]
fn assert_issue(issues: &[Issue], path: &str, fragments: &[&str]) {
    let at: Vec<&Issue> = issues.iter().filter(|i| i.path == path).collect();
    assert_eq!(
        at.len(),
        1,
        "expected one issue at `{path}`, got: {}",
        issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    for fragment in fragments {
        assert!(
            at[0].message.contains(fragment),
            "issue at `{path}` is `{}`, which lacks `{fragment}`",
            at[0].message
        );
    }
}

fn parse_error(doc: Value) -> String {
    match load(&doc) {
        Err(LoadError::Parse(message)) => message,
        Err(other) => panic!("expected a parse error, got {other}"),
        Ok(_) => panic!("document loaded but should not have: {doc}"),
    }
}

fn rule(id: &str, when: Value, serve: Value) -> Value {
    json!({ "id": id, "when": when, "serve": serve })
}

fn one_rule(when: Value) -> Value {
    json!({ "flags": [with(flag("f"), json!({ "rules": [rule("r", when, json!({"variant": "on"}))] }))] })
}

#[test]
fn a_valid_document_loads() {
    let doc = json!({ "flags": [flag("a"), with(flag("b"), json!({
        "prerequisites": [{ "flag": "a", "variants": ["off"] }],
        "rules": [rule("r", json!({ "segment": "s" }), json!({ "rollout": { "weights": { "on": 12.345, "off": 87.655 } } }))]
    }))], "segments": { "s": { "attr": "x", "op": "exists" } } });
    load(&doc).unwrap();
}

// ------------------------------------------------------------------- variants

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

#[test]
fn weights_not_summing_to_100() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "rules": [rule("canary", json!({ "attr": "a", "op": "exists" }),
            json!({ "rollout": { "weights": { "on": 5, "off": 90 } } }))]
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].rules[canary].serve.rollout.weights",
        &["sum to 95", "100"],
    );
}

#[test]
fn weights_with_more_than_three_decimals() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "fallthrough": { "rollout": { "weights": { "on": 33.3333, "off": 66.6667 } } }
    }))] });
    let found = issues(doc);
    assert_issue(
        &found,
        "flags[f].fallthrough.rollout.weights.on",
        &["33.3333", "3 decimals"],
    );
    assert_issue(
        &found,
        "flags[f].fallthrough.rollout.weights.off",
        &["66.6667", "3 decimals"],
    );
}

#[test]
fn negative_weight() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "fallthrough": { "rollout": { "weights": { "on": -5, "off": 105 } } }
    }))] });
    let found = issues(doc);
    assert_issue(
        &found,
        "flags[f].fallthrough.rollout.weights.on",
        &["between 0 and 100"],
    );
}

#[test]
fn serve_with_both_forms_or_neither() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "fallthrough": { "variant": "on", "rollout": { "weights": { "on": 100 } } }
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough",
        &["either `variant` or `rollout`"],
    );
    let doc = json!({ "flags": [with(flag("f"), json!({ "fallthrough": {} }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough",
        &["needs `variant`, `rollout` or `caller_default`"],
    );
}

#[test]
fn rollout_by_a_builtin() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "fallthrough": { "rollout": { "by": "$now", "weights": { "on": 100 } } }
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough.rollout.by",
        &["`$now`", "not an attribute path"],
    );
}

#[test]
fn rollout_by_a_bad_list() {
    for (by, expected) in [
        (json!([]), "lists no attributes"),
        (
            json!(["targetingKey", "a..b"]),
            "`a..b` is not an attribute path",
        ),
        (
            json!(["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
            "the limit is 8",
        ),
    ] {
        let doc = json!({ "flags": [with(flag("f"), json!({
            "fallthrough": { "rollout": { "by": by, "weights": { "on": 100 } } }
        }))] });
        assert_issue(&issues(doc), "flags[f].fallthrough.rollout.by", &[expected]);
    }
    let doc = json!({ "flags": [with(flag("f"), json!({
        "fallthrough": { "rollout": { "by": 7, "weights": { "on": 100 } } }
    }))] });
    let err = vexil::engine::Snapshot::from_json(doc.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("an attribute path or a list of them"),
        "{err}"
    );
}

// ------------------------------------------------------------------- exclusion

#[test]
fn overlapping_exclusion_ranges() {
    let doc = json!({
        "flags": [
            with(flag("a"), json!({ "exclusion": { "group": "g", "range": [0, 60000] } })),
            with(flag("b"), json!({ "exclusion": { "group": "g", "range": [50000, 100000] } })),
            with(flag("c"), json!({ "exclusion": { "group": "h", "range": [50000, 100000] } }))
        ],
        "exclusion_groups": { "g": {}, "h": {} }
    });
    let found = issues(doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_issue(
        &found,
        "flags[b].exclusion.range",
        &[
            "[50000, 100000)",
            "overlaps [0, 60000)",
            "flag `a`",
            "group `g`",
        ],
    );
}

#[test]
fn adjacent_exclusion_ranges_are_fine() {
    let doc = json!({
        "flags": [
            with(flag("a"), json!({ "exclusion": { "group": "g", "range": [0, 50000] } })),
            with(flag("b"), json!({ "exclusion": { "group": "g", "range": [50000, 100000] } }))
        ],
        "exclusion_groups": { "g": { "salt": "s" } }
    });
    load(&doc).unwrap();
}

#[test]
fn unknown_exclusion_group() {
    let doc = json!({ "flags": [with(flag("a"), json!({ "exclusion": { "group": "routing", "range": [0, 10] } }))] });
    assert_issue(
        &issues(doc),
        "flags[a].exclusion.group",
        &["unknown exclusion group `routing`"],
    );
}

#[test]
fn empty_or_oversized_exclusion_range() {
    let doc = json!({
        "flags": [
            with(flag("a"), json!({ "exclusion": { "group": "g", "range": [10, 10] } })),
            with(flag("b"), json!({ "exclusion": { "group": "g", "range": [20, 100001] } }))
        ],
        "exclusion_groups": { "g": {} }
    });
    let found = issues(doc);
    assert_issue(
        &found,
        "flags[a].exclusion.range",
        &["[10, 10)", "start < end"],
    );
    assert_issue(
        &found,
        "flags[b].exclusion.range",
        &["[20, 100001)", "100000"],
    );
}

// ------------------------------------------------------------------- clause values

#[test]
fn regex_that_does_not_compile() {
    let found = issues(one_rule(
        json!({ "attr": "a", "op": "matches", "values": ["^user-[0-9+$"] }),
    ));
    assert_issue(
        &found,
        "flags[f].rules[r].when",
        &["pattern \"^user-[0-9+$\" does not compile"],
    );
}

#[test]
fn regex_with_look_around() {
    for pattern in ["^(?=admin)", "foo(?!bar)", "(?<=a)b", "(?<!a)b"] {
        let found = issues(one_rule(
            json!({ "attr": "a", "op": "matches", "values": [pattern] }),
        ));
        assert_issue(&found, "flags[f].rules[r].when", &["does not compile"]);
    }
}

#[test]
fn regex_with_backreference() {
    let found = issues(one_rule(
        json!({ "attr": "a", "op": "matches", "values": ["(a)\\1"] }),
    ));
    assert_issue(&found, "flags[f].rules[r].when", &["does not compile"]);
}

#[test]
fn regex_too_long() {
    let pattern = "a".repeat(2000);
    let found = issues(one_rule(
        json!({ "attr": "a", "op": "matches", "values": [pattern] }),
    ));
    assert_issue(&found, "flags[f].rules[r].when", &["2000 bytes", "limit"]);
}

#[test]
fn bad_semver_value() {
    for bad in ["v1.2.3", "1.2", "latest"] {
        let found = issues(one_rule(
            json!({ "attr": "app.version", "op": "semver_gte", "values": [bad] }),
        ));
        assert_issue(
            &found,
            "flags[f].rules[r].when",
            &["semver_gte", "SemVer", bad],
        );
    }
}

#[test]
fn bad_cidr_value() {
    for bad in [
        "10.0.0.0/33",
        "2001:db8::/129",
        "127.invalid",
        "10.0.0.0/",
        "10.0.0.0/8x",
    ] {
        let found = issues(one_rule(
            json!({ "attr": "ip", "op": "in_cidr", "values": [bad] }),
        ));
        assert_issue(&found, "flags[f].rules[r].when", &["in_cidr", "CIDR", bad]);
    }
}

#[test]
fn bad_date() {
    for bad in ["2026-13-01T00:00:00Z", "2026-06-01", "tomorrow"] {
        let found = issues(one_rule(
            json!({ "attr": "$now", "op": "after", "values": [bad] }),
        ));
        assert_issue(
            &found,
            "flags[f].rules[r].when",
            &["`after`", "RFC 3339", bad],
        );
    }
}

#[test]
fn bad_expiry_date() {
    let doc = json!({ "flags": [with(flag("f"), json!({ "expires_at": "next year" }))] });
    assert_issue(
        &issues(doc),
        "flags[f].expires_at",
        &["`next year`", "RFC 3339"],
    );
}

#[test]
fn now_with_a_non_date_operator() {
    let found = issues(one_rule(
        json!({ "attr": "$now", "op": "gt", "values": [0] }),
    ));
    assert_issue(
        &found,
        "flags[f].rules[r].when",
        &["`$now`", "`before` and `after`", "`gt`"],
    );
}

#[test]
fn unknown_builtin_attribute() {
    let found = issues(one_rule(json!({ "attr": "$today", "op": "exists" })));
    assert_issue(&found, "flags[f].rules[r].when", &["`$today`"]);
}

#[test]
fn wrong_value_types_for_operators() {
    let cases = [
        (
            json!({ "attr": "a", "op": "lt", "values": ["10"] }),
            "`lt` takes numbers",
        ),
        (
            json!({ "attr": "a", "op": "starts_with", "values": [1] }),
            "`starts_with` takes strings",
        ),
        (
            json!({ "attr": "a", "op": "in", "values": [{ "x": 1 }] }),
            "`in` compares strings, numbers or booleans",
        ),
        (
            json!({ "attr": "a", "op": "eq", "values": [null] }),
            "`eq` compares",
        ),
        (
            json!({ "attr": "a", "op": "in", "values": [] }),
            "at least one value",
        ),
        (
            json!({ "attr": "a", "op": "exists", "values": [1] }),
            "takes no values",
        ),
        (
            json!({ "attr": "a", "op": "lt", "values": [1], "ignore_case": true }),
            "`ignore_case`",
        ),
        (json!({ "attr": "a..b", "op": "exists" }), "empty segment"),
    ];
    for (clause, fragment) in cases {
        let found = issues(one_rule(clause.clone()));
        assert_issue(&found, "flags[f].rules[r].when", &[fragment]);
    }
}

#[test]
fn clause_with_two_forms() {
    let found = issues(one_rule(
        json!({ "segment": "s", "attr": "a", "op": "exists" }),
    ));
    assert_issue(&found, "flags[f].rules[r].when", &["exactly one of"]);
    let found = issues(one_rule(json!({ "all": [], "any": [] })));
    assert_issue(&found, "flags[f].rules[r].when", &["exactly one of"]);
}

#[test]
fn empty_clause() {
    let found = issues(one_rule(json!({})));
    assert_issue(&found, "flags[f].rules[r].when", &["empty clause"]);
}

#[test]
fn clauses_nested_too_deep() {
    let mut clause = json!({ "attr": "a", "op": "exists" });
    for _ in 0..40 {
        clause = json!({ "not": clause });
    }
    let found = issues(one_rule(clause));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("nest deeper than"), "{found:?}");
}

// ------------------------------------------------------------------- parse errors

#[test]
fn unknown_clause_field_is_rejected_at_parse() {
    let msg = parse_error(one_rule(
        json!({ "attr": "tier", "op": "in", "value": ["gold"] }),
    ));
    assert!(msg.contains("flags[0].rules[0].when"), "{msg}");
    assert!(msg.contains("unknown field `value`"), "{msg}");
}

#[test]
fn unknown_operator_is_rejected_at_parse() {
    let msg = parse_error(one_rule(
        json!({ "attr": "tier", "op": "equals", "values": ["gold"] }),
    ));
    assert!(msg.contains("flags[0].rules[0].when.op"), "{msg}");
    assert!(msg.contains("unknown variant `equals`"), "{msg}");
}

#[test]
fn unknown_rule_and_serve_fields_are_rejected_at_parse() {
    let doc = json!({ "flags": [with(flag("f"), json!({ "rules": [{
        "id": "r", "when": { "attr": "a", "op": "exists" }, "serve": { "variant": "on" }, "percentage": 5
    }] }))] });
    let msg = parse_error(doc);
    assert!(
        msg.contains("flags[0].rules[0]") && msg.contains("unknown field `percentage`"),
        "{msg}"
    );

    let doc = json!({ "flags": [with(flag("f"), json!({
        "fallthrough": { "rollout": { "weights": { "on": 100 }, "bucket_by": "org" } }
    }))] });
    let msg = parse_error(doc);
    assert!(
        msg.contains("flags[0].fallthrough.rollout") && msg.contains("unknown field `bucket_by`"),
        "{msg}"
    );
}

#[test]
fn duplicate_weight_is_rejected_at_parse() {
    let text = r#"{"flags": [{"key": "f", "variants": {"on": true, "off": false}, "off_variant": "off",
        "fallthrough": {"rollout": {"weights": {"on": 50, "on": 50}}}}]}"#;
    match Snapshot::from_json(text.as_bytes()) {
        Err(LoadError::Parse(msg)) => assert!(msg.contains("`on` appears twice"), "{msg}"),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn unknown_descriptive_flag_fields_are_ignored() {
    let doc = json!({ "flags": [with(flag("f"), json!({
        "affected_systems": ["order_routing"], "clinical_impact": "high", "phi": true
    }))] });
    load(&doc).unwrap();
}

#[test]
fn unsupported_schema() {
    let doc = json!({ "schema": 2, "flags": [flag("f")] });
    assert_eq!(load(&doc).unwrap_err(), LoadError::UnsupportedSchema(2));
    let msg = load(&doc).unwrap_err().to_string();
    assert!(
        msg.contains("schema 2") && msg.contains("schema 1"),
        "{msg}"
    );
}

/// A newer schema may add fields and operators this engine has never heard of: it
/// must still say "unsupported schema", not report the new syntax as a typo.
#[test]
fn unsupported_schema_with_new_syntax() {
    let doc = json!({ "schema": 2, "flags": [with(flag("f"), json!({
        "rules": [rule("r", json!({ "attr": "ip", "op": "in_cidr", "values": ["10.0.0.0/8"] }), json!({ "variant": "on" }))]
    }))] });
    assert_eq!(load(&doc).unwrap_err(), LoadError::UnsupportedSchema(2));
}

#[test]
fn malformed_json() {
    match Snapshot::from_json(b"{\"flags\": [") {
        Err(LoadError::Parse(_)) => {}
        other => panic!("expected a parse error, got {other:?}"),
    }
}

// ------------------------------------------------------------------- all at once

#[test]
fn all_problems_are_reported_at_once() {
    let doc = json!({
        "flags": [
            with(flag("a"), json!({ "off_variant": "nope", "expires_at": "soon" })),
            with(flag("b"), json!({
                "rules": [rule("r", json!({ "segment": "missing" }), json!({ "variant": "on" }))],
                "fallthrough": { "rollout": { "weights": { "on": 10, "off": 80 } } }
            }))
        ]
    });
    let found = issues(doc);
    assert_issue(&found, "flags[a].off_variant", &["nope"]);
    assert_issue(&found, "flags[a].expires_at", &["soon"]);
    assert_issue(&found, "flags[b].rules[r].when", &["missing"]);
    assert_issue(
        &found,
        "flags[b].fallthrough.rollout.weights",
        &["sum to 90"],
    );
    assert_eq!(found.len(), 4, "{found:?}");
    let msg = LoadError::Invalid(found).to_string();
    assert!(msg.starts_with("invalid flags (4 problems): "), "{msg}");
}

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
