//! The importers on the minimal cases of the disagreements found against the real
//! `unleash-client` 6.12 and `@openfeature/flagd-core` 4 (issue 17): each translated
//! document must load, report nothing lossy, and answer what the peer answers. The
//! expected answers were computed by those libraries (the generative tests in
//! `pkg/test/*-generative.test.js` compare with them directly).

use serde_json::{json, Value};
use vexil::engine::time::parse_rfc3339_ms;
use vexil::engine::{FlagsDocument, Snapshot};
use vexil::import::{flagd, unleash, Imported};

fn load(imported: &Imported) -> Snapshot {
    assert_eq!(imported.lossy, vec![], "nothing is lossy");
    let doc: FlagsDocument = serde_json::from_value(Value::Object(imported.document.clone()))
        .expect("the translation parses");
    Snapshot::compile(&doc).expect("the translation validates")
}

/// `(variant, reason)` of `flag` for `ctx`, the caller's default being `"CALLER"`.
fn answer(snap: &Snapshot, flag: &str, ctx: Value, now: &str) -> (Option<String>, String) {
    let now = parse_rfc3339_ms(now).unwrap();
    let d = snap.details_for_context(flag, &ctx, json!("CALLER"), None, now);
    (d.variant, d.reason.as_str().to_string())
}

fn v(name: &str, reason: &str) -> (Option<String>, String) {
    (Some(name.to_string()), reason.to_string())
}

const NOW: &str = "2026-06-01T00:00:00Z";

#[test]
fn unleash_cases() {
    let features = json!({ "features": [
        // Item 1: a partial rollout without variants before a strategy with variants.
        { "name": "multi", "enabled": true, "strategies": [
            { "name": "flexibleRollout", "parameters": { "rollout": "32", "stickiness": "userId", "groupId": "m" } },
            { "name": "default", "parameters": {}, "variants": [{ "name": "a", "weight": 1000, "stickiness": "default" }] } ] },
        // Item 3: DATE_AFTER compares the current time, whatever the field.
        { "name": "dates", "enabled": true, "strategies": [{ "name": "default", "constraints": [
            { "contextName": "signupDate", "operator": "DATE_AFTER", "value": "2026-01-01T00:00:00Z" } ] }] },
        // Item 4: caseInsensitive does not apply to IN.
        { "name": "country", "enabled": true, "strategies": [{ "name": "default", "constraints": [
            { "contextName": "country", "operator": "IN", "values": ["DE"], "caseInsensitive": true } ] }] },
        // Item 5: STR_ values are trimmed.
        { "name": "plan", "enabled": true, "strategies": [{ "name": "default", "constraints": [
            { "contextName": "plan", "operator": "STR_ENDS_WITH", "values": [" pro "] } ] }] },
        // Item 6: numbers as JavaScript's Number() reads them.
        { "name": "num", "enabled": true, "strategies": [{ "name": "default", "constraints": [
            { "contextName": "age", "operator": "NUM_LT", "value": "5" } ] }] },
        // Item 7: a 100 % rollout sticky on sessionId needs a session id.
        { "name": "sess", "enabled": true, "strategies": [
            { "name": "flexibleRollout", "parameters": { "rollout": "100", "stickiness": "sessionId", "groupId": "s" } } ],
          "variants": [{ "name": "x", "weight": 1000, "stickiness": "default" }] }
    ]});
    let snap = load(&unleash::translate(&features).unwrap());
    for (user, want) in [
        ("u1", "a"),
        ("u2", "a"),
        ("u3", "enabled"),
        ("u4", "enabled"),
        ("u5", "a"),
    ] {
        assert_eq!(
            answer(&snap, "multi", json!({ "targetingKey": user }), NOW)
                .0
                .as_deref(),
            Some(want),
            "{user}"
        );
    }
    let dates = |now, signup| {
        answer(&snap, "dates", json!({ "signupDate": signup }), now)
            .0
            .unwrap()
    };
    assert_eq!(dates("2026-06-01T00:00:00Z", "2025-01-01T00:00:00Z"), "on");
    assert_eq!(dates("2025-06-01T00:00:00Z", "2027-01-01T00:00:00Z"), "off");
    let on = |flag: &str, ctx| answer(&snap, flag, ctx, NOW).0.unwrap();
    assert_eq!(on("country", json!({ "country": "de" })), "off");
    assert_eq!(on("country", json!({ "country": "DE" })), "on");
    assert_eq!(on("plan", json!({ "plan": "pro" })), "on");
    assert_eq!(on("num", json!({ "age": "" })), "on");
    assert_eq!(on("num", json!({ "age": " 7" })), "off");
    assert_eq!(on("num", json!({ "age": " 3" })), "on");
    assert_eq!(on("sess", json!({ "targetingKey": "u1" })), "disabled");
    assert_eq!(on("sess", json!({ "sessionId": "s1" })), "x");
}

