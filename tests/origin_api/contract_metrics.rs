//! Contract captures (see `contract.rs`) of the metrics answers and the remaining
//! origin answers: a batch's acknowledgement (accepted, duplicate, counted for a
//! rollout, with private dimensions withheld), a flag's metrics report, a clinical
//! review, a health probe's `system.down` and `system.up` details, OFREP's
//! configuration and a snapshot's document.

use super::contract::{check, check_value, round_trip};
use super::support::*;
use super::FLAGS;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

/// [`split_batch`] for `env`, as batch `id`.
fn batch_for(env: &str, id: &str, flag: &str) -> Value {
    let mut b = split_batch(flag, now_ms());
    b["environment"] = json!(env);
    b["batch_id"] = json!(id);
    b
}

#[test]
fn metrics_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-metrics");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let mut flag = simple_flag("checkout");
    flag["fallthrough"] = json!({ "rollout": { "weights": { "on": 75, "off": 25 } } });
    s.post(FLAGS, &editor, json!({ "flag": flag })).expect(201);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("quiet") }))
        .expect(201);

    let batch = batch_for("production", "b1", "checkout");
    let r = s.post("/api/v1/metrics", &sdk, batch.clone()).expect(200);
    check("metrics_ingest", &r);
    let r = s.post("/api/v1/metrics", &sdk, batch).expect(200);
    check("metrics_ingest_duplicate", &r);
    // A unit id counted as a dimension never reaches storage.
    let mut private = batch_for("production", "b2", "checkout");
    private["flags"]["checkout"]["variants"]["on"]["dimensions"] =
        json!({ "targetingKey": { "u-1": 1 }, "country": { "DE": 3 } });
    let r = s.post("/api/v1/metrics", &sdk, private).expect(200);
    check("metrics_ingest_withheld", &r);

    let r = s
        .get("/api/v1/flags/checkout/metrics?env=production", &editor)
        .expect(200);
    check("flag_metrics", &r);
    let r = s
        .get("/api/v1/flags/quiet/metrics?env=production", &editor)
        .expect(200);
    check("flag_metrics_empty", &r);

    // A running rollout in staging hears of the next batch.
    let staging = "/api/v1/environments/staging/flags";
    s.post(staging, &editor, json!({ "flag": simple_flag("ramp") }))
        .expect(201);
    s.post(
        &format!("{staging}/ramp/rollouts"),
        &editor,
        json!({ "stages": [10, 100], "stage_duration": "10m" }),
    )
    .expect(201);
    let staging_sdk = s.sdk_key(&admin, "staging");
    std::thread::sleep(Duration::from_millis(20));
    let r = s
        .post(
            "/api/v1/metrics",
            &staging_sdk,
            batch_for("staging", "b3", "ramp"),
        )
        .expect(200);
    check("metrics_ingest_rollout", &r);
}

#[test]
fn review_answer_keeps_its_json() {
    let (data, admin) = DataDir::init("contract-review");
    let s = Server::start(&data);
    let editor = s.token(&admin, "nina", &["editor"]);
    let oversight = s.token(&admin, "dr-oz", &["CLINICAL_OVERSIGHT"]);
    s.clinical_flag(&admin, &editor, "triage-hints");
    let staging = "/api/v1/environments/staging/flags";
    let r = s
        .post(
            &format!("{staging}/triage-hints/review"),
            &oversight,
            json!({ "comment": "alert rates reviewed" }),
        )
        .expect(200);
    check("flag_review", &r);
}

#[test]
fn ofrep_configuration_and_snapshot_document_keep_their_json() {
    let (data, admin) = DataDir::init("contract-ofrep");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let r = s.get("/ofrep/v1/configuration", &sdk).expect(200);
    check("ofrep_configuration", &r);

    let mut flag = simple_flag("checkout");
    flag["fallthrough"] = json!({ "rollout": { "weights": { "on": 75, "off": 25 } } });
    flag["private_attributes"] = json!(["email"]);
    flag["metadata"] = json!({ "team": "payments" });
    s.post(FLAGS, &editor, json!({ "flag": flag })).expect(201);
    let list = s
        .get("/api/v1/environments/production/snapshots", &editor)
        .expect(200)
        .json;
    let version = list["snapshots"][0]["version"].as_u64().unwrap();
    let r = s
        .get(
            &format!("/api/v1/environments/production/snapshots/{version}/document"),
            &editor,
        )
        .expect(200);
    check("snapshot_document", &r);
}

