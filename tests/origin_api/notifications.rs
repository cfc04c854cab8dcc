//! Webhooks, the audit chain's tamper checks, and server-sent events.

use super::support::*;
use super::FLAGS;
use serde_json::{json, Value};

#[test]
fn webhooks_are_signed_retried_and_recorded() {
    // A receiver that fails the first delivery and accepts the rest.
    let (port, rx) = super::receiver::start(|n, _| {
        if n == 0 {
            "500 Internal Server Error"
        } else {
            "200 OK"
        }
    });

    let (data, admin) = DataDir::init("hooks");
    let s = Server::start(&data);
    let hook = s
        .post("/api/v1/environments/production/webhooks", &admin, json!({ "url": format!("http://127.0.0.1:{port}/hook"), "secret": "a-very-secret-secret", "events": ["flag.killed"] }))
        .expect(201)
        .json;
    let editor = s.token(&admin, "eve", &["editor"]);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("hooked") }))
        .expect(201); // not subscribed
    s.post(
        &format!("{FLAGS}/hooked/kill"),
        &editor,
        json!({ "reason": "incident 42" }),
    )
    .expect(200);

    let timeout = std::time::Duration::from_secs(20);
    let (head1, body1) = rx.recv_timeout(timeout).expect("first attempt");
    let (head2, body2) = rx.recv_timeout(timeout).expect("retry");
    assert_eq!(body1, body2, "a retry sends the same delivery");
    let event: Value = serde_json::from_str(&body2).unwrap();
    assert_eq!(event["event"], "flag.killed");
    assert_eq!(event["data"]["reason"], "incident 42");
    let header = |head: &str, name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap()
    };
    let expected = vexil::origin::webhooks::signature("a-very-secret-secret", body2.as_bytes());
    assert_eq!(header(&head2, "x-vexil-signature"), expected);
    assert_eq!(header(&head1, "x-vexil-event"), "flag.killed");

    // The outcome is recorded: two attempts, the first failed with HTTP 500.
    let mut delivery = Value::Null;
    for _ in 0..50 {
        let d = s
            .get(
                &format!("/api/v1/webhooks/deliveries?webhook={}", hook["id"]),
                &admin,
            )
            .expect(200)
            .json;
        delivery = d["deliveries"][0].clone();
        if delivery["status"] == "delivered" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["attempt_log"][0]["status"], 500);
    assert_eq!(
        s.get("/api/v1/webhooks/deliveries", &admin).json["deliveries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_audit_chain_detects_edits_deletions_and_reordering() {
    let (data, admin) = DataDir::init("tamper");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    for key in ["one-flag", "two-flag"] {
        s.post(FLAGS, &editor, json!({ "flag": simple_flag(key) }))
            .expect(201);
    }
    let entries = s.get("/api/v1/audit?limit=1000", &admin).json["entries"]
        .as_array()
        .unwrap()
        .len();
    drop(s);
    let verify = || {
        vexil::origin::verify_data_dir_with_kek(
            data.path(),
            data.database.as_deref(),
            Some(test_kek()),
        )
    };
    assert_eq!(verify().unwrap() as usize, entries);

    // Tampering goes around the append-only triggers (dropped on SQLite, disabled
    // on PostgreSQL), as someone with the database file or a superuser could.
    let db_file = data.path().join("vexil.db");
    let sqlite = || {
        let conn = rusqlite::Connection::open(&db_file).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;",
        )
        .unwrap();
        conn
    };
    let tamper = |sql: &str| match data.database {
        None => sqlite().execute_batch(sql).unwrap(),
        Some(_) => drop(data.psql(&format!(
            "ALTER TABLE audit DISABLE TRIGGER USER; {sql}; ALTER TABLE audit ENABLE TRIGGER USER;"
        ))),
    };
    let snapshot = match data.database {
        None => {
            rusqlite::Connection::open(&db_file)
                .unwrap()
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .unwrap();
            std::fs::read(&db_file).unwrap()
        }
        Some(_) => {
            data.psql("CREATE TABLE audit_saved AS SELECT * FROM audit");
            Vec::new()
        }
    };
    let restore = || match data.database {
        None => {
            let _ = std::fs::remove_file(data.path().join("vexil.db-wal"));
            let _ = std::fs::remove_file(data.path().join("vexil.db-shm"));
            std::fs::write(&db_file, &snapshot).unwrap();
        }
        Some(_) => tamper("DELETE FROM audit; INSERT INTO audit SELECT * FROM audit_saved"),
    };
    // Edited.
    tamper("UPDATE audit SET actor = 'mallory' WHERE seq = 3");
    let err = verify().unwrap_err().to_string();
    assert!(err.contains("entry 3") && err.contains("modified"), "{err}");
    restore();
    // Deleted from the middle.
    tamper("DELETE FROM audit WHERE seq = 2");
    assert!(verify().unwrap_err().to_string().contains("removed"));
    restore();
    // Deleted from the end.
    tamper(&format!("DELETE FROM audit WHERE seq = {entries}"));
    assert!(verify()
        .unwrap_err()
        .to_string()
        .contains("removed from the end"));
    restore();
    // Reordered.
    tamper("UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1");
    assert!(verify().is_err());
    restore();
    assert_eq!(verify().unwrap() as usize, entries);
}

