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
