//! Serves: weights, rollouts and exclusion ranges.

use super::*;

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