#[test]
fn events_announce_new_snapshots_and_the_kill_switch_within_two_seconds() {
    let (data, admin) = DataDir::init("events");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let staging_sdk = s.sdk_key(&admin, "staging");
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("live-flag") }))
        .expect(201);
    let events = s.events("/api/v1/environments/production/events", &sdk);
    let timeout = std::time::Duration::from_secs(2);
    let (kind, first) = events
        .recv_timeout(timeout)
        .expect("the current version first");
    assert_eq!(
        (kind.as_str(), first["version"].as_u64()),
        ("snapshot", Some(2))
    );

    let started = std::time::Instant::now();
    s.post(
        &format!("{FLAGS}/live-flag/kill"),
        &editor,
        json!({ "reason": "incident" }),
    )
    .expect(200);
    let (kind, kill) = events.recv_timeout(timeout).expect("the kill within 2 s");
    assert_eq!(kind, "kill");
    assert_eq!(
        (kill["flag"].as_str(), kill["reason"].as_str()),
        (Some("live-flag"), Some("incident"))
    );
    let (kind, snap) = events.recv_timeout(timeout).expect("the new snapshot");
    assert_eq!(
        (kind.as_str(), snap["version"].as_u64()),
        ("snapshot", Some(3))
    );
    assert!(started.elapsed() < timeout);
    // Another environment's changes are not announced here; its key cannot listen here.
    s.post(
        "/api/v1/environments/staging/flags",
        &editor,
        json!({ "flag": simple_flag("other") }),
    )
    .expect(201);
    assert!(events
        .recv_timeout(std::time::Duration::from_millis(600))
        .is_err());
    let r = s.call(
        "GET",
        "/api/v1/environments/production/events",
        Some(&staging_sdk),
        None,
        &[],
    );
    assert_eq!(r.status, 403);
}

#[test]
fn a_write_wakes_its_servers_event_watcher_without_waiting_for_the_poll() {
    let (data, admin) = DataDir::init("events_wake");
    // Only a wake can deliver within 2 s when the watcher polls every 30 s.
    data.set("poll_interval", "poll_interval = \"30s\"");
    let s = Server::start(&data);
    let sdk = s.sdk_key(&admin, "production");
    s.post(FLAGS, &admin, json!({ "flag": simple_flag("woken") }))
        .expect(201);
    let events = s.events("/api/v1/environments/production/events", &sdk);
    let timeout = std::time::Duration::from_secs(2);
    events
        .recv_timeout(timeout)
        .expect("the current version first");
    s.post(
        &format!("{FLAGS}/woken/kill"),
        &admin,
        json!({ "reason": "incident" }),
    )
    .expect(200);
    let (kind, kill) = events.recv_timeout(timeout).expect("the kill within 2 s");
    assert_eq!(
        (kind.as_str(), kill["flag"].as_str()),
        ("kill", Some("woken"))
    );
}
