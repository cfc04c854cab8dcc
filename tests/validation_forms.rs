//! Validation of the model forms migrations rely on (the caller's default, bucket
//! tests, lenient operators, rollouts that fall through): each misuse is reported
//! with its path, and documents that do not use them load as before.

use serde_json::{json, Value};
use vexil::engine::{Issue, LoadError, Snapshot};

fn flag(key: &str, patch: Value) -> Value {
    let mut base = json!({
        "key": key,
        "variants": { "on": true, "off": false },
        "off_variant": "off",
        "fallthrough": { "variant": "off" }
    });
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

#[track_caller]
fn assert_issue(issues: &[Issue], path: &str, fragment: &str) {
    let all = issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        issues
            .iter()
            .any(|i| i.path == path && i.message.contains(fragment)),
        "expected an issue at `{path}` containing `{fragment}`, got: {all}"
    );
}

#[test]
fn a_flag_without_an_off_variant_loads() {
    let mut f = flag("f", json!({ "enabled": false }));
    f.as_object_mut().unwrap().remove("off_variant");
    let snap = load(&json!({ "flags": [f] })).expect("loads");
    assert_eq!(snap.flags()[0].off_variant, None);
}

#[test]
fn caller_default_is_one_form_of_serve() {
    let doc = json!({ "flags": [flag("f", json!({
        "fallthrough": { "caller_default": true, "variant": "on" }
    }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough",
        "one of `variant`, `rollout` or `caller_default`",
    );
    let doc =
        json!({ "flags": [flag("f", json!({ "fallthrough": { "caller_default": false } }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough",
        "needs `variant`, `rollout` or `caller_default`",
    );
    let doc =
        json!({ "flags": [flag("f", json!({ "fallthrough": { "caller_default": "yes" } }))] });
    assert!(matches!(load(&doc), Err(LoadError::Parse(m)) if m.contains("caller_default")));
}

fn gated(bucket: Value) -> Value {
    json!({ "flags": [flag("f", json!({ "rules": [
        { "id": "r", "when": { "bucket": bucket }, "serve": { "variant": "on" } }
    ] }))] })
}

#[test]
fn bucket_tests_are_checked() {
    assert!(load(&gated(json!({ "range": [0, 25.5] }))).is_ok());
    assert_issue(
        &issues(gated(json!({ "range": [30, 30] }))),
        "flags[f].rules[r].when.bucket",
        "is empty",
    );
    assert_issue(
        &issues(gated(json!({ "range": [0, 100.5] }))),
        "flags[f].rules[r].when.bucket",
        "between 0 and 100",
    );
    assert_issue(
        &issues(gated(json!({ "range": [0, 12.3456] }))),
        "flags[f].rules[r].when.bucket",
        "more than 3 decimals",
    );
    assert_issue(
        &issues(gated(json!({ "bucketing": "unleash", "range": [0, 12.5] }))),
        "flags[f].rules[r].when.bucket",
        "whole percentages",
    );
    assert_issue(
        &issues(gated(json!({ "by": "$now", "range": [0, 10] }))),
        "flags[f].rules[r].when.bucket",
        "not an attribute path",
    );
    let doc = json!({
        "flags": [flag("f", json!({ "rules": [
            { "id": "r", "when": { "segment": "half" }, "serve": { "variant": "on" } }
        ] }))],
        "segments": { "half": { "bucket": { "range": [0, 50] } } }
    });
    assert_issue(&issues(doc), "segments[half].bucket", "needs a `salt`");
    let typo = gated(json!({ "range": [0, 10], "sallt": "x" }));
    assert!(matches!(load(&typo), Err(LoadError::Parse(m)) if m.contains("sallt")));
    let two = json!({ "flags": [flag("f", json!({ "rules": [{ "id": "r",
        "when": { "bucket": { "range": [0, 10] }, "attr": "a", "op": "exists" },
        "serve": { "variant": "on" } }] }))] });
    assert_issue(&issues(two), "flags[f].rules[r].when", "exactly one of");
}

/// A flag reads the attributes of its bucket tests (hosts that read contexts
/// themselves hand over only those).
#[test]
fn bucket_tests_read_their_units() {
    let snap = load(&gated(
        json!({ "by": ["account.id", "sessionId"], "range": [0, 10] }),
    ))
    .expect("loads");
    let paths: Vec<&str> = snap
        .flag_attributes(0)
        .into_iter()
        .map(|id| &*snap.attributes()[id as usize].path)
        .collect();
    assert!(
        paths.contains(&"account.id") && paths.contains(&"sessionId"),
        "{paths:?}"
    );
    let doc: vexil::engine::FlagsDocument =
        serde_json::from_value(gated(json!({ "by": "account.id", "range": [0, 10] }))).unwrap();
    assert_eq!(
        doc.flags[0].attributes(&doc.segments),
        vec!["account.id".to_string()]
    );
}

#[test]
fn only_a_rules_rollout_falls_through() {
    let doc = json!({ "flags": [flag("f", json!({ "fallthrough": { "rollout": {
        "weights": { "on": 100 }, "missing_unit": "fallthrough" } } }))] });
    assert_issue(
        &issues(doc),
        "flags[f].fallthrough.rollout.missing_unit",
        "belongs on a rule's rollout",
    );
    let doc = json!({ "flags": [flag("f", json!({ "rules": [{ "id": "r",
        "when": { "attr": "a", "op": "exists" },
        "serve": { "rollout": { "weights": { "on": 100 }, "missing_unit": "skip" } } }] }))] });
    assert!(matches!(load(&doc), Err(LoadError::Parse(m)) if m.contains("skip")));
}

fn one_rule(when: Value) -> Value {
    json!({ "flags": [flag("f", json!({ "rules": [
        { "id": "r", "when": when, "serve": { "variant": "on" } }
    ] }))] })
}

#[test]
fn lenient_belongs_on_numeric_and_semver_tests() {
    assert!(load(&one_rule(
        json!({ "attr": "n", "op": "lt", "values": [3], "lenient": true })
    ))
    .is_ok());
    assert!(load(&one_rule(
        json!({ "attr": "v", "op": "semver_gte", "values": ["v1.2", 2], "lenient": true })
    ))
    .is_ok());
    assert_issue(
        &issues(one_rule(
            json!({ "attr": "n", "op": "in", "values": [3], "lenient": true }),
        )),
        "flags[f].rules[r].when",
        "`lenient` applies to",
    );
    assert_issue(
        &issues(one_rule(json!({ "all": [], "lenient": true }))),
        "flags[f].rules[r].when",
        "belongs on an attribute test",
    );
    assert_issue(
        &issues(one_rule(
            json!({ "attr": "v", "op": "semver_eq", "values": ["1.2.3.4"], "lenient": true }),
        )),
        "flags[f].rules[r].when",
        "(lenient) takes versions",
    );
    // Strict semver stays the default.
    assert_issue(
        &issues(one_rule(
            json!({ "attr": "v", "op": "semver_eq", "values": ["v1.2.3"] }),
        )),
        "flags[f].rules[r].when",
        "strict SemVer",
    );
}

#[test]
fn a_weight_total_belongs_on_unleash_variants() {
    let rollout =
        |r: Value| json!({ "flags": [flag("f", json!({ "fallthrough": { "rollout": r } }))] });
    assert!(load(&rollout(
        json!({ "bucketing": "unleash_variants", "total": 99,
        "weights": { "on": 33.334, "off": 66.666 } })
    ))
    .is_ok());
    assert_issue(
        &issues(rollout(
            json!({ "total": 99, "weights": { "on": 50, "off": 50 } }),
        )),
        "flags[f].fallthrough.rollout.total",
        "belongs with `unleash_variants` or `flagd` bucketing",
    );
    assert_issue(
        &issues(rollout(
            json!({ "bucketing": "unleash_variants", "total": 0,
            "weights": { "on": 50, "off": 50 } }),
        )),
        "flags[f].fallthrough.rollout.total",
        "from 1 to 100000",
    );
}
