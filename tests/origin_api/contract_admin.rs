//! Contract captures (see `contract.rs`) of the administration and information
//! answers: webhooks and their deliveries, keys and their rotation, health, whoami,
//! the snapshot list and publish targets.

use super::contract::{check, check_value};
use super::support::*;
use super::FLAGS;
use serde_json::{json, Value};

#[test]
fn webhook_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-webhooks");
    data.set("max_attempts", "max_attempts = 1");
    let s = Server::start(&data);
    // `POST /ok` is answered 200, anything else 500.
    let (port, _requests) = super::receiver::start(|_, head| {
        if head.starts_with("POST /ok ") {
            "200 OK"
        } else {
            "500 Internal Server Error"
        }
    });
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
    check(
        "policies_default",
        &s.get("/api/v1/policies", &eve).expect(200),
    );
}

#[test]
fn policies_with_venues_keep_their_json() {
    let (data, admin) = DataDir::init("contract-policies");
    std::fs::write(
        data.path().join("xnys.txt"),
        "2026-11-26\n2026-11-27 13:00\n",
    )
    .unwrap();
    data.configure(concat!(
        "[governance.trading_hours]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"08:00\"\nclose = \"16:30\"\n",
        "[[governance.venues]]\nname = \"XNYS\"\ntime_zone = \"America/New_York\"\nholidays_file = \"xnys.txt\"\n",
        "[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"09:30\"\nclose = \"16:00\"\n",
    ));
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    let r = s.get("/api/v1/policies", &eve).expect(200);
    check("policies_venues", &r);
    let typed: vexil::origin::api::PolicyList = serde_json::from_str(&r.text).unwrap();
    assert_eq!(typed.config.venues[0].early_closes[0].close, "13:00");
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
