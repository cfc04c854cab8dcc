//! A data directory from before format 2: the origin re-signs each environment's
//! newest snapshot in format 2 when it starts, so edges get what they can read; and a
//! published snapshot reads back as a document.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use rusqlite::params;
use serde_json::json;
use support::{simple_flag, DataDir, Server};
use vexil::snapshot::{Envelope, FORMAT};

/// An origin whose newest snapshot of `production` (one flag, `legacy`) was replaced
/// by `stored` while it was stopped, started again: its data directory (which must
/// outlive it), the version it had, the server and its admin token.
fn restarted_with_newest(name: &str, stored: serde_json::Value) -> (DataDir, u64, Server, String) {
    let (data, admin) = DataDir::init(name);
    let server = Server::start(&data);
    server
        .post(
            "/api/v1/environments/production/flags",
            &admin,
            json!({ "flag": simple_flag("legacy") }),
        )
        .expect(201);
    let before = server
        .get("/api/v1/environments/production/snapshots", &admin)
        .expect(200)
        .json["snapshots"][0]["version"]
        .as_u64()
        .unwrap();
    server.stop();
    let db = rusqlite::Connection::open(data.path().join("vexil.db")).unwrap();
    db.execute(
        "UPDATE snapshots SET envelope = ?1 WHERE environment = 'production' AND version = ?2",
        params![stored.to_string(), before as i64],
    )
    .unwrap();
    drop(db);
    let server = Server::start(&data);
    (data, before, server, admin)
}

/// The newest envelope's text once `current` holds for it (polling for 10 s).
fn newest_when(server: &Server, admin: &str, current: impl Fn(&str) -> bool) -> Option<String> {
    for _ in 0..100 {
        let r = server.get("/api/v1/environments/production/snapshot", admin);
        if r.status == 200 && current(&r.text) {
            return Some(r.text);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

#[test]
fn a_format_1_snapshot_is_re_signed_in_format_2_at_start() {
    // What Vexil 0.1 stored: a format-1 envelope (JSON payload) as the newest version.
    let old = json!({"format": "vexil-snapshot/1", "key_id": "k0", "payload": "e30=", "signature": "AAAA"});
    let (_data, before, server, admin) = restarted_with_newest("format-upgrade", old);
    let newest = newest_when(&server, &admin, |text| {
        Envelope::parse(text.as_bytes()).is_ok_and(|e| e.format == FORMAT)
    });
    let newest = newest.expect("a format-2 snapshot is published at start");
    let payload = support::verified_payload(&server, "production", &admin);
    assert!(payload["version"].as_u64().unwrap() > before, "{newest}");
    assert_eq!(support::flag_keys(&payload), ["legacy"]);

    // The document route reads the same version back as flags.
    let version = payload["version"].as_u64().unwrap();
    let doc = server
        .get(
            &format!("/api/v1/environments/production/snapshots/{version}/document"),
            &admin,
        )
        .expect(200)
        .json;
    assert_eq!(doc["version"], version);
    assert_eq!(doc["flags"][0]["key"], "legacy");
    assert_eq!(doc["flags"][0]["fallthrough"], json!({"variant": "off"}));
}

/// A data directory from before payload version 3 (patterns as source only, which
/// the wasm module cannot compile): the newest snapshot is re-signed at start.
#[test]
fn a_version_2_payload_is_re_signed_in_version_3_at_start() {
    use base64::Engine as _;
    // An envelope of format 2 whose payload is version 2 (`VXP\x02`).
    let payload = base64::engine::general_purpose::STANDARD.encode(b"VXP\x02\x00\x00");
    let old = json!({"format": FORMAT, "key_id": "k0", "payload": payload, "signature": "AAAA"});
    let (_data, before, server, admin) = restarted_with_newest("payload-upgrade", old);
    let upgraded = newest_when(&server, &admin, |text| {
        Envelope::parse(text.as_bytes()).is_ok_and(|e| {
            base64::engine::general_purpose::STANDARD
                .decode(&e.payload)
                .is_ok_and(|p| p.starts_with(&vexil::engine::wire::MAGIC))
        })
    })
    .is_some();
    assert!(upgraded, "a version-3 payload is published at start");
    let payload = support::verified_payload(&server, "production", &admin);
    assert!(payload["version"].as_u64().unwrap() > before);
    assert_eq!(support::flag_keys(&payload), ["legacy"]);
}
