//! Edge metrics and progressive rollouts at the origin: batches posted with SDK keys
//! (as `pkg/` sends them), reports, HIPAA evaluation audit, and rollouts that advance
//! on healthy metrics, roll back on bad ones, wait for approvals, and survive a
//! `kill -9`. Time moves through `VEXIL_CLOCK_FILE`, so ten-minute stages take
//! milliseconds.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;
use vexil::metrics::{Batch, BatchMeta, EventStats, FlagStats, OutcomeStats, VariantStats};

const FLAGS: &str = "/api/v1/environments/production/flags";

/// Moves the origin's clock.
struct Clock {
    path: std::path::PathBuf,
    offset_ms: i64,
}

impl Clock {
    fn new(data: &DataDir) -> Clock {
        let path = data.path().join("clock-offset");
        std::fs::write(&path, "0").unwrap();
        Clock { path, offset_ms: 0 }
    }
    fn advance(&mut self, ms: i64) {
        self.offset_ms += ms;
        std::fs::write(&self.path, self.offset_ms.to_string()).unwrap();
    }
    fn now(&self) -> i64 {
        now_ms() + self.offset_ms
    }
    fn var(&self) -> (&str, &str) {
        ("VEXIL_CLOCK_FILE", self.path.to_str().unwrap())
    }
}

/// Edge traffic: (evaluations, tracked outcomes, failed outcomes, latency ms).
type Traffic = (u64, u64, u64, f64);

/// What edges report: `evaluations` served `variant`, `failures` of `outcomes`
/// tracked `request` outcomes failed, each taking `latency_ms`.
fn batch(id: &str, end_ms: i64, flag: &str, variant: &str, traffic: Traffic) -> Value {
    let (evaluations, outcomes, failures, latency_ms) = traffic;
    let mut b = Batch::new(BatchMeta {
        batch_id: id.into(),
        sdk: "test/1".into(),
        environment: "production".into(),
        snapshot_version: Some(1),
        window_start_ms: end_ms - 1000,
        window_end_ms: end_ms,
    });
    let mut v = VariantStats {
        count: evaluations,
        ..Default::default()
    };
    v.reasons.insert("SPLIT".into(), evaluations);
    v.dimensions.insert(
        "geo.country".into(),
        [("DE".to_string(), evaluations)].into_iter().collect(),
    );
    for i in 0..evaluations.min(500) {
        v.units
            .insert(vexil::metrics::unit_hash(&format!("user-{i}")));
    }
    b.flags.insert(
        flag.into(),
        FlagStats {
            variants: [(variant.to_string(), v)].into_iter().collect(),
            ..Default::default()
        },
    );
    let mut o = OutcomeStats {
        count: outcomes,
        success: outcomes - failures,
        failure: failures,
        ..Default::default()
    };
    for _ in 0..outcomes {
        o.latency.record(latency_ms);
    }
    let mut e = EventStats {
        count: outcomes,
        ..Default::default()
    };
    e.attributions.insert(
        flag.into(),
        [(variant.to_string(), o)].into_iter().collect(),
    );
    b.events.insert("request".into(), e);
    serde_json::to_value(&b).unwrap()
}

fn wait_for(s: &Server, token: &str, id: i64, what: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s
            .get(&format!("/api/v1/rollouts/{id}"), token)
            .expect(200)
            .json;
        if what(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "rollout never got there: {r}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn weights(s: &Server, token: &str, flag: &str) -> Value {
    let payload = verified_payload(s, "production", token);
    payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == flag)
        .unwrap()["fallthrough"]
        .clone()
}

fn setup(name: &str) -> (DataDir, String, Clock) {
    let (data, admin) = DataDir::init(name);
    data.set("check_interval", "check_interval = \"50ms\"");
    let clock = Clock::new(&data);
    (data, admin, clock)
}

