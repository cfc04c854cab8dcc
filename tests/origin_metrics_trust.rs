//! Which metrics the origin trusts (issue 11, items 2, 3, 4, 6 and 8): client SDK
//! keys are public, so their batches are shown but drive no rollout unless it opts
//! in; every batch is bounded (an implausible one is refused and counted against
//! its key); the keys behind each rollout decision are recorded; private
//! dimensions and unit ids are dropped at ingest; batch ids are deduplicated per
//! environment and key; OFREP evaluations at the origin are audited and counted
//! like the SDK's.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

const FLAGS: &str = "/api/v1/environments/production/flags";

fn setup(name: &str) -> (DataDir, String, Clock) {
    let (data, admin) = DataDir::init(name);
    data.set("check_interval", "check_interval = \"50ms\"");
    let clock = Clock::new(&data);
    (data, admin, clock)
}

/// A batch: `evaluations` of `variant` of `flag`, `outcomes` tracked `request`
/// outcomes of which `failures` failed.
fn batch(id: &str, end_ms: i64, flag: &str, variant: &str, counts: (u64, u64, u64)) -> Value {
    let (evaluations, outcomes, failures) = counts;
    json!({
        "schema": 1, "batch_id": id, "sdk": "test/1", "environment": "production",
        "window": { "start_ms": end_ms - 1000, "end_ms": end_ms },
        "flags": { flag: { "variants": { variant: { "count": evaluations, "reasons": { "SPLIT": evaluations } } } } },
        "events": { "request": { "count": outcomes, "attributions": { flag: { variant: {
            "count": outcomes, "success": outcomes - failures, "failure": failures } } } } },
    })
}

