//! The seed's finance and healthcare flows, four-eyes, and the trading-hours freeze (held changes, restarts).

use super::support::*;
use super::FLAGS;
use serde_json::{json, Value};

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
