//! The typed rollout answers keep the wire format (see `support::contract`): a
//! rollout's last check, with its figures and the keys they rest on, and the
//! scheduler's events in its history (advanced, completed, rolled back, aborted),
//! compared with captures taken before they were typed and read back as
//! `api::Rollout`; and `vexil rollout status`, which reads them, prints them.

use super::*;
use support::contract::{check_value, round_trip};

/// What `vexil rollout status` prints about `flag`.
fn status(s: &Server, token: &str, flag: &str) -> String {
    let out = vexil_as(
        s,
        token,
        &["rollout", "status", flag, "--env", "production"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn scheduler_answers_keep_their_json() {
    let (data, admin, mut clock) = setup("contract-scheduler");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    let sdk = s.sdk_key(&admin, "production");

    // Checked, advanced, then completed.
    s.post(
        FLAGS,
        &editor,
        json!({ "flag": simple_flag("contract-go") }),
    )
    .expect(201);
    let id = start_rollout(
        &s,
        &editor,
        "contract-go",
        json!({ "stages": [10, 100], "stage_duration": "10m", "min_samples": 20,
                    "guards": ["checkout_failed:rate<=0.5", "adverse_event:max=0"] }),
    )["id"]
        .as_i64()
        .unwrap();
    clock.advance(20_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("g1", clock.now(), "contract-go", "on", (200, 100, 0, 12.5)),
    )
    .expect(200);
    let r = wait_for(&s, &editor, id, |r| {
        r["last_check"]["figures"]["samples"] == 100
    });
    check_value("rollout_checked", r);
    let text = status(&s, &editor, "contract-go");
    assert!(
        text.contains(
            ": 200 evaluations, 100 samples, error rate 0, success rate 100, latency 12.5\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  metrics from SDK key #4 edge-production (server): 1 batches, 200 evaluations, 100 samples\n"),
        "{text}"
    );
    clock.advance(11 * 60_000);
    let r = wait_for(&s, &editor, id, |r| {
        r["stage"] == 2 && r["last_check"]["stage"] == 2
    });
    check_value("rollout_advanced", r);
    let text = status(&s, &editor, "contract-go");
    assert!(
        text.contains("0 evaluations, 0 samples, error rate -, success rate -, latency -\n"),
        "{text}"
    );
    assert!(
        text.contains(" rollout.advanced (on metrics of #4 edge-production)\n"),
        "{text}"
    );
    clock.advance(11 * 60_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("g2", clock.now(), "contract-go", "on", (300, 100, 0, 30.0)),
    )
    .expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "completed");
    check_value("rollout_completed", r);

    // Rolled back: 3 % of outcomes fail.
    s.post(
        FLAGS,
        &editor,
        json!({ "flag": simple_flag("contract-back") }),
    )
    .expect(201);
    s.post(
        &format!("{FLAGS}/contract-back/rollout"),
        &editor,
        json!({ "percentage": 5 }),
    )
    .expect(200);
    let id = start_rollout(
        &s,
        &editor,
        "contract-back",
        json!({ "stages": [25, 100], "min_samples": 50 }),
    )["id"]
        .as_i64()
        .unwrap();
    clock.advance(60_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch(
            "b1",
            clock.now(),
            "contract-back",
            "on",
            (500, 200, 6, 40.0),
        ),
    )
    .expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "rolled_back");
    check_value("rollout_rolled_back", r);
    let text = status(&s, &editor, "contract-back");
    assert!(text.contains("  breach: error rate 3.00% > 1%\n"), "{text}");
    assert!(
        text.contains(" rollout.rolled_back: rollout #2 rolled back at 25%: error rate 3.00% > 1%; success rate 97.00% < 99% (on metrics of #4 edge-production)\n"),
        "{text}"
    );

    // Aborted by the scheduler: the first stage's change was rejected.
    let mut risky = simple_flag("contract-risky");
    risky["risk"] = json!("high");
    let c = s
        .post(FLAGS, &editor, json!({ "flag": risky }))
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
        "contract-risky",
        json!({ "stages": [50, 100] }),
    );
    assert_eq!(r["status"], "waiting_approval", "{r}");
    s.post(
        &format!("/api/v1/changes/{}/reject", r["change_id"]),
        &po,
        json!({ "comment": "not now" }),
    )
    .expect(200);
    let id = r["id"].as_i64().unwrap();
    let r = wait_for(&s, &editor, id, |r| r["status"] == "aborted");
    check_value("rollout_aborted", r);
    let text = status(&s, &editor, "contract-risky");
    assert!(
        text.contains(" rollout.aborted: its first stage was rejected\n"),
        "{text}"
    );
}

#[test]
fn scheduler_captures_read_back_as_rollouts() {
    for name in [
        "rollout_checked",
        "rollout_advanced",
        "rollout_completed",
        "rollout_rolled_back",
        "rollout_aborted",
        "rollout_best_execution",
    ] {
        round_trip::<vexil::origin::api::Rollout>(name);
    }
}

/// Checks and history stored before the SDK keys, the clinical kill and the
/// best-execution guard were recorded still read; details that are not their
/// event's do not.
#[test]
fn older_stored_checks_and_history_still_read() {
    use vexil::origin::api::{EventDetails, RolloutEvent, StageCheck};
    let at = "2026-01-01T00:00:00.000Z";
    let figures = json!({ "evaluations": 10, "samples": 0, "error_rate": null, "success_rate": null,
                          "latency_mean_ms": null, "events": {} });
    let check: StageCheck =
        serde_json::from_value(json!({ "at": at, "stage": 1, "percentage": 5.0,
        "figures": figures, "breaches": [], "enough_samples": false }))
        .unwrap();
    assert!(check.keys.is_empty() && check.figures.best_execution.is_empty());
    assert_eq!(check.figures.error_rate, None);
    let history: Vec<RolloutEvent> = serde_json::from_value(json!([
        { "at": at, "event": "pause", "by": "eve" },
        { "at": at, "event": "rollout.advanced", "details": { "rollout": 1, "from": 5.0, "to": 15.0,
          "stage": 2, "figures": figures, "change": 3 } },
        { "at": at, "event": "rollout.rolled_back", "details": { "rollout": 1, "reason": "too many errors",
          "from": 15.0, "to": 0.0, "figures": figures, "breaches": ["error rate"], "change": null } },
        { "at": at, "event": "rollout.completed", "details": { "rollout": 1, "percentage": 100.0,
          "figures": figures } },
        { "at": at, "event": "rollout.aborted", "details": { "rollout": 1,
          "reason": "its first stage was cancelled" } },
    ]))
    .unwrap();
    assert_eq!(history[0].by.as_deref(), Some("eve"));
    match &history[2].details {
        Some(EventDetails::RolledBack(d)) => {
            assert!(d.killed.is_none() && d.on_call.is_empty() && d.keys.is_empty());
            assert_eq!(d.change, None);
        }
        other => panic!("not a rollback: {other:?}"),
    }
    let reasons: Vec<Option<&str>> = history
        .iter()
        .map(|h| h.details.as_ref().and_then(EventDetails::reason))
        .collect();
    assert_eq!(
        reasons,
        [
            None,
            None,
            Some("too many errors"),
            None,
            Some("its first stage was cancelled")
        ]
    );
    let bad = serde_json::from_value::<RolloutEvent>(
        json!({ "at": at, "event": "rollout.advanced", "details": { "rollout": 1, "form": 5.0 } }),
    );
    assert!(bad.is_err(), "{bad:?}");
}
