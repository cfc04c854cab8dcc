//! The origin end to end over HTTP: a real `vexil serve` on an ephemeral port with a
//! temp data directory. The seed's finance and healthcare flows, four-eyes, the
//! trading-hours freeze, the kill switch, snapshots with ETags, key rotation,
//! restarts, webhooks, bulk updates, and bad input on every kind of route.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;

const FLAGS: &str = "/api/v1/environments/production/flags";

fn roles_of(change: &Value) -> Vec<String> {
    let mut roles: Vec<String> = change["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap().to_string())
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// Sets up what `enhanced-order-routing-v2` depends on: its segments, exclusion
/// group and prerequisite.
fn finance_groundwork(s: &Server, editor: &str, approvers: &[&str]) {
    let doc = example("finance-flags.json");
    for (name, clause) in doc["segments"].as_object().unwrap() {
        s.put(
            &format!("/api/v1/environments/production/segments/{name}"),
            editor,
            json!({ "clause": clause }),
        )
        .expect(200);
    }
    s.put(
        "/api/v1/environments/production/exclusion-groups/routing-experiments",
        editor,
        json!({ "salt": "routing-2026" }),
    )
    .expect(200);
    for key in ["market-data-v3", "trading-kill-switch"] {
        let flag = example_flag("finance-flags.json", key);
        let change = s
            .post(FLAGS, editor, json!({ "flag": flag }))
            .expect(201)
            .json;
        assert_eq!(change["status"], "pending");
        let id = change["id"].as_i64().unwrap();
        let applied = approvers.iter().any(|a| {
            let r = s.post(&format!("/api/v1/changes/{id}/approve"), a, json!({}));
            r.json["status"] == "applied"
        });
        assert!(applied, "{key} was not applied");
    }
}

#[test]
fn finance_flow_needs_every_approval_and_the_kill_switch_never_waits() {
    let (data, admin) = DataDir::init("finance");
    let s = Server::start(&data);
    let alice = s.token(&admin, "alice", &["editor"]);
    let lead = s.token(&admin, "tom", &["TECH_LEAD", "viewer"]);
    let sec = s.token(&admin, "sara", &["SECURITY"]);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    let comp = s.token(&admin, "carla", &["COMPLIANCE"]);
    let viewer = s.token(&admin, "vic", &["viewer"]);
    let alice_lead = s.token(&admin, "alice", &["TECH_LEAD"]);
    finance_groundwork(&s, &alice, &[&lead, &sec, &po, &comp]);
    let before = verified_payload(&s, "production", &viewer);

    let flag = example_flag("finance-flags.json", "enhanced-order-routing-v2");
    let change = s
        .post(
            FLAGS,
            &alice,
            json!({ "flag": flag, "reason": "new router" }),
        )
        .expect(201)
        .json;
    assert_eq!(change["status"], "pending");
    assert_eq!(change["author"], "alice");
    assert_eq!(
        roles_of(&change),
        ["COMPLIANCE", "PRODUCT_OWNER", "SECURITY", "TECH_LEAD"]
    );
    let policies: Vec<&str> = change["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["policy"].as_str().unwrap())
        .collect();
    assert!(
        policies.contains(&"mifid2-best-execution")
            && policies.contains(&"critical-risk-approvals"),
        "{policies:?}"
    );
    let id = change["id"].as_i64().unwrap();
    let approve = |token: &str| {
        s.post(
            &format!("/api/v1/changes/{id}/approve"),
            token,
            json!({ "comment": "ok" }),
        )
    };

    // Not published while pending.
    assert!(!flag_keys(&verified_payload(&s, "production", &viewer))
        .contains(&"enhanced-order-routing-v2".to_string()));
    // Four-eyes: another token of the author is still the author.
    let r = approve(&alice_lead).expect(403);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("four-eyes"),
        "{}",
        r.text
    );
    // Roles the change does not need cannot approve it.
    approve(&viewer).expect(403);
    for token in [&lead, &sec, &po] {
        assert_eq!(approve(token).expect(200).json["status"], "pending");
    }
    approve(&lead).expect(409); // already approved
    let applied = approve(&comp).expect(200).json;
    assert_eq!(applied["status"], "applied", "{applied}");
    assert!(applied["required"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["approved_by"].is_string()));
    let version = applied["applied"]["snapshot_version"].as_u64().unwrap();
    let payload = verified_payload(&s, "production", &viewer);
    assert_eq!(payload["version"].as_u64().unwrap(), version);
    assert!(payload["version"].as_u64() > before["version"].as_u64());
    assert!(flag_keys(&payload).contains(&"enhanced-order-routing-v2".to_string()));

    // The kill switch: any editor, at once, with a reason, even for a critical flag.
    let r = s
        .post(
            &format!("{FLAGS}/enhanced-order-routing-v2/kill"),
            &alice,
            json!({}),
        )
        .expect(400);
    assert!(r.text.contains("reason"));
    let killed = s
        .post(
            &format!("{FLAGS}/enhanced-order-routing-v2/kill"),
            &alice,
            json!({ "reason": "bad fills" }),
        )
        .expect(200)
        .json;
    assert_eq!(killed["status"], "applied");
    assert!(killed["required"].as_array().unwrap().is_empty());
    let payload = verified_payload(&s, "production", &viewer);
    let routed = payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "enhanced-order-routing-v2")
        .unwrap();
    assert_eq!(routed["enabled"], false);
    let audit = s
        .get("/api/v1/audit?action=flag.killed", &viewer)
        .expect(200)
        .json;
    let entry = &audit["entries"][0];
    assert_eq!(entry["subject"], "production/enhanced-order-routing-v2");
    assert_eq!(entry["details"]["reason"], "bad fills");
    assert_eq!(entry["actor"], "alice");
    // Re-enabling goes through approvals again.
    let enable = s
        .post(
            &format!("{FLAGS}/enhanced-order-routing-v2/enable"),
            &alice,
            json!({}),
        )
        .expect(200)
        .json;
    assert_eq!(enable["status"], "pending");

    let verify = s.get("/api/v1/audit/verify", &viewer).expect(200).json;
    assert_eq!(verify["ok"], true, "{verify}");
    // The audit report.
    let report = s
        .get(
            &format!("{FLAGS}/enhanced-order-routing-v2/audit-report"),
            &viewer,
        )
        .expect(200)
        .json;
    assert_eq!(report["flag_id"], "enhanced-order-routing-v2");
    assert_eq!(report["audit_summary"]["compliance_status"], "compliant");
    assert_eq!(report["configuration_history"].as_array().unwrap().len(), 2);
    assert_eq!(report["approvals"].as_array().unwrap().len(), 4);
}

#[test]
fn healthcare_flags_meet_hipaa_before_they_can_be_requested() {
    let (data, admin) = DataDir::init("hipaa");
    let s = Server::start(&data);
    let nurse = s.token(&admin, "nina", &["editor"]);
    let oversight = s.token(&admin, "dr-oz", &["CLINICAL_OVERSIGHT"]);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    let engineering = s.token(&admin, "ed", &["CLINICAL_ENGINEERING"]);
    let doc = example("healthcare-flags.json");
    for (name, clause) in doc["segments"].as_object().unwrap() {
        s.put(
            &format!("/api/v1/environments/production/segments/{name}"),
            &nurse,
            json!({ "clause": clause }),
        )
        .expect(200);
    }
    let flag = example_flag("healthcare-flags.json", "enhanced-clinical-alerts-v2");

    // PHI without auditing every evaluation, without private attributes, reading an
    // undeclared attribute: refused, each policy named.
    let mut bad = flag.clone();
    bad["audit_evaluations"] = json!("denied");
    bad["private_attributes"] = json!([]);
    bad["rules"][0]["when"]["all"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "attr": "patient.ssn", "op": "exists" }));
    let r = s.post(FLAGS, &nurse, json!({ "flag": bad })).expect(422);
    assert_eq!(r.json["error"]["code"], "policy_violation");
    let failed: Vec<&str> = r.json["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["policy"].as_str().unwrap())
        .collect();
    for policy in [
        "hipaa-evaluation-audit",
        "hipaa-private-attributes",
        "hipaa-minimum-necessary",
    ] {
        assert!(failed.contains(&policy), "{policy} missing from {failed:?}");
    }
    assert!(r.text.contains("patient.ssn"));
    let changes = s
        .get("/api/v1/changes?flag=enhanced-clinical-alerts-v2", &nurse)
        .expect(200)
        .json;
    assert!(
        changes["changes"].as_array().unwrap().is_empty(),
        "a refused change is not recorded"
    );

    let change = s
        .post(FLAGS, &nurse, json!({ "flag": flag }))
        .expect(201)
        .json;
    assert_eq!(change["oversight_level"], 2);
    assert_eq!(
        roles_of(&change),
        [
            "CLINICAL_ENGINEERING",
            "CLINICAL_OVERSIGHT",
            "PRODUCT_OWNER"
        ]
    );
    let id = change["id"].as_i64().unwrap();
    s.post(
        &format!("/api/v1/changes/{id}/approve"),
        &oversight,
        json!({}),
    )
    .expect(200);
    s.post(
        &format!("/api/v1/changes/{id}/approve"),
        &engineering,
        json!({}),
    )
    .expect(200);
    let done = s
        .post(&format!("/api/v1/changes/{id}/approve"), &po, json!({}))
        .expect(200)
        .json;
    assert_eq!(done["status"], "applied");

    // The audit report lists the Security Rule's safeguards one by one: evidence for
    // what Vexil holds, the gap where it is missing (no health probe for the clinical
    // systems here), and what the deployment must provide.
    let report = s
        .get(
            &format!("{FLAGS}/enhanced-clinical-alerts-v2/audit-report"),
            &nurse,
        )
        .expect(200)
        .json;
    let safeguards = report["security_information"]["hipaa_safeguards"]
        .as_array()
        .expect("a HIPAA flag's report lists its safeguards");
    let status = |needle: &str| {
        let s = safeguards
            .iter()
            .find(|s| s["standard"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no safeguard {needle} in {safeguards:?}"));
        (
            s["status"].as_str().unwrap().to_string(),
            s["detail"].as_str().unwrap().to_string(),
        )
    };
    for kind in ["administrative", "physical", "technical"] {
        assert!(safeguards.iter().any(|s| s["kind"] == kind), "{kind}");
    }
    let (st, detail) = status("information access");
    assert_eq!(st, "evidence");
    assert!(detail.contains("1 by CLINICAL_OVERSIGHT"), "{detail}");
    let (st, detail) = status("contingency");
    assert_eq!(st, "gap");
    assert!(
        detail.contains("clinical_alerts, notification_system not health-probed"),
        "{detail}"
    );
    assert_eq!(status("audit controls").0, "evidence");
    assert_eq!(status("integrity").0, "evidence");
    assert_eq!(status("transmission").0, "delegated");

    // A rejection needs a reason and closes the change.
    let mut device = example_flag("healthcare-flags.json", "clinical-alert-channel");
    device["medical_device_integration"] = json!(true);
    let change = s
        .post(FLAGS, &nurse, json!({ "flag": device }))
        .expect(201)
        .json;
    assert!(roles_of(&change).contains(&"CLINICAL_ENGINEERING".to_string()));
    // Device integration derives a high risk from the declared medium: the product
    // owner approves too, and the change says why.
    let po_needed = change["required"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "PRODUCT_OWNER")
        .expect("the derived risk needs the product owner");
    assert_eq!(
        po_needed["note"],
        "risk derived high, declared medium: medical_device_integration"
    );
    let id = change["id"].as_i64().unwrap();
    s.post(
        &format!("/api/v1/changes/{id}/reject"),
        &engineering,
        json!({ "comment": " " }),
    )
    .expect(400);
    // Only an approver the change needs may reject it.
    s.post(
        &format!("/api/v1/changes/{id}/reject"),
        &oversight,
        json!({ "comment": "no" }),
    )
    .expect(403);
    let rejected = s
        .post(
            &format!("/api/v1/changes/{id}/reject"),
            &engineering,
            json!({ "comment": "needs device sign-off" }),
        )
        .expect(200)
        .json;
    assert_eq!(rejected["status"], "rejected");
    s.post(
        &format!("/api/v1/changes/{id}/approve"),
        &oversight,
        json!({}),
    )
    .expect(409);
}

#[test]
fn trading_hours_freeze_mifid_flags_but_not_the_kill_switch_and_restarts_lose_nothing() {
    let (data, admin) = DataDir::init("freeze");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let mut flag = simple_flag("best-ex-router");
    flag["compliance"] = json!(["MiFID_II"]);
    s.post(FLAGS, &editor, json!({ "flag": flag.clone() }))
        .expect(201);
    let version = verified_payload(&s, "production", &editor)["version"]
        .as_u64()
        .unwrap();
    s.kill(); // a crash: everything committed must survive

    // Markets open around the clock, every day.
    data.configure("[governance.trading_hours]\nweekdays = [1, 2, 3, 4, 5, 6, 7]\nopen = \"00:00\"\nclose = \"24:00\"\n");
    let s = Server::start(&data);
    assert_eq!(
        verified_payload(&s, "production", &editor)["version"]
            .as_u64()
            .unwrap(),
        version
    );
    flag["description"] = json!("tweak");
    // Held, not refused: pending until the session closes (midnight UTC here).
    let midnight = vexil::engine::time::format_rfc3339_ms((now_ms() / 86_400_000 + 1) * 86_400_000);
    let held = s
        .put(
            &format!("{FLAGS}/best-ex-router"),
            &editor,
            json!({ "flag": flag }),
        )
        .expect(200)
        .json;
    assert_eq!(held["status"], "pending", "{held}");
    assert_eq!(held["apply_at"], json!(midnight), "{held}");
    let requested = s
        .get(
            "/api/v1/audit?flag=best-ex-router&action=change.requested",
            &editor,
        )
        .expect(200)
        .json;
    let last = requested["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["details"]["held"][0]["policy"], "mifid2-trading-hours-freeze",
        "{last}"
    );
    let r = s
        .post(
            &format!("{FLAGS}/best-ex-router/rollout"),
            &editor,
            json!({ "percentage": 10 }),
        )
        .expect(200);
    assert_eq!(r.json["apply_at"], json!(midnight), "{}", r.text);
    // Other policies still refuse at once.
    let mut bad = simple_flag("Bad_Key");
    bad["compliance"] = json!(["MiFID_II"]);
    s.post(FLAGS, &editor, json!({ "flag": bad })).expect(422);
    let killed = s
        .post(
            &format!("{FLAGS}/best-ex-router/kill"),
            &editor,
            json!({ "reason": "halt" }),
        )
        .expect(200)
        .json;
    assert_eq!(killed["status"], "applied");
    // Other flags are not frozen.
    s.post(
        FLAGS,
        &editor,
        json!({ "flag": simple_flag("checkout-banner") }),
    )
    .expect(201);
    assert_eq!(s.stop().code(), Some(0), "graceful shutdown on SIGTERM");
}

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

#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let (data, admin) = DataDir::init("bad");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("good-flag") }))
        .expect(201);
    let audit_before = s.get("/api/v1/audit?limit=1000", &admin).json["entries"]
        .as_array()
        .unwrap()
        .len();
    let version_before = verified_payload(&s, "production", &admin)["version"].clone();

    let r = s
        .call("POST", FLAGS, Some(&editor), Some("{not json"), &[])
        .expect(400);
    assert_eq!(r.json["error"]["code"], "bad_request");
    let r = s
        .post(
            FLAGS,
            &editor,
            json!({ "flag": simple_flag("x-flag"), "oops": 1 }),
        )
        .expect(400);
    assert!(r.text.contains("oops"), "{}", r.text);
    s.post(FLAGS, &editor, json!({ "flag": [1, 2] }))
        .expect(400);
    let mut invalid = simple_flag("bad-rule");
    invalid["rules"] = json!([{ "id": "r", "when": { "attr": "a", "op": "likes", "values": [1] }, "serve": { "variant": "on" } }]);
    let r = s
        .post(FLAGS, &editor, json!({ "flag": invalid }))
        .expect(422);
    assert_eq!(r.json["error"]["code"], "invalid");
    assert!(r.text.contains("likes"), "{}", r.text);
    let mut bad_name = simple_flag("Bad_Name");
    bad_name["key"] = json!("Bad_Name");
    let r = s
        .post(FLAGS, &editor, json!({ "flag": bad_name }))
        .expect(422);
    assert_eq!(r.json["error"]["details"][0]["policy"], "naming-convention");
    let mut no_expiry = simple_flag("no-expiry");
    no_expiry.as_object_mut().unwrap().remove("expires_at");
    let r = s
        .post(FLAGS, &editor, json!({ "flag": no_expiry }))
        .expect(422);
    assert_eq!(r.json["error"]["details"][0]["policy"], "expiry-required");
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("good-flag") }))
        .expect(409);
    s.post(
        "/api/v1/environments/nowhere/flags",
        &editor,
        json!({ "flag": simple_flag("y") }),
    )
    .expect(404);
    s.post(
        &format!("{FLAGS}/missing/kill"),
        &editor,
        json!({ "reason": "x" }),
    )
    .expect(404);
    s.post(
        &format!("{FLAGS}/good-flag/rollout"),
        &editor,
        json!({ "percentage": 120 }),
    )
    .expect(400);
    s.post(
        &format!("{FLAGS}/good-flag/rollout"),
        &editor,
        json!({ "percentage": "ten" }),
    )
    .expect(400);
    s.post(&format!("{FLAGS}/good-flag/rollback"), &editor, json!({}))
        .expect(400);
    s.put(
        &format!("{FLAGS}/good-flag"),
        &editor,
        json!({ "flag": simple_flag("other-key") }),
    )
    .expect(400);
    s.get("/api/v1/changes/999", &editor).expect(404);
    s.get("/api/v1/changes/abc", &editor).expect(400);
    s.get("/api/v1/changes?status=maybe", &editor).expect(400);
    s.post("/api/v1/changes/999/approve", &editor, json!({}))
        .expect(404);
    s.post(
        "/api/v1/tokens",
        &admin,
        json!({ "name": "x", "roles": ["wizard"] }),
    )
    .expect(400);
    s.post(
        "/api/v1/tokens",
        &admin,
        json!({ "name": "x", "roles": [] }),
    )
    .expect(400);
    s.post("/api/v1/environments", &admin, json!({ "name": "Prod!" }))
        .expect(400);
    s.post(
        "/api/v1/environments",
        &admin,
        json!({ "name": "production" }),
    )
    .expect(409);
    s.post(
        "/api/v1/environments/production/webhooks",
        &admin,
        json!({ "url": "ftp://x" }),
    )
    .expect(400);
    s.post(
        "/api/v1/environments/production/webhooks",
        &admin,
        json!({ "url": "http://x.test/", "events": ["nope"] }),
    )
    .expect(400);
    s.call("GET", "/api/v1/flags", Some(&editor), None, &[])
        .expect(404);
    s.call("DELETE", "/api/v1/health", None, None, &[])
        .expect(405);
    s.call("GET", "/api/v1/whoami", Some("vxt_nobody"), None, &[])
        .expect(401);
    s.call(
        "GET",
        "/api/v1/whoami",
        None,
        None,
        &[("Authorization", "Basic abc")],
    )
    .expect(401);
    let big = format!("{{\"flag\": \"{}\"}}", "x".repeat(2 << 20));
    let r = s.call("POST", FLAGS, Some(&editor), Some(&big), &[]);
    // Refused (or the connection closed once the limit was passed), never applied.
    assert!(matches!(r.status, 0 | 413), "{} {}", r.status, r.text);

    let audit_after = s.get("/api/v1/audit?limit=1000", &admin).json["entries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        audit_after, audit_before,
        "refused requests leave no trace but their answer"
    );
    assert_eq!(
        verified_payload(&s, "production", &admin)["version"],
        version_before
    );
}

