//! Rollouts, rollbacks, promotion, bulk updates and insights.

use super::support::*;
use serde_json::json;

#[test]
fn rollouts_rollbacks_promotion_bulk_updates_and_insights() {
    let (data, admin) = DataDir::init("lifecycle");
    data.set("settled_days", "settled_days = 0");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    let staging = "/api/v1/environments/staging/flags";
    s.post(
        staging,
        &editor,
        json!({ "flag": simple_flag("checkout-v2") }),
    )
    .expect(201);

    // Rollout percentages keep the weight order so raising one only adds units.
    let c = s
        .post(
            &format!("{staging}/checkout-v2/rollout"),
            &editor,
            json!({ "percentage": 25 }),
        )
        .expect(200)
        .json;
    assert_eq!(c["status"], "applied");
    let flag = s
        .get(&format!("{staging}/checkout-v2"), &editor)
        .expect(200)
        .json;
    assert_eq!(flag["rollout_percentage"], 25.0);
    assert_eq!(
        flag["flag"]["fallthrough"]["rollout"]["weights"],
        json!({ "on": 25, "off": 75 })
    );
    s.post(
        &format!("{staging}/checkout-v2/rollout"),
        &editor,
        json!({ "percentage": 50.5 }),
    )
    .expect(200);
    let flag = s
        .get(&format!("{staging}/checkout-v2"), &editor)
        .expect(200)
        .json;
    assert_eq!(flag["serving"], "on 50.5% / off 49.5%");
    assert_eq!(flag["revision"], 3);

    // Rollback restores the previous definition as a new revision.
    let c = s
        .post(
            &format!("{staging}/checkout-v2/rollback"),
            &editor,
            json!({}),
        )
        .expect(200)
        .json;
    assert_eq!(c["kind"], "rollback");
    let flag = s
        .get(&format!("{staging}/checkout-v2"), &editor)
        .expect(200)
        .json;
    assert_eq!(flag["rollout_percentage"], 25.0);
    assert_eq!(flag["revision"], 4);
    let history = s
        .get(&format!("{staging}/checkout-v2/history"), &editor)
        .expect(200)
        .json;
    assert_eq!(history["revisions"].as_array().unwrap().len(), 4);

    // Promotion copies the definition into production as a change there.
    let c = s
        .post(
            "/api/v1/promote",
            &editor,
            json!({ "flag": "checkout-v2", "from": "staging", "to": "production" }),
        )
        .expect(200)
        .json;
    assert_eq!(
        (c["environment"].as_str(), c["status"].as_str()),
        (Some("production"), Some("applied"))
    );
    assert!(flag_keys(&verified_payload(&s, "production", &editor))
        .contains(&"checkout-v2".to_string()));
    s.post(
        "/api/v1/promote",
        &editor,
        json!({ "flag": "nope", "from": "staging", "to": "production" }),
    )
    .expect(404);
    s.post(
        "/api/v1/promote",
        &editor,
        json!({ "flag": "checkout-v2", "from": "staging", "to": "staging" }),
    )
    .expect(400);

    // Bulk updates: all or nothing.
    let mut risky = simple_flag("pricing-v2");
    risky["risk"] = json!("high");
    let pending = s
        .post(staging, &editor, json!({ "flag": risky }))
        .expect(201)
        .json;
    s.post(
        &format!("/api/v1/changes/{}/approve", pending["id"]),
        &po,
        json!({}),
    )
    .expect(200);
    let version = verified_payload(&s, "staging", &editor)["version"].clone();
    let bad = json!({ "updates": [
        { "flag_id": "checkout-v2", "operation": "update_percentage", "parameters": { "percentage": 75 } },
        { "flag_id": "missing-flag", "operation": "toggle_flag", "parameters": { "enabled": false } },
        { "flag_id": "checkout-v2", "operation": "explode", "parameters": {} },
    ]});
    let r = s
        .post("/api/v1/environments/staging/bulk", &editor, bad)
        .expect(422);
    assert_eq!(
        (
            r.json["total"].as_u64(),
            r.json["failed"].as_u64(),
            r.json["applied"].as_u64()
        ),
        (Some(3), Some(2), Some(0))
    );
    assert_eq!(r.json["results"][0]["status"], "not_applied");
    assert!(r.json["results"][2]["error"]
        .as_str()
        .unwrap()
        .contains("explode"));
    assert_eq!(
        verified_payload(&s, "staging", &editor)["version"],
        version,
        "nothing applied"
    );
    assert_eq!(
        s.get(&format!("{staging}/checkout-v2"), &editor).json["rollout_percentage"],
        25.0
    );
    let good = json!({ "updates": [
        { "flag_id": "checkout-v2", "operation": "update_percentage", "parameters": { "percentage": 75 } },
        { "flag_id": "checkout-v2", "operation": "update_rules", "parameters": { "targeting_rules": [
            { "id": "staff", "when": { "attr": "email", "op": "ends_with", "values": ["@example.com"] }, "serve": { "variant": "on" } } ] } },
        { "flag_id": "pricing-v2", "operation": "toggle_flag", "parameters": { "enabled": false } },
        { "flag_id": "pricing-v2", "operation": "toggle_flag", "parameters": { "enabled": true } },
    ]});
    let r = s
        .post("/api/v1/environments/staging/bulk", &editor, good)
        .expect(200)
        .json;
    assert_eq!(
        (
            r["applied"].as_u64(),
            r["pending"].as_u64(),
            r["failed"].as_u64()
        ),
        (Some(3), Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(r["results"][3]["status"], "pending", "{r}");
    let payload = verified_payload(&s, "staging", &editor);
    assert_eq!(
        payload["version"].as_u64().unwrap(),
        version.as_u64().unwrap() + 1,
        "one snapshot for the batch"
    );
    let checkout = payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "checkout-v2")
        .unwrap()
        .clone();
    assert_eq!(checkout["rules"][0]["id"], "staff");

    // Archive: kept, no longer published, reported if still needed.
    let c = s
        .post(
            &format!("{staging}/checkout-v2/archive"),
            &editor,
            json!({ "reason": "done" }),
        )
        .expect(200)
        .json;
    assert_eq!(c["status"], "applied");
    assert!(
        !flag_keys(&verified_payload(&s, "staging", &editor)).contains(&"checkout-v2".to_string())
    );
    let all = s
        .get(&format!("{staging}?archived=true"), &editor)
        .expect(200)
        .json;
    assert!(all["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["key"] == "checkout-v2" && f["archived"] == true));
    s.post(
        &format!("{staging}/checkout-v2/kill"),
        &editor,
        json!({ "reason": "x" }),
    )
    .expect(409);

    // Insights (settled after 0 days in this origin's settings).
    let insights = s
        .get("/api/v1/insights?environment=staging", &editor)
        .expect(200)
        .json;
    let kinds: Vec<(&str, &str)> = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["flag"].as_str().unwrap(), i["kind"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("pricing-v2", "fully_off")), "{kinds:?}");
    s.get("/api/v1/insights?environment=nowhere", &editor)
        .expect(404);
}

/// The variant and reason the staging snapshot serves flag `imp` for a `pro`
/// context with `account` (or none), the caller's default being `"CALLER"`.
fn imported_answers(s: &Server, token: &str, accounts: &[String]) -> Vec<(String, String)> {
    let payload = verified_payload(s, "staging", token);
    let doc: vexil::engine::FlagsDocument = serde_json::from_value(payload).unwrap();
    let snap = vexil::engine::Snapshot::compile(&doc).expect("the snapshot compiles");
    let ask = |account: Option<&String>| {
        let mut ctx = json!({ "targetingKey": "t", "plan": "pro" });
        if let Some(a) = account {
            ctx["account"] = json!(a);
        }
        let d = snap.details_for_context("imp", &ctx, json!("CALLER"), None, now_ms());
        (
            d.variant.unwrap_or_else(|| "CALLER".into()),
            d.reason.as_str().to_string(),
        )
    };
    accounts.iter().map(Some).chain([None]).map(ask).collect()
}

#[test]
fn raising_an_imported_rollouts_percentage_keeps_its_total_and_missing_unit() {
    let (data, admin) = DataDir::init("imported-rollout");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let staging = "/api/v1/environments/staging/flags";
    // As `vexil import` writes an Unleash strategy whose variant weights sum to 5
    // (`on` 1 of them): hashed into 5 positions, contexts without an account go on
    // to the fallthrough.
    let mut flag = simple_flag("imp");
    flag["rules"] = json!([{ "id": "r1",
        "when": { "attr": "plan", "op": "eq", "values": ["pro"] },
        "serve": { "rollout": { "by": "account", "salt": "imp", "bucketing": "unleash_variants",
                                "total": 5, "missing_unit": "fallthrough",
                                "weights": { "on": 0.001, "off": 99.999 } } } }]);
    s.post(staging, &editor, json!({ "flag": flag }))
        .expect(201);
    let accounts: Vec<String> = (0..200).map(|i| format!("acct-{i}")).collect();
    let before = imported_answers(&s, &editor, &accounts);
    assert_eq!(
        before.last().unwrap(),
        &("off".to_string(), "DEFAULT".to_string())
    );

    s.post(
        &format!("{staging}/imp/rollout"),
        &editor,
        json!({ "percentage": 40, "rule": "r1" }),
    )
    .expect(200);
    let after = imported_answers(&s, &editor, &accounts);
    for (i, (was, now)) in before.iter().zip(&after).enumerate() {
        if was.0 == "on" {
            assert_eq!(now, was, "{} stays on", accounts[i]);
        }
    }
    let on = |answers: &[(String, String)]| answers.iter().filter(|a| a.0 == "on").count();
    assert!(on(&after) > on(&before), "raising adds units");
    assert!(
        (60..100).contains(&on(&after)),
        "two of five: {}",
        on(&after)
    );
    // Without an account: the fallthrough, as before (not TARGETING_KEY_MISSING).
    assert_eq!(after.last(), before.last());

    let stored = s.get(&format!("{staging}/imp"), &editor).expect(200).json;
    assert_eq!(
        stored["flag"]["rules"][0]["serve"]["rollout"],
        json!({ "by": "account", "salt": "imp", "bucketing": "unleash_variants",
                "total": 5, "missing_unit": "fallthrough",
                "weights": { "on": 40, "off": 60 } })
    );

    // 50 % is two and a half of the five positions: refused, naming the nearest.
    let refused = s
        .post(
            &format!("{staging}/imp/rollout"),
            &editor,
            json!({ "percentage": 50, "rule": "r1" }),
        )
        .expect(400)
        .json;
    assert!(
        refused
            .to_string()
            .contains("the nearest are 40 (2 of 5) and 60 (3 of 5)"),
        "{refused}"
    );
    // A progressive rollout's stages are checked the same way before it starts.
    let refused = s
        .post(
            &format!("{staging}/imp/rollouts"),
            &editor,
            json!({ "stages": [60, 90, 100], "rule": "r1" }),
        )
        .expect(400)
        .json;
    assert!(
        refused
            .to_string()
            .contains("stage percentage 90 cannot be served exactly"),
        "{refused}"
    );
}
