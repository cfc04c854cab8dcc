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
