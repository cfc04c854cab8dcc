//! The document as a whole: what parses, what is ignored, schema versions, and every
//! problem reported at once.

use super::*;

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
