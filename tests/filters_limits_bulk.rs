//! Small defects of issue 11: the audit filter matches names literally, names have
//! a documented length limit, and a failed all-or-nothing bulk update reports
//! nothing as applied.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;

const STAGING: &str = "/api/v1/environments/staging";

fn subjects(reply: &Reply) -> Vec<String> {
    reply.json["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", reply.text))
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_audit_filter_matches_names_not_patterns() {
    let (data, admin) = DataDir::init("audit-filter");
    let s = Server::start(&data);
    for key in ["checkout-v2", "search-v2"] {
        s.post(
            &format!("{STAGING}/flags"),
            &admin,
            json!({ "flag": simple_flag(key) }),
        )
        .expect(201);
    }
    let by_flag = |q: &str| s.get(&format!("/api/v1/audit?{q}"), &admin).expect(200);
    for pattern in [
        "flag=%25",
        "flag=_",
        "flag=%25v2",
        "flag=checkout_v2",
        "flag=CHECKOUT-V2",
    ] {
        let found = subjects(&by_flag(pattern));
        assert!(found.is_empty(), "{pattern} matched {found:?}");
    }
    let found = subjects(&by_flag("flag=checkout-v2"));
    assert!(
        !found.is_empty() && found.iter().all(|s| s == "staging/checkout-v2"),
        "{found:?}"
    );
    let found = subjects(&by_flag("environment=staging&flag=search-v2"));
    assert!(!found.is_empty() && found.iter().all(|s| s == "staging/search-v2"));
    let found = subjects(&by_flag("environment=stag%25"));
    assert!(found.is_empty(), "{found:?}");
    let found = subjects(&by_flag("environment=staging"));
    assert!(
        found.contains(&"staging".to_string()) && found.len() >= 3,
        "{found:?}"
    );
    assert!(found
        .iter()
        .all(|s| s == "staging" || s.starts_with("staging/")));
}

#[test]
fn names_longer_than_128_characters_are_refused_with_their_path() {
    let (data, admin) = DataDir::init("name-limits");
    let s = Server::start(&data);
    let long = "a".repeat(5000);
    let r = s
        .post(
            &format!("{STAGING}/flags"),
            &admin,
            json!({ "flag": simple_flag(&long) }),
        )
        .expect(422);
    assert_eq!(r.json["error"]["code"], "invalid");
    let details = &r.json["error"]["details"][0];
    assert_eq!(
        details["path"],
        format!("flags[{}…].key", "a".repeat(32)),
        "{}",
        r.text
    );
    assert_eq!(
        details["message"],
        "the flag key is 5000 characters; at most 128"
    );
    assert!(r.text.len() < 2000, "the answer does not echo the name");
    // At the limit it is accepted.
    s.post(
        &format!("{STAGING}/flags"),
        &admin,
        json!({ "flag": simple_flag(&"a".repeat(128)) }),
    )
    .expect(201);

    let mut rule = simple_flag("rules-v2");
    rule["rules"] = json!([{ "id": "r".repeat(129), "when": { "attr": "country", "op": "eq", "values": ["DE"] }, "serve": { "variant": "on" } }]);
    let r = s
        .post(&format!("{STAGING}/flags"), &admin, json!({ "flag": rule }))
        .expect(422);
    assert_eq!(
        r.json["error"]["details"][0]["path"],
        "flags[rules-v2].rules[0].id"
    );
    let r = s
        .put(
            &format!("{STAGING}/segments/{}", "s".repeat(129)),
            &admin,
            json!({ "clause": { "attr": "country", "op": "eq", "values": ["DE"] } }),
        )
        .expect(422);
    assert!(
        r.text.contains("segment name is 129 characters"),
        "{}",
        r.text
    );
    let r = s
        .put(
            &format!("{STAGING}/exclusion-groups/{}", "g".repeat(129)),
            &admin,
            json!({}),
        )
        .expect(422);
    assert!(r.text.contains("exclusion group name is 129"), "{}", r.text);
    let r = s
        .post(
            "/api/v1/environments",
            &admin,
            json!({ "name": "e".repeat(65) }),
        )
        .expect(400);
    assert!(r.text.contains("at most 64"), "{}", r.text);

    // `vexil flags validate` applies the same limit.
    let file = data.path().join("long.json");
    std::fs::write(&file, json!({ "flags": [simple_flag(&long)] }).to_string()).unwrap();
    let out = vexil(&["flags", "validate", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the flag key is 5000 characters; at most 128"),
        "{err}"
    );
}

#[test]
fn a_failed_bulk_update_reports_nothing_applied() {
    let (data, admin) = DataDir::init("bulk-report");
    let s = Server::start(&data);
    let editor = s.token(&admin, "erin", &["editor"]);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    s.post(
        &format!("{STAGING}/flags"),
        &editor,
        json!({ "flag": simple_flag("checkout-v2") }),
    )
    .expect(201);
    let mut high = simple_flag("pricing-v2");
    high["risk"] = json!("high");
    let pending = s
        .post(
            &format!("{STAGING}/flags"),
            &editor,
            json!({ "flag": high }),
        )
        .expect(201)
        .json;
    s.post(
        &format!("/api/v1/changes/{}/approve", pending["id"]),
        &po,
        json!({}),
    )
    .expect(200);
    let changes_before = s.get("/api/v1/changes?limit=1000", &editor).json["changes"]
        .as_array()
        .unwrap()
        .len();

    let bad = json!({ "updates": [
        { "flag_id": "checkout-v2", "operation": "update_percentage", "parameters": { "percentage": 75 } },
        { "flag_id": "pricing-v2", "operation": "update_percentage", "parameters": { "percentage": 10 } },
        { "flag_id": "missing-flag", "operation": "toggle_flag", "parameters": { "enabled": false } },
    ]});
    let r = s
        .post(&format!("{STAGING}/bulk"), &editor, bad.clone())
        .expect(422);
    let report = &r.json;
    assert_eq!(report["error"]["code"], "bulk_failed");
    assert_eq!(
        (
            report["applied"].as_u64(),
            report["pending"].as_u64(),
            report["not_applied"].as_u64(),
            report["failed"].as_u64()
        ),
        (Some(0), Some(0), Some(2), Some(1)),
        "{report}"
    );
    for i in [0, 1] {
        let result = &report["results"][i];
        assert_eq!(result["status"], "not_applied", "{result}");
        assert!(result.get("change").is_none(), "no change id: {result}");
        assert_eq!(result["note"], "rolled back: operation #2 failed");
    }
    let failed = &report["failed_operation"];
    assert_eq!(
        (failed["index"].as_u64(), failed["flag_id"].as_str()),
        (Some(2), Some("missing-flag")),
        "{report}"
    );
    assert!(
        failed["error"].as_str().unwrap().contains("missing-flag"),
        "{failed}"
    );
    let changes_after: Vec<Value> = s.get("/api/v1/changes?limit=1000", &editor).json["changes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(changes_after.len(), changes_before, "no change was kept");

    // The CLI says the same.
    let file = data.path().join("bulk.json");
    std::fs::write(&file, bad.to_string()).unwrap();
    let out = vexil_as(
        &s,
        &editor,
        &["bulk-update", file.to_str().unwrap(), "--env", "staging"],
    );
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "#0 checkout-v2 update_percentage: not_applied: rolled back: operation #2 failed"
        ) && !stdout.contains("change #")
            && stdout.contains("0 applied, 0 pending approval, 1 failed, 2 rolled back"),
        "{stdout}"
    );
}
