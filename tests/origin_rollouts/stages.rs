//! Rollouts that advance stage by stage on healthy metrics, survive a crash, and roll back on errors.

use super::*;

#[test]
fn a_healthy_rollout_advances_stage_by_stage_and_survives_a_crash() {
    let (data, admin, mut clock) = setup("healthy");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("new-search") }))
        .expect(201);
    let r = start_rollout(
        &s,
        &editor,
        "new-search",
        json!({ "stages": [10, 50, 100], "stage_duration": "10m", "min_samples": 20 }),
    );
    assert_eq!(
        (r["status"].as_str(), r["percentage"].as_f64()),
        (Some("running"), Some(10.0)),
        "{r}"
    );
    let id = r["id"].as_i64().unwrap();
    assert_eq!(
        weights(&s, &editor, "new-search")["rollout"]["weights"],
        json!({ "on": 10, "off": 90 })
    );

    // Healthy traffic, but the stage has not run its ten minutes: no advance.
    clock.advance(20_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        // A mean the default JSON parser reads back one unit in the last place off.
        batch(
            "b1",
            clock.now(),
            "new-search",
            "on",
            (200, 100, 0, 100.0 / 7.0),
        ),
    )
    .expect(200);
    let checked = wait_for(&s, &editor, id, |r| {
        r["last_check"]["figures"]["samples"] == 100
    });
    assert_eq!(checked["stage"], 1);

    // A crash mid-rollout loses nothing.
    s.kill();
    let s = Server::start_with(&data, &[clock.var()]);
    // The stage's figures survived: once its ten minutes are up, it advances.
    clock.advance(11 * 60_000);
    let r = wait_for(&s, &editor, id, |r| r["stage"] == 2);
    assert_eq!(r["percentage"], 50.0);
    assert_eq!(
        weights(&s, &editor, "new-search")["rollout"]["weights"],
        json!({ "on": 50, "off": 50 })
    );

    // The new stage needs its own samples: the old window does not count.
    clock.advance(11 * 60_000);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s.get(&format!("/api/v1/rollouts/{id}"), &editor).json["stage"],
        2
    );
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("b3", clock.now(), "new-search", "on", (300, 100, 0, 30.0)),
    )
    .expect(200);
    wait_for(&s, &editor, id, |r| r["stage"] == 3);
    clock.advance(11 * 60_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("b4", clock.now(), "new-search", "on", (400, 100, 0, 25.0)),
    )
    .expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "completed");
    let events: Vec<&str> = r["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["rollout.advanced", "rollout.advanced", "rollout.completed"]
    );
    assert_eq!(
        weights(&s, &editor, "new-search")["rollout"]["weights"],
        json!({ "on": 100, "off": 0 })
    );
    let audit = s.get("/api/v1/audit?action=rollout.advanced", &editor).json;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 2);
    // The figures recorded leave a chain that verifies: the server's, a data
    // directory's and an export's (`vexil audit verify FILE`).
    let verify = s.get("/api/v1/audit/verify", &editor).json;
    assert_eq!(verify["ok"], true, "{verify}");
    let mut args = vec!["audit", "verify", "--data", data.arg()];
    args.extend(data.database_args());
    let out = vexil(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = data.path().join("export.json");
    let all = s.get("/api/v1/audit?limit=1000", &editor).json;
    std::fs::write(&export, all["entries"].to_string()).unwrap();
    let out = vexil(&["audit", "verify", export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The CLI shows it.
    let out = vexil_as(
        &s,
        &editor,
        &["rollout", "status", "new-search", "--env", "production"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("completed") && text.contains("10 → 50 → 100"),
        "{text}"
    );
}

#[test]
fn errors_above_the_guard_roll_back_automatically() {
    let (data, admin, mut clock) = setup("rollback");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    s.post(
        FLAGS,
        &editor,
        json!({ "flag": simple_flag("checkout-v3") }),
    )
    .expect(201);
    s.post(
        &format!("{FLAGS}/checkout-v3/rollout"),
        &editor,
        json!({ "percentage": 5 }),
    )
    .expect(200);
    let id = start_rollout(
        &s,
        &editor,
        "checkout-v3",
        json!({ "stages": [25, 100], "min_samples": 50 }),
    )["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        weights(&s, &editor, "checkout-v3")["rollout"]["weights"],
        json!({ "on": 25, "off": 75 })
    );
    // 3 % of the treated variant's outcomes fail: above the seed's 1 %.
    clock.advance(60_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("e1", clock.now(), "checkout-v3", "on", (500, 200, 6, 40.0)),
    )
    .expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "rolled_back");
    let last = r["history"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("error rate 3.00% > 1%"),
        "{last}"
    );
    assert_eq!(last["details"]["to"], 5.0);
    // Back at the starting percentage, published and audited with the figures.
    assert_eq!(
        weights(&s, &editor, "checkout-v3")["rollout"]["weights"],
        json!({ "on": 5, "off": 95 })
    );
    let audit = s
        .get("/api/v1/audit?action=rollout.rolled_back", &editor)
        .json;
    assert_eq!(audit["entries"][0]["details"]["figures"]["samples"], 200);
    // A rolled-back rollout is over; a new one may start.
    s.post(&format!("/api/v1/rollouts/{id}/resume"), &editor, json!({}))
        .expect(409);
}
