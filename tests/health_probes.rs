//! Health probes of dependent systems (issue 18 item 4): a failing system kills or
//! pauses the flags that depend on it, audited and sent to webhooks; recovery waits
//! for a person unless configured otherwise.

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{simple_flag, DataDir, Server};

const FLAGS: &str = "/api/v1/environments/production/flags";

/// A health endpoint answering with whatever status `status` holds.
fn fake_system() -> (String, Arc<AtomicU16>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let status = Arc::new(AtomicU16::new(200));
    let shared = status.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let code = shared.load(Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, status)
}

fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn enabled(s: &Server, token: &str, key: &str) -> bool {
    s.get(&format!("{FLAGS}/{key}"), token).expect(200).json["flag"]["enabled"] != json!(false)
}

fn audit(s: &Server, admin: &str, action: &str) -> Vec<Value> {
    let entries = s
        .get(&format!("/api/v1/audit?action={action}&limit=100"), admin)
        .expect(200)
        .json;
    entries["entries"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_failing_system_kills_its_flags_and_a_person_brings_them_back() {
    let (alerts, alerts_status) = fake_system();
    let (vitals, vitals_status) = fake_system();
    let (data, admin) = DataDir::init("health");
    data.configure(&format!(
        "[[health.systems]]\nname = \"clinical_alerts\"\nurl = \"{alerts}\"\ninterval = \"100ms\"\ntimeout = \"100ms\"\nfailures = 2\n\n\
         [[health.systems]]\nname = \"vital_signs\"\nurl = \"{vitals}\"\ninterval = \"100ms\"\ntimeout = \"100ms\"\nfailures = 2\nrecovery = \"auto\"\n"
    ));
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let mut alerting = simple_flag("sepsis-alerts");
    alerting["clinical_systems_affected"] = json!(["clinical_alerts"]);
    let mut monitoring = simple_flag("vitals-dashboard");
    monitoring["affected_systems"] = json!(["vital_signs"]);
    let bystander = simple_flag("banner");
    for f in [alerting, monitoring, bystander] {
        s.post(FLAGS, &editor, json!({ "flag": f })).expect(201);
    }
    let hook = s
        .post(
            "/api/v1/environments/production/webhooks",
            &admin,
            json!({ "url": "http://127.0.0.1:9/none", "events": ["system.down", "system.up"] }),
        )
        .expect(201)
        .json;

    // Healthy: nothing happens.
    std::thread::sleep(Duration::from_millis(400));
    assert!(enabled(&s, &editor, "sepsis-alerts") && audit(&s, &admin, "system.down").is_empty());

    // The alert system fails: its flag is killed by the probe, the others keep serving.
    alerts_status.store(503, Ordering::SeqCst);
    until("the kill", || !enabled(&s, &editor, "sepsis-alerts"));
    assert!(enabled(&s, &editor, "vitals-dashboard") && enabled(&s, &editor, "banner"));
    let down = audit(&s, &admin, "system.down");
    assert_eq!(down.len(), 1, "{down:?}");
    assert_eq!(down[0]["actor"], "health:clinical_alerts");
    assert_eq!(
        down[0]["details"]["killed"],
        json!(["production/sepsis-alerts"])
    );
    assert!(
        down[0]["details"]["error"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{}",
        down[0]
    );
    let changes = s
        .get("/api/v1/changes?flag=sepsis-alerts&kind=kill", &editor)
        .expect(200)
        .json;
    assert_eq!(changes["changes"][0]["author"], "health:clinical_alerts");
    let id = hook["id"].as_i64().unwrap();
    let deliveries = s
        .get(&format!("/api/v1/webhooks/deliveries?webhook={id}"), &admin)
        .expect(200)
        .json;
    assert_eq!(
        deliveries["deliveries"][0]["event"], "system.down",
        "{deliveries}"
    );

    // Back up: audited, but the flag stays off until a person enables it.
    alerts_status.store(200, Ordering::SeqCst);
    until("system.up", || !audit(&s, &admin, "system.up").is_empty());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!enabled(&s, &editor, "sepsis-alerts"), "manual recovery");
    s.post(
        &format!("{FLAGS}/sepsis-alerts/enable"),
        &editor,
        json!({ "reason": "alerts verified" }),
    )
    .expect(200);
    assert!(enabled(&s, &editor, "sepsis-alerts"));

    // recovery = "auto": the probe re-enables what it killed, once up again.
    vitals_status.store(500, Ordering::SeqCst);
    until("the vitals kill", || {
        !enabled(&s, &editor, "vitals-dashboard")
    });
    vitals_status.store(200, Ordering::SeqCst);
    until("the vitals recovery", || {
        enabled(&s, &editor, "vitals-dashboard")
    });
    let up = audit(&s, &admin, "system.up");
    let vitals_up = up
        .iter()
        .find(|e| e["actor"] == "health:vital_signs")
        .expect("vitals up audited");
    assert_eq!(
        vitals_up["details"]["enabled"],
        json!(["production/vitals-dashboard"])
    );

    // A flag a person killed after the probe's kill is not the probe's to re-enable.
    vitals_status.store(500, Ordering::SeqCst);
    until("the second vitals kill", || {
        !enabled(&s, &editor, "vitals-dashboard")
    });
    s.post(
        &format!("{FLAGS}/vitals-dashboard/kill"),
        &editor,
        json!({ "reason": "keep it off" }),
    )
    .expect(200);
    vitals_status.store(200, Ordering::SeqCst);
    until("the second vitals up", || {
        audit(&s, &admin, "system.up")
            .iter()
            .filter(|e| e["actor"] == "health:vital_signs")
            .count()
            == 2
    });
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !enabled(&s, &editor, "vitals-dashboard"),
        "a person's kill stands"
    );
}

#[test]
fn action_pause_pauses_running_rollouts_instead() {
    let (url, status) = fake_system();
    let (data, admin) = DataDir::init("health-pause");
    data.configure(&format!(
        "[[health.systems]]\nname = \"order_routing\"\nurl = \"{url}\"\ninterval = \"100ms\"\ntimeout = \"100ms\"\nfailures = 1\naction = \"pause\"\nrecovery = \"auto\"\n"
    ));
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let mut flag = simple_flag("smart-router");
    flag["affected_systems"] = json!(["order_routing"]);
    s.post(FLAGS, &editor, json!({ "flag": flag })).expect(201);
    let r = s
        .post(
            &format!("{FLAGS}/smart-router/rollouts"),
            &editor,
            json!({ "stages": [10, 50, 100], "stage_duration": "10m" }),
        )
        .expect(201)
        .json;
    let id = r["id"].as_i64().unwrap();
    let rollout_status =
        |s: &Server| s.get(&format!("/api/v1/rollouts/{id}"), &editor).json["status"].clone();
    status.store(500, Ordering::SeqCst);
    until("the pause", || rollout_status(&s) == "paused");
    assert!(enabled(&s, &editor, "smart-router"), "pause does not kill");
    status.store(200, Ordering::SeqCst);
    until("the resume", || rollout_status(&s) == "running");
}