#[test]
fn a_healthy_rollout_advances_stage_by_stage_and_survives_a_crash() {
    let (data, admin, mut clock) = setup("healthy");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("new-search") }))
        .expect(201);
    let r = s
        .post(
            &format!("{FLAGS}/new-search/rollouts"),
            &editor,
            json!({ "stages": [10, 50, 100], "stage_duration": "10m", "min_samples": 20 }),
        )
        .expect(201)
        .json;
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
    let out = vexil(&["audit", "verify", "--data", data.arg()]);
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
    let id = s
        .post(
            &format!("{FLAGS}/checkout-v3/rollouts"),
            &editor,
            json!({ "stages": [25, 100], "min_samples": 50 }),
        )
        .expect(201)
        .json["id"]
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
    let r = s
        .post(
            &format!("{FLAGS}/sepsis-alerts/rollouts"),
            &editor,
            json!({ "stages": [5, 100], "guards": ["adverse_event:max=0"], "min_samples": 10 }),
        )
        .expect(201)
        .json;
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
fn metrics_are_ingested_once_reported_per_flag_and_audited_for_hipaa() {
    let (data, admin, mut clock) = setup("metrics");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let staging_sdk = s.sdk_key(&admin, "staging");
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("banner") }))
        .expect(201);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("quiet-flag") }))
        .expect(201);

    let mut b = batch("m1", clock.now(), "banner", "on", (300, 100, 2, 50.0));
    b["audit"] = json!([{ "flag": "banner", "variant": "on", "reason": "SPLIT", "unit": "0123456789abcdef0123456789abcdef", "at_ms": clock.now() },
                        { "flag": "banner", "reason": "DENIED", "at_ms": clock.now() }]);
    let r = s.post("/api/v1/metrics", &sdk, b.clone()).expect(200).json;
    assert_eq!(
        (r["accepted"].as_bool(), r["audit_events"].as_u64()),
        (Some(true), Some(2))
    );
    // A retried batch is acknowledged and not counted twice.
    assert_eq!(
        s.post("/api/v1/metrics", &sdk, b.clone()).expect(200).json["duplicate"],
        true
    );
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("m2", clock.now(), "banner", "off", (100, 50, 0, 10.0)),
    )
    .expect(200);
    // Another environment's key, a token without the SDK role, bad batches.
    s.post(
        "/api/v1/metrics",
        &staging_sdk,
        batch("m3", clock.now(), "banner", "on", (1, 0, 0, 1.0)),
    )
    .expect(403);
    s.post(
        "/api/v1/metrics",
        &editor,
        batch("m4", clock.now(), "banner", "on", (1, 0, 0, 1.0)),
    )
    .expect(403);
    let mut wrong = batch("m5", clock.now(), "banner", "on", (1, 0, 0, 1.0));
    wrong["schema"] = json!(9);
    let r = s.post("/api/v1/metrics", &sdk, wrong).expect(400);
    assert!(r.text.contains("schema"), "{}", r.text);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch(
            "m6",
            clock.now() + 3_600_000,
            "banner",
            "on",
            (1, 0, 0, 1.0),
        ),
    )
    .expect(422);

    let m = s
        .get("/api/v1/flags/banner/metrics?env=production", &editor)
        .expect(200)
        .json;
    assert_eq!(m["total_evaluations"], 400);
    assert_eq!(m["variants"]["on"]["count"], 300);
    assert_eq!(m["success_rate"], 98.667);
    assert_eq!(m["outcomes"]["request"]["on"]["failure"], 2);
    assert_eq!(m["geography"]["DE"], 400);
    let units = m["unique_units"].as_f64().unwrap();
    assert!(
        (280.0..=320.0).contains(&units),
        "about 300 distinct units: {units}"
    );
    s.get("/api/v1/flags/banner/metrics", &editor).expect(400);
    s.get(
        "/api/v1/flags/banner/metrics?env=production&from=yesterday",
        &editor,
    )
    .expect(400);
    s.get("/api/v1/flags/banner/metrics?env=production", &sdk)
        .expect(403);

    // The seed's analytics recommendations from the same figures.
    let insights = s
        .get("/api/v1/insights?environment=production", &editor)
        .expect(200)
        .json;
    let kinds: Vec<(String, String)> = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["flag"].as_str().unwrap().to_string(),
                i["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("banner".into(), "variant_errors".into())),
        "{kinds:?}"
    );
    assert!(
        !kinds.iter().any(|(_, k)| k == "no_evaluations"),
        "new flags are not stale: {kinds:?}"
    );

    // HIPAA evaluation audit events are in the audit log, pseudonymised.
    let audit = s
        .get(
            "/api/v1/audit?flag=banner&action=evaluation.audited",
            &editor,
        )
        .json;
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor"], "edge:edge-production");
    assert_eq!(entry["details"]["unit"], "0123456789abcdef0123456789abcdef");
    assert_eq!(
        s.get("/api/v1/audit?action=evaluation.denied", &editor)
            .json["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The audit report and the CLI read the same figures.
    let report = s.get(&format!("{FLAGS}/banner/audit-report"), &editor).json;
    assert_eq!(report["audit_summary"]["total_evaluations"], 400);
    let out = vexil_as(
        &s,
        &editor,
        &["flag", "metrics", "banner", "--env", "production"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("evaluations        400") && text.contains("DE 400"),
        "{text}"
    );
    // Two weeks later, only `banner` is still evaluated.
    clock.advance(15 * 86_400_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("m7", clock.now(), "banner", "on", (10, 0, 0, 5.0)),
    )
    .expect(200);
    let insights = s
        .get("/api/v1/insights?environment=production", &editor)
        .expect(200)
        .json;
    let stale: Vec<&str> = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "no_evaluations")
        .map(|i| i["flag"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["quiet-flag"], "{insights}");
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

/// A health endpoint that always answers 200, for `[[health.systems]]`.
fn healthy_endpoint() -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.read(&mut [0u8; 1024]);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, handle)
}
