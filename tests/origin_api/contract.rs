//! The typed API keeps the wire format: answers of the typed endpoints (change
//! requests, flags, rollouts, audit, tokens, environments, webhooks, keys, the
//! origin's own information, snapshots, publish targets) compared, byte for byte
//! after normalising times (and masking secrets and random ids), with answers
//! captured from the server before its handlers were typed (`contract/*.json`).
//!
//! `VEXIL_CAPTURE_CONTRACT=1 cargo test --test origin_api contract` rewrites the
//! captures; run it only on a server whose answers are known to be right.

use super::support::*;
use super::FLAGS;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Times (RFC 3339 strings) replaced by `<time>` and hashes (64 hex digits, which
/// chain times) by `<hash>`, so captures do not age.
fn normalise(v: &mut Value) {
    match v {
        Value::String(s) if looks_like_time(s) => *s = "<time>".into(),
        Value::String(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            *s = "<hash>".into()
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        Value::Object(map) => map.values_mut().for_each(normalise),
        _ => {}
    }
}

fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

/// Compares `reply` (order of fields included) with capture `name`, or writes it.
fn check(name: &str, reply: &Reply) {
    let got: Value = serde_json::from_str(&reply.text)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", reply.text));
    check_value(name, got);
}

/// [`check`] for an answer already read (and with its secrets masked).
fn check_value(name: &str, mut got: Value) {
    normalise(&mut got);
    let got = serde_json::to_string_pretty(&got).unwrap() + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/origin_api/contract")
        .join(format!("{name}.json"));
    if std::env::var_os("VEXIL_CAPTURE_CONTRACT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        got == want,
        "{name} differs from its capture {}:\n--- got\n{got}\n--- captured\n{want}",
        path.display()
    );
}

#[test]
fn change_request_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-changes");
    let s = Server::start(&data);
    let alice = s.token(&admin, "alice", &["editor"]);
    let lead = s.token(&admin, "paul", &["PRODUCT_OWNER", "viewer"]);
    let staging = "/api/v1/environments/staging/flags";
    // High risk: production wants a product owner (no venue, so no trading hours).
    let risky = |key: &str| {
        let mut f = simple_flag(key);
        f["risk"] = json!("high");
        f
    };

    // Applied at once (staging), pending with requirements (production).
    let r = s
        .post(
            staging,
            &alice,
            json!({ "flag": simple_flag("contract-a") }),
        )
        .expect(201);
    check("change_created_applied", &r);
    let r = s
        .post(
            FLAGS,
            &alice,
            json!({ "flag": risky("contract-p"), "reason": "new" }),
        )
        .expect(201);
    check("change_created_pending", &r);
    let pending = r.json["id"].as_i64().unwrap();

    let r = s
        .get(&format!("/api/v1/changes/{pending}"), &lead)
        .expect(200);
    check("change_show", &r);
    let r = s
        .post(
            &format!("/api/v1/changes/{pending}/approve"),
            &lead,
            json!({ "comment": "fine" }),
        )
        .expect(200);
    check("change_approve", &r);
    let r = s.post(
        &format!("/api/v1/changes/{pending}/apply"),
        &alice,
        json!({}),
    );
    check("change_apply", &r);

    // Cancelled and rejected changes.
    let flag = risky("contract-q");
    let id = s
        .post(FLAGS, &alice, json!({ "flag": flag.clone() }))
        .expect(201)
        .json["id"]
        .as_i64()
        .unwrap();
    let r = s
        .post(&format!("/api/v1/changes/{id}/cancel"), &alice, json!({}))
        .expect(200);
    check("change_cancel", &r);
    let id = s
        .post(FLAGS, &alice, json!({ "flag": flag }))
        .expect(201)
        .json["id"]
        .as_i64()
        .unwrap();
    let r = s
        .post(
            &format!("/api/v1/changes/{id}/reject"),
            &lead,
            json!({ "comment": "not now" }),
        )
        .expect(200);
    check("change_reject", &r);

    let r = s.get("/api/v1/changes", &lead).expect(200);
    check("change_list", &r);
    let r = s.get("/api/v1/changes?limit=2", &lead).expect(200);
    check("change_list_page", &r);
}

#[test]
fn flag_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-flags");
    data.set("settled_days", "settled_days = 0");
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    let staging = "/api/v1/environments/staging/flags";
    s.post(staging, &eve, json!({ "flag": simple_flag("contract-b") }))
        .expect(201);
    let mut updated = simple_flag("contract-b");
    updated["description"] = json!("second revision");
    let r = s
        .put(
            &format!("{staging}/contract-b"),
            &eve,
            json!({ "flag": updated, "reason": "describe" }),
        )
        .expect(200);
    check("flag_update", &r);
    let r = s
        .post(
            &format!("{staging}/contract-b/rollout"),
            &eve,
            json!({ "percentage": 25 }),
        )
        .expect(200);
    check("flag_rollout", &r);
    let r = s
        .post(
            &format!("{staging}/contract-b/kill"),
            &eve,
            json!({ "reason": "incident" }),
        )
        .expect(200);
    check("flag_kill", &r);
    let r = s
        .post(&format!("{staging}/contract-b/enable"), &eve, json!({}))
        .expect(200);
    check("flag_enable", &r);
    let r = s
        .post(&format!("{staging}/contract-b/rollback"), &eve, json!({}))
        .expect(200);
    check("flag_rollback", &r);

    check("flag_list", &s.get(staging, &eve).expect(200));
    check(
        "flag_detail",
        &s.get(&format!("{staging}/contract-b"), &eve).expect(200),
    );
    check(
        "flag_history",
        &s.get(&format!("{staging}/contract-b/history"), &eve)
            .expect(200),
    );
    let r = s
        .post(
            "/api/v1/environments/staging/validate",
            &eve,
            json!({ "flag": simple_flag("contract-c") }),
        )
        .expect(200);
    check("flag_validate", &r);
    let r = s
        .post(&format!("{staging}/contract-b/archive"), &eve, json!({}))
        .expect(200);
    check("flag_archive", &r);
    check(
        "flag_list_archived",
        &s.get(&format!("{staging}?archived=true"), &eve).expect(200),
    );
}

