//! Clauses: patterns, operator values, dates, and the shape of a clause.

use super::*;

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