/// Creates an SDK key named `name` of the default kind; returns its secret.
fn plain_key(s: &Server, admin: &str, name: &str, env: &str) -> String {
    s.post(
        "/api/v1/sdk-keys",
        admin,
        json!({ "name": name, "environment": env }),
    )
    .expect(201)
    .json["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates an SDK key of `kind`; returns (id, secret).
fn sdk_key(s: &Server, admin: &str, name: &str, env: &str, kind: &str) -> (i64, String) {
    let r = s
        .post(
            "/api/v1/sdk-keys",
            admin,
            json!({ "name": name, "environment": env, "kind": kind }),
        )
        .expect(201)
        .json;
    assert_eq!(r["sdk_kind"], kind, "{r}");
    (
        r["id"].as_i64().unwrap(),
        r["token"].as_str().unwrap().to_string(),
    )
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

fn start_rollout(s: &Server, editor: &str, flag: &str, plan: Value) -> i64 {
    s.post(FLAGS, editor, json!({ "flag": simple_flag(flag) }))
        .expect(201);
    s.post(&format!("{FLAGS}/{flag}/rollouts"), editor, plan)
        .expect(201)
        .json["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn client_keys_are_public_their_metrics_do_not_drive_rollouts_and_decisions_name_their_keys() {
    let (data, admin, mut clock) = setup("client-keys");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let (server_id, server) = sdk_key(&s, &admin, "checkout-api", "production", "server");
    let (client_id, client) = sdk_key(&s, &admin, "web", "production", "client");
    assert!(server.starts_with("vxs_") && client.starts_with("vxc_"));
    // The default stays a server key, as every key was before kinds existed.
    let default = s
        .post(
            "/api/v1/sdk-keys",
            &admin,
            json!({ "name": "legacy", "environment": "production" }),
        )
        .expect(201)
        .json;
    assert_eq!(default["sdk_kind"], "server");
    let bad = s.post(
        "/api/v1/sdk-keys",
        &admin,
        json!({ "name": "x", "environment": "production", "kind": "browser" }),
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("client"), "{}", bad.text);
    let keys = s.get("/api/v1/sdk-keys", &admin).expect(200).json;
    let kinds: Vec<(&str, &str)> = keys["sdk_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["name"].as_str().unwrap(), k["sdk_kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("checkout-api", "server"),
            ("web", "client"),
            ("legacy", "server")
        ]
    );
    s.get("/api/v1/sdk-keys", &editor).expect(403);
    // A client key reads the snapshot and OFREP like a server key.
    s.get("/api/v1/environments/production/snapshot", &client)
        .expect(200);

    let id = start_rollout(
        &s,
        &editor,
        "new-search",
        json!({ "stages": [10, 100], "stage_duration": "10m", "min_samples": 20 }),
    );
    // Anyone holding the public key forges a disaster: it is stored and shown,
    // labelled, but the rollout does not move.
    clock.advance(20_000);
    let r = s
        .post(
            "/api/v1/metrics",
            &client,
            batch("forged", clock.now(), "new-search", "on", (500, 200, 150)),
        )
        .expect(200)
        .json;
    assert_eq!(r["sdk_kind"], "client");
    assert_eq!(r["rollouts"][0]["counted"], false, "{r}");
    let checked = wait_for(&s, &editor, id, |r| {
        r["last_check"]["keys"]
            .as_array()
            .is_some_and(|k| !k.is_empty())
    });
    assert_eq!(checked["status"], "running", "{checked}");
    assert_eq!(checked["last_check"]["figures"]["samples"], 0);
    assert_eq!(checked["last_check"]["breaches"], json!([]));
    let m = s
        .get("/api/v1/flags/new-search/metrics?env=production", &editor)
        .expect(200)
        .json;
    assert_eq!(m["total_evaluations"], 500);
    assert_eq!(m["by_key_kind"]["client"]["failures"], 150, "{m}");
    assert_eq!(
        m["by_key_kind"]["client"]["evaluations"], 500,
        "each evaluation counted once: {m}"
    );
    assert!(m["by_key_kind"].get("server").is_none(), "{m}");

    // The server key's healthy traffic counts, and the advance says whose it was.
    s.post(
        "/api/v1/metrics",
        &server,
        batch("real", clock.now(), "new-search", "on", (300, 100, 0)),
    )
    .expect(200);
    clock.advance(11 * 60_000);
    let r = wait_for(&s, &editor, id, |r| r["stage"] == 2);
    assert_eq!(r["percentage"], 100.0);
    let entries = s.get("/api/v1/audit?action=rollout.advanced", &editor).json["entries"].clone();
    let keys = &entries[0]["details"]["keys"];
    let by_id = |id: i64| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("key {id} missing from {keys}"))
    };
    let fed = by_id(server_id);
    assert_eq!(
        (&fed["name"], &fed["kind"], &fed["counted"], &fed["samples"]),
        (
            &json!("checkout-api"),
            &json!("server"),
            &json!(true),
            &json!(100)
        )
    );
    let ignored = by_id(client_id);
    assert_eq!(
        (&ignored["kind"], &ignored["counted"]),
        (&json!("client"), &json!(false))
    );
    // `rollout status` lists the keys of the decision.
    let out = vexil_as(
        &s,
        &editor,
        &["rollout", "status", "new-search", "--env", "production"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("#{server_id} checkout-api")),
        "{text}"
    );
    // The CLI creates either kind.
    let out = vexil_as(
        &s,
        &admin,
        &[
            "sdk-key",
            "create",
            "--name",
            "kiosk",
            "--env",
            "production",
            "--kind",
            "client",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("client SDK key") && text.contains("vxc_"),
        "{text}"
    );
    // `sdk-key list` shows kinds and batch counts.
    let out = vexil_as(&s, &admin, &["sdk-key", "list", "--env", "production"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("web") && text.contains("client") && text.contains("1 accepted"),
        "{text}"
    );
}

#[test]
fn a_rollout_that_opts_in_counts_client_metrics() {
    let (data, admin, mut clock) = setup("client-opt-in");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let (_, client) = sdk_key(&s, &admin, "web", "production", "client");
    let id = start_rollout(
        &s,
        &editor,
        "banner-v2",
        json!({ "stages": [10, 100], "min_samples": 20, "count_client_metrics": true }),
    );
    clock.advance(20_000);
    s.post(
        "/api/v1/metrics",
        &client,
        batch("c1", clock.now(), "banner-v2", "on", (500, 200, 150)),
    )
    .expect(200);
    let r = wait_for(&s, &editor, id, |r| r["status"] == "rolled_back");
    assert_eq!(r["guards"]["count_client_metrics"], true);
}

#[test]
fn implausible_batches_are_refused_counted_and_never_break_later_reads() {
    let (data, admin, clock) = setup("bounds");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = plain_key(&s, &admin, "edge", "production");
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("banner") }))
        .expect(201);
    let huge = u64::MAX;
    for id in ["o1", "o2"] {
        let r = s.post(
            "/api/v1/metrics",
            &sdk,
            batch(id, clock.now(), "banner", "on", (huge, 0, 0)),
        );
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.json["error"]["code"], "implausible_batch");
        let message = r.json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("`flags.banner`") && message.contains("at most 10000000"),
            "{message}"
        );
    }
    // Outcomes that cannot be: more failures than calls.
    let mut b = batch("o3", clock.now(), "banner", "on", (10, 5, 0));
    b["events"]["request"]["attributions"]["banner"]["on"]["failure"] = json!(9);
    let r = s.post("/api/v1/metrics", &sdk, b).expect(422);
    assert!(r.text.contains("more than its count 5"), "{}", r.text);
    // A window far in the future.
    let r = s
        .post(
            "/api/v1/metrics",
            &sdk,
            batch("o4", clock.now() + 86_400_000, "banner", "on", (1, 0, 0)),
        )
        .expect(422);
    assert!(r.text.contains("ahead of the origin's clock"), "{}", r.text);
    // A plausible one still goes in, and reads work.
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("ok", clock.now(), "banner", "on", (10, 5, 1)),
    )
    .expect(200);
    let m = s
        .get("/api/v1/flags/banner/metrics?env=production", &editor)
        .expect(200)
        .json;
    assert_eq!(m["total_evaluations"], 10);
    s.get("/api/v1/environments/production/flags", &editor)
        .expect(200);
    let keys = s.get("/api/v1/sdk-keys", &admin).expect(200).json;
    let b = &keys["sdk_keys"][0]["batches"];
    assert_eq!(
        (&b["accepted"], &b["rejected"]),
        (&json!(1), &json!(4)),
        "{b}"
    );
    assert!(b["last_rejection"].as_str().unwrap().contains("ahead"));
}