#[test]
fn rollout_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-rollouts");
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    let staging = "/api/v1/environments/staging/flags";
    s.post(staging, &eve, json!({ "flag": simple_flag("contract-r") }))
        .expect(201);
    let r = s
        .post(
            &format!("{staging}/contract-r/rollouts"),
            &eve,
            json!({ "stages": [10, 50, 100], "stage_duration": "10m", "min_samples": 20 }),
        )
        .expect(201);
    check("rollout_start", &r);
    let id = r.json["id"].as_i64().unwrap();
    check(
        "rollout_get",
        &s.get(&format!("/api/v1/rollouts/{id}"), &eve).expect(200),
    );
    check(
        "rollout_pause",
        &s.post(&format!("/api/v1/rollouts/{id}/pause"), &eve, json!({}))
            .expect(200),
    );
    check(
        "rollout_resume",
        &s.post(&format!("/api/v1/rollouts/{id}/resume"), &eve, json!({}))
            .expect(200),
    );
    check(
        "rollout_abort",
        &s.post(&format!("/api/v1/rollouts/{id}/abort"), &eve, json!({}))
            .expect(200),
    );
    check(
        "rollout_list",
        &s.get(
            "/api/v1/environments/staging/rollouts?flag=contract-r",
            &eve,
        )
        .expect(200),
    );
}

/// Capture `name` read as `T` and written again: the same JSON, so the CLI reads
/// every field the server sends and `--json` loses nothing.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/origin_api/contract")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let typed: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{name} does not read as its type: {e}"));
    let again = serde_json::to_string_pretty(&typed).unwrap() + "\n";
    assert_eq!(
        again, text,
        "{name} changed in a round trip through its type"
    );
}