fn audit_details(s: &Server, admin: &str, action: &str) -> Option<Value> {
    let page = s
        .get(&format!("/api/v1/audit?action={action}"), admin)
        .expect(200)
        .json;
    page["entries"]
        .as_array()
        .and_then(|e| e.first())
        .map(|e| e["details"].clone())
}

/// The `data` of the next webhook delivery of `event` among the receiver's requests.
fn delivered(requests: &Receiver<(String, String)>, event: &str) -> Value {
    loop {
        let (head, body) = requests
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no {event} delivered"));
        if !head.starts_with("POST ") {
            continue;
        }
        let body: Value = serde_json::from_str(&body).unwrap();
        if body["event"] == event {
            return body["data"].clone();
        }
    }
}

#[test]
fn health_probe_details_keep_their_json() {
    // One receiver is both the probed system (`GET /healthz`) and the webhook.
    let healthy = Arc::new(AtomicBool::new(true));
    let answer = healthy.clone();
    let (port, requests) = super::receiver::start(move |_, head| {
        if head.starts_with("POST ") || answer.load(Ordering::SeqCst) {
            "200 OK"
        } else {
            "500 Internal Server Error"
        }
    });
    let (data, admin) = DataDir::init("contract-health");
    data.configure(&format!(
        "[[health.systems]]\nname = \"clinical_alerts\"\nurl = \"http://127.0.0.1:{port}/healthz\"\n\
         interval = \"200ms\"\ntimeout = \"100ms\"\nfailures = 2\nrecovery = \"auto\"\n"
    ));
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    s.post(
        "/api/v1/environments/staging/webhooks",
        &admin,
        json!({ "url": format!("http://127.0.0.1:{port}/hook"),
                "secret": "a-very-secret-secret", "events": ["system.down", "system.up"] }),
    )
    .expect(201);
    let mut flag = simple_flag("sepsis-alerts");
    flag["clinical_systems_affected"] = json!(["clinical_alerts"]);
    s.post(
        "/api/v1/environments/staging/flags",
        &editor,
        json!({ "flag": flag }),
    )
    .expect(201);

    healthy.store(false, Ordering::SeqCst);
    let mut down = delivered(&requests, "system.down");
    assert_eq!(
        Some(&down),
        audit_details(&s, &admin, "system.down").as_ref()
    );
    down["url"] = json!("<url>");
    check_value("health_system_down", down);
    healthy.store(true, Ordering::SeqCst);
    let mut up = delivered(&requests, "system.up");
    assert_eq!(Some(&up), audit_details(&s, &admin, "system.up").as_ref());
    up["url"] = json!("<url>");
    check_value("health_system_up", up);
}

#[test]
fn metrics_captures_read_back_as_their_types() {
    use vexil::origin::api::{
        BatchAnswer, FlagMetrics, FlagReview, OfrepConfiguration, SystemDown, SystemUp,
    };
    round_trip::<BatchAnswer>("metrics_ingest");
    round_trip::<BatchAnswer>("metrics_ingest_duplicate");
    round_trip::<BatchAnswer>("metrics_ingest_withheld");
    round_trip::<BatchAnswer>("metrics_ingest_rollout");
    round_trip::<FlagMetrics>("flag_metrics");
    round_trip::<FlagMetrics>("flag_metrics_empty");
    round_trip::<FlagReview>("flag_review");
    round_trip::<OfrepConfiguration>("ofrep_configuration");
    round_trip::<SystemDown>("health_system_down");
    round_trip::<SystemUp>("health_system_up");
}