#[test]
fn batch_ids_are_deduplicated_per_environment_and_key() {
    let (data, admin, clock) = setup("dedup");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let production = s.sdk_key(&admin, "production");
    let staging = s.sdk_key(&admin, "staging");
    let other_edge = plain_key(&s, &admin, "edge-2", "production");
    for env in ["production", "staging"] {
        s.post(
            &format!("/api/v1/environments/{env}/flags"),
            &editor,
            json!({ "flag": simple_flag("banner") }),
        )
        .expect(201);
    }
    let mut staging_batch = batch("same-id", clock.now(), "banner", "on", (7, 0, 0));
    staging_batch["environment"] = json!("staging");
    let r = s
        .post("/api/v1/metrics", &staging, staging_batch)
        .expect(200);
    assert_eq!(r.json["accepted"], true);
    // Staging's batch does not suppress production's of the same id...
    let r = s
        .post(
            "/api/v1/metrics",
            &production,
            batch("same-id", clock.now(), "banner", "on", (5, 0, 0)),
        )
        .expect(200);
    assert_eq!(r.json["accepted"], true, "{}", r.text);
    // ...nor one edge another's, while a retry by the same key is still a duplicate.
    let r = s
        .post(
            "/api/v1/metrics",
            &other_edge,
            batch("same-id", clock.now(), "banner", "on", (3, 0, 0)),
        )
        .expect(200);
    assert_eq!(r.json["accepted"], true);
    let r = s
        .post(
            "/api/v1/metrics",
            &production,
            batch("same-id", clock.now(), "banner", "on", (5, 0, 0)),
        )
        .expect(200);
    assert_eq!(r.json["duplicate"], true);
    let m = |env: &str| {
        s.get(&format!("/api/v1/flags/banner/metrics?env={env}"), &editor)
            .expect(200)
            .json["total_evaluations"]
            .clone()
    };
    assert_eq!((m("production"), m("staging")), (json!(8), json!(7)));
}

#[test]
fn private_dimensions_and_unit_ids_are_dropped_at_ingest() {
    let (data, admin, clock) = setup("private-dims");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let mut phi = simple_flag("phi-alerts");
    phi["private_attributes"] = json!(["patient"]);
    s.post(FLAGS, &editor, json!({ "flag": phi })).expect(201);
    let mut by_account = simple_flag("per-account");
    by_account["fallthrough"] = json!({ "rollout": { "by": ["account.id", "sessionId"], "weights": { "on": 50, "off": 50 } } });
    s.post(FLAGS, &editor, json!({ "flag": by_account }))
        .expect(201);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("banner") }))
        .expect(201);
    let dims = json!({
        "patient.population": { "oncology": 4 },
        "targetingKey": { "user-1": 1, "user-2": 3 },
        "sessionId": { "s-9": 4 },
        "geo.country": { "DE": 4 },
    });
    let mut b = batch("p1", clock.now(), "phi-alerts", "on", (4, 0, 0));
    b["flags"]["phi-alerts"]["variants"]["on"]["dimensions"] = dims.clone();
    b["flags"]["banner"] = json!({ "variants": { "on": { "count": 4, "reasons": { "STATIC": 4 }, "dimensions": dims } } });
    let r = s.post("/api/v1/metrics", &sdk, b).expect(200).json;
    let dims_of = |flag: &str| {
        let m = s
            .get(
                &format!("/api/v1/flags/{flag}/metrics?env=production"),
                &editor,
            )
            .expect(200)
            .json;
        let mut names: Vec<String> = m["variants"]["on"]["dimensions"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        (names, m.to_string())
    };
    let (phi_dims, text) = dims_of("phi-alerts");
    assert_eq!(phi_dims, ["geo.country"]);
    assert!(
        !text.contains("oncology") && !text.contains("user-1"),
        "{text}"
    );
    let (banner_dims, text) = dims_of("banner");
    assert_eq!(banner_dims, ["geo.country", "patient.population"]);
    assert!(!text.contains("user-2") && !text.contains("s-9"), "{text}");
    // The answer says what was dropped.
    assert_eq!(
        r["withheld_dimensions"],
        json!([
            "banner: sessionId",
            "banner: targetingKey",
            "phi-alerts: patient.population",
            "phi-alerts: sessionId",
            "phi-alerts: targetingKey"
        ])
    );
}

