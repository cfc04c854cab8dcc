//! MiFID II order routing: a rollout must carry a best-execution guard, which rolls
//! it back when the treated variant's tracked execution quality is worse than the
//! control's, and shows its figures in the rollout's last check.

use super::*;

/// `order.executed` values of one variant: `n` values of mean `mean`, variance 4.
fn executed(n: u64, mean: f64) -> Value {
    let nf = n as f64;
    json!({ "count": n, "value_sum": nf * mean, "value_sq_sum": 4.0 * (nf - 1.0) + nf * mean * mean,
            "value_count": n })
}

#[test]
fn order_routing_rollouts_need_a_best_execution_guard_which_rolls_back_worse_execution() {
    let (data, admin, mut clock) = setup("best-ex");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "nina", &["editor"]);
    let approvers = [
        s.token(&admin, "carla", &["COMPLIANCE"]),
        s.token(&admin, "paul", &["PRODUCT_OWNER"]),
        s.token(&admin, "tom", &["TECH_LEAD"]),
        s.token(&admin, "sara", &["SECURITY"]),
    ];
    let approve = |id: &Value| {
        for token in &approvers {
            s.post(&format!("/api/v1/changes/{id}/approve"), token, json!({}));
        }
    };
    let sdk = s.sdk_key(&admin, "production");
    let mut flag = simple_flag("smart-router");
    flag["compliance"] = json!(["MiFID_II"]);
    flag["affected_systems"] = json!(["order_routing"]);
    let c = s
        .post(FLAGS, &editor, json!({ "flag": flag }))
        .expect(201)
        .json;
    approve(&c["id"]);
    s.get(&format!("{FLAGS}/smart-router"), &editor).expect(200);
    let rollouts = format!("{FLAGS}/smart-router/rollouts");

    // Without the guard: refused, naming the policy and what to add.
    let r = s
        .post(&rollouts, &editor, json!({ "stages": [5, 100] }))
        .expect(422);
    assert_eq!(r.json["error"]["code"], "policy_violation");
    assert!(
        r.text.contains("mifid2-best-execution") && r.text.contains("best_execution"),
        "{}",
        r.text
    );
    // A guard that cannot be judged: refused with the reason.
    let r = s
        .post(
            &rollouts,
            &editor,
            json!({ "best_execution": [{ "event": "order.executed", "metric": "latency" }] }),
        )
        .expect(400);
    assert!(r.text.contains("latency"), "{}", r.text);
    let r = s
        .post(
            &rollouts,
            &editor,
            json!({ "best_execution": [{ "event": "order.executed", "confidence": 1.5 }] }),
        )
        .expect(400);
    assert!(r.text.contains("confidence"), "{}", r.text);

    // With it: accepted (and, MiFID II, waiting for approval).
    let guard = json!({ "event": "order.executed", "metric": "value", "tolerance": 0.5,
                        "confidence": 0.95, "min_samples": 50 });
    let r = s
        .post(
            &rollouts,
            &editor,
            json!({ "stages": [5, 100], "min_samples": 10, "best_execution": [guard] }),
        )
        .expect(201)
        .json;
    assert_eq!(r["guards"]["best_execution"][0]["tolerance"], 0.5);
    let id = r["id"].as_i64().unwrap();
    approve(&r["change_id"]);
    wait_for(&s, &editor, id, |r| r["status"] == "running");

    // Healthy requests, but the treatment's fills improve prices 2 bps less.
    clock.advance(20_000);
    let mut b = batch("x1", clock.now(), "smart-router", "on", (500, 200, 0, 10.0));
    b["flags"]["smart-router"]["variants"]["off"] =
        b["flags"]["smart-router"]["variants"]["on"].clone();
    b["events"]["order.executed"] = json!({ "count": 400, "attributions": { "smart-router": {
        "on": executed(200, 0.0), "off": executed(200, 2.0) } } });
    s.post("/api/v1/metrics", &sdk, b).expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "rolled_back");
    let reason = r["history"].as_array().unwrap().last().unwrap()["details"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("best execution: order.executed"),
        "{reason}"
    );
    let check = &r["last_check"]["figures"]["best_execution"][0];
    assert_eq!(check["decision"], "worse", "{check}");
    assert_eq!(
        (check["treatment_n"].as_u64(), check["control_n"].as_u64()),
        (Some(200), Some(200))
    );
    assert_eq!(check["treatment_mean"], 0.0);
    assert_eq!(check["control_mean"], 2.0);
    let high = check["interval"][1].as_f64().unwrap();
    assert!(high < -0.5, "{check}");
}