/// Every route, every role: who may call it.
#[test]
fn every_route_checks_the_role() {
    let (data, admin) = DataDir::init("roles");
    let s = Server::start(&data);
    let editor = s.token(&admin, "ed", &["editor"]);
    s.post(
        FLAGS,
        &editor,
        json!({ "flag": simple_flag("matrix-flag") }),
    )
    .expect(201);
    let viewer = s.token(&admin, "vi", &["viewer"]);
    let approver = s.token(&admin, "ap", &["SECURITY"]);
    let sdk = s.sdk_key(&admin, "production");
    let tokens = [
        ("admin", &admin),
        ("editor", &editor),
        ("viewer", &viewer),
        ("approver", &approver),
        ("sdk", &sdk),
    ];
    // (method, path, body, who may): R = read roles, E = editor/admin, A = admin, S = read roles + sdk.
    let routes: &[(&str, &str, Value, &str)] = &[
        ("GET", "/api/v1/environments", Value::Null, "R"),
        (
            "GET",
            "/api/v1/environments/production/snapshot",
            Value::Null,
            "S",
        ),
        (
            "GET",
            "/api/v1/environments/production/snapshots",
            Value::Null,
            "R",
        ),
        ("GET", FLAGS, Value::Null, "R"),
        (
            "GET",
            "/api/v1/environments/production/flags/matrix-flag",
            Value::Null,
            "R",
        ),
        (
            "GET",
            "/api/v1/environments/production/flags/matrix-flag/history",
            Value::Null,
            "R",
        ),
        (
            "GET",
            "/api/v1/environments/production/flags/matrix-flag/audit-report",
            Value::Null,
            "R",
        ),
        (
            "GET",
            "/api/v1/environments/production/segments",
            Value::Null,
            "R",
        ),
        ("GET", "/api/v1/changes", Value::Null, "R"),
        ("GET", "/api/v1/audit", Value::Null, "R"),
        ("GET", "/api/v1/audit/verify", Value::Null, "R"),
        ("GET", "/api/v1/insights", Value::Null, "R"),
        ("GET", "/api/v1/policies", Value::Null, "R"),
        (
            "POST",
            FLAGS,
            json!({ "flag": simple_flag("{who}-flag") }),
            "E",
        ),
        (
            "PUT",
            "/api/v1/environments/production/flags/matrix-flag",
            json!({ "flag": simple_flag("matrix-flag") }),
            "E",
        ),
        (
            "POST",
            "/api/v1/environments/production/flags/matrix-flag/rollout",
            json!({ "percentage": 5 }),
            "E",
        ),
        (
            "POST",
            "/api/v1/environments/production/flags/matrix-flag/kill",
            json!({ "reason": "test" }),
            "E",
        ),
        (
            "POST",
            "/api/v1/environments/production/flags/matrix-flag/enable",
            json!({}),
            "E",
        ),
        (
            "PUT",
            "/api/v1/environments/production/segments/{who}-seg",
            json!({ "clause": { "attr": "a", "op": "exists" } }),
            "E",
        ),
        (
            "PUT",
            "/api/v1/environments/production/exclusion-groups/{who}-group",
            json!({}),
            "E",
        ),
        (
            "POST",
            "/api/v1/environments/production/bulk",
            json!({ "updates": [{ "flag_id": "matrix-flag", "operation": "update_percentage", "parameters": { "percentage": 7 } }] }),
            "E",
        ),
        (
            "POST",
            "/api/v1/promote",
            json!({ "flag": "matrix-flag", "from": "production", "to": "staging" }),
            "E",
        ),
        ("GET", "/api/v1/tokens", Value::Null, "A"),
        (
            "POST",
            "/api/v1/tokens",
            json!({ "name": "n", "roles": ["viewer"] }),
            "A",
        ),
        (
            "POST",
            "/api/v1/sdk-keys",
            json!({ "name": "n", "environment": "staging" }),
            "A",
        ),
        (
            "POST",
            "/api/v1/environments",
            json!({ "name": "{who}-env" }),
            "A",
        ),
        (
            "GET",
            "/api/v1/environments/production/webhooks",
            Value::Null,
            "A",
        ),
        (
            "POST",
            "/api/v1/environments/production/webhooks",
            json!({ "url": "http://127.0.0.1:9/" }),
            "A",
        ),
        ("GET", "/api/v1/webhooks/deliveries", Value::Null, "A"),
        ("POST", "/api/v1/keys/rotate", json!({}), "A"),
    ];
    for (method, path, body, may) in routes {
        for (who, token) in &tokens {
            let allowed = match *may {
                "R" => *who != "sdk",
                "S" => true,
                "E" => *who == "admin" || *who == "editor",
                _ => *who == "admin",
            };
            let body = (!body.is_null()).then(|| body.to_string().replace("{who}", who));
            let path = path.replace("{who}", who);
            let r = s.call(method, &path, Some(token), body.as_deref(), &[]);
            if allowed {
                assert!(
                    r.status < 400 || r.status == 409,
                    "{who} {method} {path}: {} {}",
                    r.status,
                    r.text
                );
            } else {
                assert_eq!(r.status, 403, "{who} {method} {path}: {}", r.text);
            }
            let r = s.call(method, &path, None, body.as_deref(), &[]);
            assert_eq!(r.status, 401, "anonymous {method} {path}");
        }
    }
    // Every route that takes a body answers malformed JSON with a JSON 400, and the
    // snapshot does not move.
    let version = verified_payload(&s, "production", &admin)["version"].clone();
    for (method, path, _, _) in routes.iter().filter(|r| !r.2.is_null()) {
        let path = path.replace("{who}", "bad");
        let r = s.call(method, &path, Some(&admin), Some("{\"truncated\": "), &[]);
        assert_eq!(r.status, 400, "{method} {path}: {}", r.text);
        assert_eq!(r.json["error"]["code"], "bad_request", "{method} {path}");
        let r = s.call(method, &path, Some(&admin), Some("[1, 2]"), &[]);
        assert_eq!(r.status, 400, "{method} {path} with a list: {}", r.text);
    }
    assert_eq!(
        verified_payload(&s, "production", &admin)["version"],
        version
    );
    // Public routes.
    s.call("GET", "/api/v1/health", None, None, &[]).expect(200);
    s.call("GET", "/api/v1/keys", None, None, &[]).expect(200);
    // Revoked tokens stop working.
    let id = s.get("/api/v1/tokens", &admin).json["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "vi")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    s.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&editor),
        None,
        &[],
    )
    .expect(403);
    s.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&admin),
        None,
        &[],
    )
    .expect(200);
    s.get(FLAGS, &viewer).expect(401);
}