#[test]
fn ofrep_at_the_origin_audits_and_counts_evaluations_like_the_sdk() {
    let (data, admin, _clock) = setup("ofrep-audit");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = plain_key(&s, &admin, "clinic-app", "production");
    let mut flag = simple_flag("sepsis-score");
    flag["audit_evaluations"] = json!("all");
    flag["access"] = json!({ "attr": "role", "op": "eq", "values": ["clinician"] });
    flag["fallthrough"] = json!({ "variant": "on" });
    s.post(FLAGS, &editor, json!({ "flag": flag })).expect(201);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("banner") }))
        .expect(201);
    let single = |ctx: Value| {
        s.call(
            "POST",
            "/ofrep/v1/evaluate/flags/sepsis-score",
            Some(&sdk),
            Some(&json!({ "context": ctx }).to_string()),
            &[],
        )
    };
    let r = single(json!({ "targetingKey": "patient-0042", "role": "clinician" }));
    assert_eq!(
        (r.status, &r.json["value"]),
        (200, &json!(true)),
        "{}",
        r.text
    );
    let r = single(json!({ "targetingKey": "patient-0042", "role": "visitor" }));
    assert_eq!(r.json["reason"], "DENIED", "{}", r.text);
    // The bulk route audits too.
    let r = s.call(
        "POST",
        "/ofrep/v1/evaluate/flags",
        Some(&sdk),
        Some(
            &json!({ "context": { "targetingKey": "patient-0043", "role": "clinician" } })
                .to_string(),
        ),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // The audit entries are there as soon as the answers are.
    let entries = |action: &str| {
        s.get(
            &format!("/api/v1/audit?flag=sepsis-score&action={action}"),
            &editor,
        )
        .expect(200)
        .json["entries"]
            .as_array()
            .unwrap()
            .clone()
    };
    let audited = entries("evaluation.audited");
    let denied = entries("evaluation.denied");
    assert_eq!(
        (audited.len(), denied.len()),
        (2, 1),
        "{audited:?} {denied:?}"
    );
    let first = &audited[0];
    assert_eq!(first["actor"], "edge:clinic-app");
    assert_eq!(first["details"]["reason"], "DEFAULT");
    let unit = first["details"]["unit"].as_str().unwrap();
    assert!(
        unit.len() == 32 && unit.bytes().all(|b| b.is_ascii_hexdigit()),
        "a pseudonym, not the id: {unit}"
    );
    assert_eq!(
        denied[0]["details"]["unit"], unit,
        "one unit, one pseudonym"
    );
    assert_ne!(audited[1]["details"]["unit"], unit);
    let all = s
        .get("/api/v1/audit?action=evaluation.audited", &editor)
        .text;
    assert!(!all.contains("patient-0042"), "{all}");
    // And they are the key's metrics, counted like an SDK's.
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        let m = s
            .get("/api/v1/flags/sepsis-score/metrics?env=production", &editor)
            .expect(200)
            .json;
        if m["total_evaluations"] == 3 || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(m["total_evaluations"], 3, "{m}");
    assert_eq!(m["variants"]["off"]["reasons"]["DENIED"], 1, "{m}");
    assert!(m["unique_units"].as_f64().unwrap() >= 2.0, "{m}");
    let banner = s
        .get("/api/v1/flags/banner/metrics?env=production", &editor)
        .expect(200)
        .json;
    assert_eq!(banner["total_evaluations"], 1, "the bulk evaluation");
}
