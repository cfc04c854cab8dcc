//! Snapshots with strong ETags, SDK keys scoped to their environment, and key rotation.

use super::support::*;
use super::FLAGS;
use serde_json::json;

#[test]
fn snapshots_carry_strong_etags_and_sdk_keys_read_only_their_environment() {
    let (data, admin) = DataDir::init("etag");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let path = "/api/v1/environments/production/snapshot";
    let first = s.get(path, &sdk).expect(200);
    let etag = first.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert!(first.header("cache-control").is_some());
    let again = s.call("GET", path, Some(&sdk), None, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    s.call("GET", path, None, None, &[]).expect(401);
    s.get("/api/v1/environments/staging/snapshot", &sdk)
        .expect(403);
    s.get(FLAGS, &sdk).expect(403);
    s.post(FLAGS, &sdk, json!({ "flag": simple_flag("x") }))
        .expect(403);

    s.post(FLAGS, &editor, json!({ "flag": simple_flag("new-banner") }))
        .expect(201);
    let changed = s.call("GET", path, Some(&sdk), None, &[("If-None-Match", &etag)]);
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag").unwrap(), etag);
    let history = s
        .get("/api/v1/environments/production/snapshots", &editor)
        .expect(200)
        .json;
    let versions: Vec<u64> = history["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    s.get("/api/v1/environments/production/snapshots/1", &editor)
        .expect(200);
    s.get("/api/v1/environments/production/snapshots/9", &editor)
        .expect(404);
    // Each environment has its own stream.
    assert_eq!(verified_payload(&s, "staging", &editor)["version"], 1);
}

#[test]
fn key_rotation_keeps_the_old_key_valid_for_the_overlap() {
    let (data, admin) = DataDir::init("rotate");
    let s = Server::start(&data);
    let before = s
        .call("GET", "/api/v1/keys", None, None, &[])
        .expect(200)
        .json;
    let old = before["keys"][0]["id"].as_str().unwrap().to_string();
    let rotated = s
        .post("/api/v1/keys/rotate", &admin, json!({ "overlap": "2d" }))
        .expect(200)
        .json;
    let new = rotated["active"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let keys = s
        .call("GET", "/api/v1/keys", None, None, &[])
        .expect(200)
        .json;
    let listed: Vec<(&str, &str)> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["id"].as_str().unwrap(), k["status"].as_str().unwrap()))
        .collect();
    assert!(
        listed.contains(&(new.as_str(), "active")) && listed.contains(&(old.as_str(), "retiring")),
        "{listed:?}"
    );
    assert!(keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["not_after"].is_string()));
    // Every environment is re-signed with the new key.
    let snap = s
        .get("/api/v1/environments/staging/snapshot", &admin)
        .expect(200)
        .json;
    assert_eq!(snap["key_id"], new.as_str());
    verified_payload(&s, "staging", &admin);
    s.post("/api/v1/keys/rotate", &admin, json!({ "overlap": "soon" }))
        .expect(400);
    // The new key survives a restart.
    drop(s);
    let s = Server::start(&data);
    assert_eq!(
        s.get("/api/v1/environments/staging/snapshot", &admin)
            .expect(200)
            .json["key_id"],
        new.as_str()
    );
}