#[test]
fn flagd_cases() {
    let def = json!({ "flags": {
        // Item 2: weights whose shares are not whole thousandths.
        "thirds": { "state": "ENABLED", "variants": { "a": "a", "b": "b", "c": "c" }, "defaultVariant": "a",
            "targeting": { "fractional": [["a", 1], ["b", 1], ["c", 1]] } },
        "uneven": { "state": "ENABLED", "variants": { "a": "a", "b": "b", "c": "c" }, "defaultVariant": "a",
            "targeting": { "fractional": [["a", 5], ["b", 4], ["c", 2]] } },
        // Item 8: a fractional without its key gives the default variant, inside an if too.
        "nokey": { "state": "ENABLED", "variants": { "on": "on", "off": "off", "dflt": "dflt" }, "defaultVariant": "dflt",
            "targeting": { "if": [{ "==": [{ "var": "plan" }, "pro"] }, { "fractional": [["on", 50], ["off", 50]] }, "off"] } },
        // Item 9: keys from expressions hash what is there (cat writes a missing value "null").
        "catkey": { "state": "ENABLED", "variants": { "a": "a", "b": "b", "c": "c", "d": "d" }, "defaultVariant": "d",
            "targeting": { "fractional": [{ "cat": [{ "var": "$flagd.flagKey" }, { "var": "email" }] }, ["a", 25], ["b", 25], ["c", 50]] } },
        "seeded": { "state": "ENABLED", "variants": { "a": "a", "b": "b", "c": "c", "d": "d" }, "defaultVariant": "d",
            "targeting": { "fractional": [{ "cat": ["seed-7", { "var": "targetingKey" }] }, ["a", 25], ["b", 25], ["c", 50]] } },
        // Item 10: the between form keeps both bounds.
        "between": { "state": "ENABLED", "variants": { "in": "in", "out": "out" }, "defaultVariant": "out",
            "targeting": { "if": [{ "<=": [25, { "var": "score" }, 43] }, "in", "out"] } },
        // Item 11: a missing attribute compares as 0 in `<`.
        "young": { "state": "ENABLED", "variants": { "yes": "yes", "no": "no" }, "defaultVariant": "no",
            "targeting": { "if": [{ "<": [{ "var": "age" }, 30] }, "yes", "no"] } },
        // `$flagd.flagKey` is a constant at import time.
        "mine": { "state": "ENABLED", "variants": { "yes": "yes", "no": "no" }, "defaultVariant": "no",
            "targeting": { "if": [{ "==": [{ "var": "$flagd.flagKey" }, "mine"] }, "yes", "no"] } },
        // A disabled flag answers the caller's default.
        "off": { "state": "DISABLED", "variants": { "on": true, "off": false }, "defaultVariant": "on" }
    }});
    let snap = load(&flagd::translate(&def).unwrap());
    let at = |flag: &str, ctx: Value| answer(&snap, flag, ctx, NOW);
    for (user, thirds) in [
        ("user-1", "b"),
        ("user-2", "a"),
        ("user-3", "a"),
        ("user-4", "b"),
    ] {
        assert_eq!(
            at("thirds", json!({ "targetingKey": user })),
            v(thirds, "SPLIT"),
            "{user}"
        );
        assert_eq!(
            at("uneven", json!({ "targetingKey": user })),
            v("b", "SPLIT"),
            "{user}"
        );
    }
    assert_eq!(at("nokey", json!({ "plan": "pro" })), v("dflt", "DEFAULT"));
    assert_eq!(at("nokey", json!({})), v("off", "TARGETING_MATCH"));
    assert_eq!(at("catkey", json!({})), v("c", "TARGETING_MATCH"));
    assert_eq!(at("seeded", json!({})), v("c", "TARGETING_MATCH"));
    assert_eq!(
        at("between", json!({ "score": 82 })),
        v("out", "TARGETING_MATCH")
    );
    assert_eq!(
        at("between", json!({ "score": 30 })),
        v("in", "TARGETING_MATCH")
    );
    assert_eq!(at("young", json!({})), v("yes", "TARGETING_MATCH"));
    assert_eq!(at("mine", json!({})), v("yes", "TARGETING_MATCH"));
    assert_eq!(at("off", json!({})), (None, "DISABLED".to_string()));
}

/// What is reported as lossy says why, and the import still validates.
#[test]
fn lossy_reports_are_clear() {
    let def = json!({ "flags": {
        "order": { "state": "ENABLED", "variants": { "a": "a", "b": "b" }, "defaultVariant": "a",
            "targeting": { "if": [{ "<": [{ "var": "name" }, "m"] }, "b", "a"] } },
        "broken": { "state": "ENABLED", "variants": { "a": "a" }, "defaultVariant": "a",
            "targeting": { "if": [{ "$ref": "nope" }, "a", "a"] } }
    }});
    let imported = flagd::translate(&def).unwrap();
    let messages: Vec<String> = imported
        .lossy
        .iter()
        .map(|l| format!("{}: {}", l.flag, l.message))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("order: ") && m.contains("string order")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("broken: ") && m.contains("PARSE_ERROR")),
        "{messages:?}"
    );
    let doc: FlagsDocument = serde_json::from_value(Value::Object(imported.document)).unwrap();
    Snapshot::compile(&doc).expect("validates");
}
