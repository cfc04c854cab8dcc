//! Clinical rollouts: adverse events stop them, safety guards are mandatory, high risk waits for approval, level 3 kills.

use super::*;

#[test]
fn an_adverse_event_stops_a_clinical_rollout_and_high_risk_rollouts_wait_for_approval() {
    let (data, admin, mut clock) = setup("guards");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "nina", &["editor"]);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    let sdk = s.sdk_key(&admin, "production");
    let mut flag = simple_flag("sepsis-alerts");
    flag["risk"] = json!("high");
    let c = s
        .post(FLAGS, &editor, json!({ "flag": flag }))
        .expect(201)
        .json;
    s.post(
        &format!("/api/v1/changes/{}/approve", c["id"]),
        &po,
        json!({}),
    )
    .expect(200);
    let r = start_rollout(
        &s,
        &editor,
        "sepsis-alerts",
        json!({ "stages": [5, 100], "guards": ["adverse_event:max=0"], "min_samples": 10 }),
    );
    assert_eq!(r["status"], "waiting_approval");
    let id = r["id"].as_i64().unwrap();
    s.post(
        &format!("{FLAGS}/sepsis-alerts/rollouts"),
        &editor,
        json!({}),
    )
    .expect(409);
    s.post(
        &format!("/api/v1/changes/{}/approve", r["change_id"]),
        &po,
        json!({}),
    )
    .expect(200);
    wait_for(&s, &editor, id, |r| r["status"] == "running");

    // Pause and resume.
    s.post(&format!("/api/v1/rollouts/{id}/pause"), &editor, json!({}))
        .expect(200);
    s.post(&format!("/api/v1/rollouts/{id}/pause"), &editor, json!({}))
        .expect(409);
    s.post(&format!("/api/v1/rollouts/{id}/resume"), &editor, json!({}))
        .expect(200);
    // One adverse event, however healthy the rest.
    clock.advance(20_000);
    let mut b = batch("a1", clock.now(), "sepsis-alerts", "on", (50, 20, 0, 10.0));
    b["events"]["adverse_event"] =
        json!({ "count": 1, "attributions": { "sepsis-alerts": { "on": { "count": 1 } } } });
    s.post("/api/v1/metrics", &sdk, b).expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "rolled_back");
    assert!(
        r["history"].as_array().unwrap().last().unwrap()["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("adverse_event happened 1 times > 0")
    );

    // Bad plans.
    s.post(
        &format!("{FLAGS}/sepsis-alerts/rollouts"),
        &editor,
        json!({ "stages": [50, 10] }),
    )
    .expect(400);
    s.post(
        &format!("{FLAGS}/sepsis-alerts/rollouts"),
        &editor,
        json!({ "guards": ["adverse_event:sometimes"] }),
    )
    .expect(400);
    s.post(
        &format!("{FLAGS}/sepsis-alerts/rollouts"),
        &editor,
        json!({ "stage_duration": "a while" }),
    )
    .expect(400);
    s.post(&format!("{FLAGS}/nope/rollouts"), &editor, json!({}))
        .expect(404);
}

#[test]
fn patient_safety_rollouts_must_carry_safety_guards_and_level_3_kills_on_a_breach() {
    let (data, admin, mut clock) = setup("safety");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "nina", &["editor"]);
    let approvers = [
        s.token(&admin, "paul", &["PRODUCT_OWNER"]),
        s.token(&admin, "tom", &["TECH_LEAD"]),
        s.token(&admin, "sara", &["SECURITY"]),
    ];
    let sdk = s.sdk_key(&admin, "production");
    let approve = |change: &Value| {
        for token in &approvers {
            s.post(
                &format!(
                    "/api/v1/changes/{}/approve",
                    change["id"]
                        .as_i64()
                        .or(change["change_id"].as_i64())
                        .unwrap()
                ),
                token,
                json!({}),
            );
        }
    };
    // Critical clinical impact: oversight level 3 (derived risk critical).
    let mut flag = simple_flag("dosing-assist");
    flag["clinical_impact"] = json!("critical");
    flag["clinical_systems_affected"] = json!(["pharmacy_system"]);
    flag["on_call"] = json!(["dr-oz", "dr-who"]);
    approve(
        &s.post(FLAGS, &editor, json!({ "flag": flag }))
            .expect(201)
            .json,
    );
    let rollouts = format!("{FLAGS}/dosing-assist/rollouts");

    // Without the safety guards, or with a clinical system nobody probes: refused.
    let r = s
        .post(
            &rollouts,
            &editor,
            json!({ "stages": [5, 100], "guards": ["adverse_event:max=0"] }),
        )
        .expect(422);
    assert_eq!(r.json["error"]["code"], "policy_violation");
    let messages = r.text;
    assert!(
        messages.contains("medication_error:max=0") && messages.contains("patient-safety-guards"),
        "{messages}"
    );
    assert!(
        messages.contains("pharmacy_system") && messages.contains("[[health.systems]]"),
        "{messages}"
    );
    drop(s);

    // Probed and guarded: accepted; a breach sets it back and kills it.
    let (probe, _up) = healthy_endpoint();
    data.configure(&format!(
        "[[health.systems]]\nname = \"pharmacy_system\"\nurl = \"{probe}\"\n"
    ));
    let s = Server::start_with(&data, &[clock.var()]);
    let r = s
        .post(
            &rollouts,
            &editor,
            json!({ "stages": [5, 100], "guards": ["adverse_event:max=0", "medication_error:max=0"], "min_samples": 10 }),
        )
        .expect(201)
        .json;
    let id = r["id"].as_i64().unwrap();
    for token in &approvers {
        s.post(
            &format!("/api/v1/changes/{}/approve", r["change_id"]),
            token,
            json!({}),
        );
    }
    wait_for(&s, &editor, id, |r| r["status"] == "running");
    clock.advance(20_000);
    let mut b = batch("m1", clock.now(), "dosing-assist", "on", (50, 20, 0, 10.0));
    b["events"]["medication_error"] =
        json!({ "count": 1, "attributions": { "dosing-assist": { "on": { "count": 1 } } } });
    s.post("/api/v1/metrics", &sdk, b).expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "rolled_back");
    let last = r["history"].as_array().unwrap().last().unwrap().clone();
    assert!(last["details"]["killed"].is_i64(), "level 3 kills: {last}");
    assert_eq!(
        last["details"]["on_call"],
        json!(["dr-oz", "dr-who"]),
        "the notice names who is on call"
    );
    let flag = s
        .get(&format!("{FLAGS}/dosing-assist"), &editor)
        .expect(200)
        .json;
    assert_eq!(flag["flag"]["enabled"], false, "{flag}");
}
