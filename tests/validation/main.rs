//! Load-time validation: every problem in a flags document is reported with a precise
//! path and message, and all problems are reported at once.

use serde_json::{json, Value};
use vexil::engine::{Issue, LoadError, Snapshot};

mod clauses;
mod document;
mod references;
mod serves;

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
