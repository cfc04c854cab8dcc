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
    // The interval's ends rounded, so that another platform's `ln` does not differ.
    let mut shown = r.clone();
    for path in [
        "/last_check/figures/best_execution/0/interval",
        "/history/0/details/figures/best_execution/0/interval",
    ] {
        for end in shown.pointer_mut(path).unwrap().as_array_mut().unwrap() {
            *end = json!((end.as_f64().unwrap() * 1e9).round() / 1e9);
        }
    }
    support::contract::check_value("rollout_best_execution", shown);
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
    // `vexil rollout status` shows the check.
    let out = vexil_as(
        &s,
        &editor,
        &["rollout", "status", "smart-router", "--env", "production"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let shown = format!(
        "  best execution order.executed: control 2 (200 values), treatment 0 (200 values), interval [{}, {high}] against 0.5 tolerated: worse\n",
        check["interval"][0]
    );
    assert!(text.contains(&shown), "{text}");
}

/// A treatment no worse than control advances while the evidence is undecided, waits
/// while a variant has too few values, and completes at 100 %, where no control is
/// left to compare with.
#[test]
fn a_best_execution_guard_holds_for_too_few_values_and_lets_a_fair_treatment_complete() {
    let (data, admin, mut clock) = setup("best-ex-fair");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "nina", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    s.post(
        FLAGS,
        &editor,
        json!({ "flag": simple_flag("fair-router") }),
    )
    .expect(201);
    let guard = json!({ "event": "order.executed", "tolerance": 0.5, "min_samples": 50 });
    let r = start_rollout(
        &s,
        &editor,
        "fair-router",
        json!({ "stages": [50, 100], "stage_duration": "1m", "min_samples": 10,
                    "best_execution": [guard] }),
    );
    let id = r["id"].as_i64().unwrap();
    wait_for(&s, &editor, id, |r| r["status"] == "running");
    let post = |id: &str, at: i64, on: Value, off: Option<Value>| {
        let mut b = batch(id, at, "fair-router", "on", (500, 100, 0, 10.0));
        let mut calls = on["count"].as_u64().unwrap();
        let mut attributed = json!({ "on": on });
        if let Some(off) = off {
            calls += off["count"].as_u64().unwrap();
            b["flags"]["fair-router"]["variants"]["off"] =
                b["flags"]["fair-router"]["variants"]["on"].clone();
            attributed["off"] = off;
        }
        b["events"]["order.executed"] =
            json!({ "count": calls, "attributions": { "fair-router": attributed } });
        s.post("/api/v1/metrics", &sdk, b).expect(200);
    };

    // Too few control values: the stage has run its minute but does not advance.
    clock.advance(20_000);
    post(
        "f1",
        clock.now(),
        executed(200, 1.0),
        Some(executed(20, 1.0)),
    );
    clock.advance(60_000);
    // A check after the minute was up, on the batch's figures.
    let after = vexil::engine::time::format_rfc3339_ms(clock.now());
    let held = wait_for(&s, &editor, id, |r| {
        let c = &r["last_check"];
        c["at"].as_str() >= Some(after.as_str())
            && c["figures"]["best_execution"][0]["control_n"] == 20
    });
    let check = &held["last_check"]["figures"]["best_execution"][0];
    assert_eq!(check["decision"], "insufficient", "{check}");
    assert_eq!(held["stage"], 1, "{held}");
    assert_eq!(held["last_check"]["enough_samples"], false, "{held}");

    // Enough of both, the same means: undecided or not worse, and it advances.
    post(
        "f2",
        clock.now(),
        executed(200, 1.0),
        Some(executed(200, 1.0)),
    );
    let r = wait_for(&s, &editor, id, |r| r["stage"] == 2);
    let check = &r["history"].as_array().unwrap().last().unwrap()["details"]["figures"]
        ["best_execution"][0];
    assert!(
        check["decision"] == "undecided" || check["decision"] == "not_worse",
        "{check}"
    );

    // At 100 % only the treatment is served: no control, and it completes.
    clock.advance(20_000);
    post("f3", clock.now(), executed(200, 1.0), None);
    clock.advance(60_000);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "completed");
    assert_eq!(
        r["last_check"]["figures"]["best_execution"][0]["decision"], "no_control",
        "{r}"
    );
}