#[test]
fn audit_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-audit");
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    s.post(
        "/api/v1/environments/staging/flags",
        &eve,
        json!({ "flag": simple_flag("contract-audit") }),
    )
    .expect(201);
    check(
        "audit_list",
        &s.get("/api/v1/audit?flag=contract-audit", &eve).expect(200),
    );
    check(
        "audit_list_page",
        &s.get("/api/v1/audit?order=newest&limit=2", &eve)
            .expect(200),
    );
    check(
        "audit_verify",
        &s.get("/api/v1/audit/verify", &eve).expect(200),
    );
}

#[test]
fn token_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-tokens");
    let s = Server::start(&data);
    let r = s
        .post(
            "/api/v1/tokens",
            &admin,
            json!({ "name": "tina", "roles": ["editor", "SECURITY"] }),
        )
        .expect(201);
    let mut shown = r.json.clone();
    assert!(shown["token"].as_str().unwrap().starts_with("vxt_"));
    shown["token"] = json!("<secret>");
    let id = shown["id"].as_i64().unwrap();
    check_value("token_create", shown);
    s.sdk_key(&admin, "staging");
    let r = s.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&admin),
        None,
        &[],
    );
    check("token_revoke", &r.expect(200));
    check("token_list", &s.get("/api/v1/tokens", &admin).expect(200));

    // SDK keys, after the token list was captured.
    let r = s
        .post(
            "/api/v1/sdk-keys",
            &admin,
            json!({ "name": "web", "environment": "staging", "kind": "client" }),
        )
        .expect(201);
    let mut shown = r.json.clone();
    assert!(shown["token"].as_str().unwrap().starts_with("vxc_"));
    shown["token"] = json!("<secret>");
    check_value("sdk_key_create", shown);
    check(
        "sdk_key_list",
        &s.get("/api/v1/sdk-keys?environment=staging", &admin)
            .expect(200),
    );
}

#[test]
fn environment_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-envs");
    let s = Server::start(&data);
    let r = s
        .post("/api/v1/environments", &admin, json!({ "name": "qa" }))
        .expect(201);
    check("environment_create", &r);
    check(
        "environment_list",
        &s.get("/api/v1/environments", &admin).expect(200),
    );
}

#[test]
fn captures_read_back_as_their_types() {
    use vexil::origin::api::{Change, ChangePage, FlagDetail, FlagList, History};
    use vexil::origin::api::{Rollout, RolloutList};
    for name in [
        "change_created_applied",
        "change_created_pending",
        "change_show",
        "change_approve",
        "change_cancel",
        "change_reject",
        "flag_update",
        "flag_rollout",
        "flag_kill",
        "flag_enable",
        "flag_rollback",
        "flag_archive",
    ] {
        round_trip::<Change>(name);
    }
    round_trip::<ChangePage>("change_list");
    round_trip::<ChangePage>("change_list_page");
    round_trip::<FlagList>("flag_list");
    round_trip::<FlagList>("flag_list_archived");
    round_trip::<FlagDetail>("flag_detail");
    round_trip::<History>("flag_history");
    for name in [
        "rollout_start",
        "rollout_get",
        "rollout_pause",
        "rollout_resume",
        "rollout_abort",
    ] {
        round_trip::<Rollout>(name);
    }
    round_trip::<RolloutList>("rollout_list");
    use vexil::origin::api::{audit, Verification};
    round_trip::<audit::Page>("audit_list");
    round_trip::<audit::Page>("audit_list_page");
    round_trip::<Verification>("audit_verify");
    use vexil::origin::api::{CreatedToken, Revoked, TokenList};
    round_trip::<CreatedToken>("token_create");
    round_trip::<TokenList>("token_list");
    round_trip::<Revoked>("token_revoke");
    round_trip::<CreatedToken>("sdk_key_create");
    round_trip::<vexil::origin::api::SdkKeyList>("sdk_key_list");
    round_trip::<vexil::origin::api::CreatedEnvironment>("environment_create");
    round_trip::<vexil::origin::api::EnvironmentList>("environment_list");
    use vexil::origin::api::{CreatedWebhook, DeliveryList, WebhookList, WebhookRemoved};
    round_trip::<CreatedWebhook>("webhook_create");
    round_trip::<WebhookList>("webhook_list");
    round_trip::<WebhookRemoved>("webhook_remove");
    round_trip::<DeliveryList>("webhook_deliveries");
    round_trip::<DeliveryList>("webhook_deliveries_filtered");
    use vexil::origin::api::{Health, KeyListing, Rotation, WhoAmI};
    round_trip::<Health>("health");
    round_trip::<KeyListing>("keys_list");
    round_trip::<Rotation>("keys_rotate");
    round_trip::<WhoAmI>("whoami_token");
    round_trip::<WhoAmI>("whoami_sdk_key");
    use vexil::origin::api::{PublishTargetList, SnapshotList};
    round_trip::<SnapshotList>("snapshot_list");
    round_trip::<PublishTargetList>("publish_targets");
}