#[test]
fn rollouts_rollbacks_promotion_bulk_updates_and_insights() {
    let (data, admin) = DataDir::init("lifecycle");
    data.set("settled_days", "settled_days = 0");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    let staging = "/api/v1/environments/staging/flags";
    s.post(
        staging,
        &editor,
        json!({ "flag": simple_flag("checkout-v2") }),
    )
    .expect(201);

    // Rollout percentages keep the weight order so raising one only adds units.
    let c = s
        .post(
            &format!("{staging}/checkout-v2/rollout"),
            &editor,
            json!({ "percentage": 25 }),
        )
        .expect(200)
        .json;
    assert_eq!(c["status"], "applied");
    let flag = s
        .get(&format!("{staging}/checkout-v2"), &editor)
        .expect(200)
        .json;
    assert_eq!(flag["rollout_percentage"], 25.0);
    assert_eq!(
        flag["flag"]["fallthrough"]["rollout"]["weights"],
        json!({ "on": 25, "off": 75 })
    );
    s.post(
        &format!("{staging}/checkout-v2/rollout"),
        &editor,
        json!({ "percentage": 50.5 }),
    )
    .expect(200);
    let flag = s
        .get(&format!("{staging}/checkout-v2"), &editor)
        .expect(200)
        .json;
    assert_eq!(flag["serving"], "on 50.5% / off 49.5%");
    assert_eq!(flag["revision"], 3);

    // Rollback restores the previous definition as a new revision.
    let c = s
        .post(
            &format!("{staging}/checkout-v2/rollback"),
            &editor,
            json!({}),
        )
        .expect(200)
        .json;
    assert_eq!(c["kind"], "rollback");
    let flag = s
        .get(&format!("{staging}/checkout-v2"), &editor)
        .expect(200)
        .json;
    assert_eq!(flag["rollout_percentage"], 25.0);
    assert_eq!(flag["revision"], 4);
    let history = s
        .get(&format!("{staging}/checkout-v2/history"), &editor)
        .expect(200)
        .json;
    assert_eq!(history["revisions"].as_array().unwrap().len(), 4);

    // Promotion copies the definition into production as a change there.
    let c = s
        .post(
            "/api/v1/promote",
            &editor,
            json!({ "flag": "checkout-v2", "from": "staging", "to": "production" }),
        )
        .expect(200)
        .json;
    assert_eq!(
        (c["environment"].as_str(), c["status"].as_str()),
        (Some("production"), Some("applied"))
    );
    assert!(flag_keys(&verified_payload(&s, "production", &editor))
        .contains(&"checkout-v2".to_string()));
    s.post(
        "/api/v1/promote",
        &editor,
        json!({ "flag": "nope", "from": "staging", "to": "production" }),
    )
    .expect(404);
    s.post(
        "/api/v1/promote",
        &editor,
        json!({ "flag": "checkout-v2", "from": "staging", "to": "staging" }),
    )
    .expect(400);

    // Bulk updates: all or nothing.
    let mut risky = simple_flag("pricing-v2");
    risky["risk"] = json!("high");
    let pending = s
        .post(staging, &editor, json!({ "flag": risky }))
        .expect(201)
        .json;
    s.post(
        &format!("/api/v1/changes/{}/approve", pending["id"]),
        &po,
        json!({}),
    )
    .expect(200);
    let version = verified_payload(&s, "staging", &editor)["version"].clone();
    let bad = json!({ "updates": [
        { "flag_id": "checkout-v2", "operation": "update_percentage", "parameters": { "percentage": 75 } },
        { "flag_id": "missing-flag", "operation": "toggle_flag", "parameters": { "enabled": false } },
        { "flag_id": "checkout-v2", "operation": "explode", "parameters": {} },
    ]});
    let r = s
        .post("/api/v1/environments/staging/bulk", &editor, bad)
        .expect(422);
    assert_eq!(
        (
            r.json["total"].as_u64(),
            r.json["failed"].as_u64(),
            r.json["applied"].as_u64()
        ),
        (Some(3), Some(2), Some(0))
    );
    assert_eq!(r.json["results"][0]["status"], "not_applied");
    assert!(r.json["results"][2]["error"]
        .as_str()
        .unwrap()
        .contains("explode"));
    assert_eq!(
        verified_payload(&s, "staging", &editor)["version"],
        version,
        "nothing applied"
    );
    assert_eq!(
        s.get(&format!("{staging}/checkout-v2"), &editor).json["rollout_percentage"],
        25.0
    );
    let good = json!({ "updates": [
        { "flag_id": "checkout-v2", "operation": "update_percentage", "parameters": { "percentage": 75 } },
        { "flag_id": "checkout-v2", "operation": "update_rules", "parameters": { "targeting_rules": [
            { "id": "staff", "when": { "attr": "email", "op": "ends_with", "values": ["@example.com"] }, "serve": { "variant": "on" } } ] } },
        { "flag_id": "pricing-v2", "operation": "toggle_flag", "parameters": { "enabled": false } },
        { "flag_id": "pricing-v2", "operation": "toggle_flag", "parameters": { "enabled": true } },
    ]});
    let r = s
        .post("/api/v1/environments/staging/bulk", &editor, good)
        .expect(200)
        .json;
    assert_eq!(
        (
            r["applied"].as_u64(),
            r["pending"].as_u64(),
            r["failed"].as_u64()
        ),
        (Some(3), Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(r["results"][3]["status"], "pending", "{r}");
    let payload = verified_payload(&s, "staging", &editor);
    assert_eq!(
        payload["version"].as_u64().unwrap(),
        version.as_u64().unwrap() + 1,
        "one snapshot for the batch"
    );
    let checkout = payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "checkout-v2")
        .unwrap()
        .clone();
    assert_eq!(checkout["rules"][0]["id"], "staff");

    // Archive: kept, no longer published, reported if still needed.
    let c = s
        .post(
            &format!("{staging}/checkout-v2/archive"),
            &editor,
            json!({ "reason": "done" }),
        )
        .expect(200)
        .json;
    assert_eq!(c["status"], "applied");
    assert!(
        !flag_keys(&verified_payload(&s, "staging", &editor)).contains(&"checkout-v2".to_string())
    );
    let all = s
        .get(&format!("{staging}?archived=true"), &editor)
        .expect(200)
        .json;
    assert!(all["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["key"] == "checkout-v2" && f["archived"] == true));
    s.post(
        &format!("{staging}/checkout-v2/kill"),
        &editor,
        json!({ "reason": "x" }),
    )
    .expect(409);

    // Insights (settled after 0 days in this origin's settings).
    let insights = s
        .get("/api/v1/insights?environment=staging", &editor)
        .expect(200)
        .json;
    let kinds: Vec<(&str, &str)> = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["flag"].as_str().unwrap(), i["kind"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("pricing-v2", "fully_off")), "{kinds:?}");
    s.get("/api/v1/insights?environment=nowhere", &editor)
        .expect(404);
}

#[test]
fn webhooks_are_signed_retried_and_recorded() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    // A receiver that fails the first delivery and accepts the rest.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel::<(String, String)>();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let k = stream.read(&mut chunk).unwrap_or(0);
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len || k == 0 {
                        let (head, body) = text.split_at(end + 4);
                        let _ = tx.send((head.to_string(), body.to_string()));
                        break;
                    }
                }
                if k == 0 {
                    break;
                }
            }
            let status = if n == 0 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
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
    let verify = || vexil::origin::verify_data_dir(data.path());
    assert_eq!(verify().unwrap() as usize, entries);

    let db = || {
        let conn = rusqlite::Connection::open(data.path().join("vexil.db")).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;",
        )
        .unwrap();
        conn
    };
    rusqlite::Connection::open(data.path().join("vexil.db"))
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let snapshot = std::fs::read(data.path().join("vexil.db")).unwrap();
    let restore = || {
        let _ = std::fs::remove_file(data.path().join("vexil.db-wal"));
        let _ = std::fs::remove_file(data.path().join("vexil.db-shm"));
        std::fs::write(data.path().join("vexil.db"), &snapshot).unwrap();
    };
    // Edited.
    db().execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    let err = verify().unwrap_err().to_string();
    assert!(err.contains("entry 3") && err.contains("modified"), "{err}");
    restore();
    // Deleted from the middle.
    db().execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
    assert!(verify().unwrap_err().to_string().contains("removed"));
    restore();
    // Deleted from the end.
    db().execute(&format!("DELETE FROM audit WHERE seq = {entries}"), [])
        .unwrap();
    assert!(verify()
        .unwrap_err()
        .to_string()
        .contains("removed from the end"));
    restore();
    // Reordered.
    let conn = db();
    conn.execute_batch("UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1;").unwrap();
    drop(conn);
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