/// A webhook receiver on an ephemeral port: `POST /ok` is answered 200, anything
/// else 500.
fn receiver() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let k = stream.read(&mut chunk).unwrap_or(0);
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf);
                let done = text.find("\r\n\r\n").is_some_and(|end| {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .and_then(|v| v.trim().parse::<usize>().ok())
                        })
                        .unwrap_or(0);
                    buf.len() >= end + 4 + len
                });
                if done || k == 0 {
                    break;
                }
            }
            let ok = String::from_utf8_lossy(&buf).starts_with("POST /ok ");
            let status = if ok {
                "200 OK"
            } else {
                "500 Internal Server Error"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    port
}

#[test]
fn webhook_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-webhooks");
    data.set("max_attempts", "max_attempts = 1");
    let s = Server::start(&data);
    let port = receiver();
    let hooks = "/api/v1/environments/production/webhooks";
    let r = s
        .post(
            hooks,
            &admin,
            json!({ "url": format!("http://127.0.0.1:{port}/ok"),
                    "secret": "a-very-secret-secret", "events": ["flag.killed"] }),
        )
        .expect(201);
    let mut shown = r.json.clone();
    shown["url"] = json!("<url>");
    check_value("webhook_create", shown);
    let ok = r.json["id"].as_i64().unwrap();
    s.post(
        hooks,
        &admin,
        json!({ "url": format!("http://127.0.0.1:{port}/bad"),
                "secret": "another-secret-secret", "events": ["flag.killed"] }),
    )
    .expect(201);
    let every = s
        .post(
            hooks,
            &admin,
            json!({ "url": "https://hooks.example.com/all", "secret": "a-third-secret-secret" }),
        )
        .expect(201)
        .json["id"]
        .as_i64()
        .unwrap();
    let mut listed = s.get(hooks, &admin).expect(200).json;
    for w in listed["webhooks"].as_array_mut().unwrap() {
        if w["url"].as_str().unwrap().starts_with("http://127.0.0.1:") {
            let path = w["url"].as_str().unwrap().rsplit('/').next().unwrap();
            w["url"] = json!(format!("<receiver>/{path}"));
        }
    }
    check_value("webhook_list", listed);
    let r = s.call(
        "DELETE",
        &format!("/api/v1/webhooks/{every}"),
        Some(&admin),
        None,
        &[],
    );
    check("webhook_remove", &r.expect(200));

    // One delivery accepted, one failed (a single attempt allowed).
    let eve = s.token(&admin, "eve", &["editor"]);
    s.post(FLAGS, &eve, json!({ "flag": simple_flag("contract-hook") }))
        .expect(201);
    s.post(
        &format!("{FLAGS}/contract-hook/kill"),
        &eve,
        json!({ "reason": "incident" }),
    )
    .expect(200);
    let mut settled = None;
    for _ in 0..100 {
        let r = s.get("/api/v1/webhooks/deliveries", &admin).expect(200);
        let list = r.json["deliveries"].as_array().unwrap();
        if list.len() == 2 && list.iter().all(|d| d["status"] != "pending") {
            settled = Some(r);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check(
        "webhook_deliveries",
        &settled.expect("both deliveries settle"),
    );
    check(
        "webhook_deliveries_filtered",
        &s.get(
            &format!("/api/v1/webhooks/deliveries?webhook={ok}&status=delivered"),
            &admin,
        )
        .expect(200),
    );
}

/// `v` with every string equal to one of `names` (and every object key) replaced by
/// its stand-in: secrets and random ids out of a capture.
fn masked(v: &Value, names: &[(String, String)]) -> Value {
    let swap = |s: &str| {
        names
            .iter()
            .find(|(from, _)| from == s)
            .map_or_else(|| s.to_string(), |(_, to)| to.clone())
    };
    match v {
        Value::String(s) => Value::String(swap(s)),
        Value::Array(items) => items.iter().map(|i| masked(i, names)).collect(),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (swap(k), masked(v, names)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn key_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-keys");
    let s = Server::start(&data);
    let r = s
        .post("/api/v1/keys/rotate", &admin, json!({ "overlap": "7d" }))
        .expect(200);
    let listing = s.call("GET", "/api/v1/keys", None, None, &[]).expect(200);
    let mut names = Vec::new();
    for (n, key) in listing.json["keys"].as_array().unwrap().iter().enumerate() {
        let id = key["id"].as_str().unwrap().to_string();
        let public = key["public_key"].as_str().unwrap().to_string();
        names.push((id, format!("<key-{n}>")));
        names.push((public, format!("<public-key-{n}>")));
    }
    check_value("keys_rotate", masked(&r.json, &names));
    check_value("keys_list", masked(&listing.json, &names));
}

#[test]
fn info_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-info");
    let s = Server::start(&data);
    let health = s.call("GET", "/api/v1/health", None, None, &[]).expect(200);
    assert_eq!(health.json["version"], env!("CARGO_PKG_VERSION"));
    let version = [(env!("CARGO_PKG_VERSION").to_string(), "<version>".into())];
    check_value("health", masked(&health.json, &version));
    let eve = s.token(&admin, "eve", &["editor", "SECURITY"]);
    check("whoami_token", &s.get("/api/v1/whoami", &eve).expect(200));
    let key = s.sdk_key(&admin, "staging");
    check("whoami_sdk_key", &s.get("/api/v1/whoami", &key).expect(200));
}

#[test]
fn snapshot_and_target_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-snapshots");
    let out = data.path().join("published");
    data.configure(&format!(
        "[[publish.directory]]\npath = {:?}\n",
        out.to_str().unwrap()
    ));
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    s.post(
        "/api/v1/environments/staging/flags",
        &eve,
        json!({ "flag": simple_flag("contract-s") }),
    )
    .expect(201);
    let list = s
        .get("/api/v1/environments/staging/snapshots", &eve)
        .expect(200);
    let newest = list.json["snapshots"][0]["version"].clone();
    let mut names = Vec::new();
    for snapshot in list.json["snapshots"].as_array().unwrap() {
        names.push((snapshot["key_id"].as_str().unwrap().into(), "<key>".into()));
        names.push((snapshot["etag"].as_str().unwrap().into(), "<etag>".into()));
    }
    check_value("snapshot_list", masked(&list.json, &names));

    let environments = s.get("/api/v1/environments", &admin).json["environments"]
        .as_array()
        .unwrap()
        .len();
    let mut settled = None;
    for _ in 0..100 {
        let r = s.get("/api/v1/publish-targets", &admin).expect(200);
        let rows = r.json["targets"].as_array().unwrap();
        let staging_done = rows
            .iter()
            .any(|t| t["environment"] == "staging" && t["version"] == newest);
        if rows.len() == environments && staging_done {
            settled = Some(r.json);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let target = format!("directory:{}", out.display());
    let names = [(target, "directory:<path>".to_string())];
    check_value(
        "publish_targets",
        masked(&settled.expect("every environment pushed"), &names),
    );
}
