//! Governance on every path that changes a flag: a change needs the approvals of the
//! stricter of the flag's current and proposed versions, so lowering `risk` or
//! dropping `compliance`, `phi` or clinical fields is itself a change that needs them
//! (update, bulk, rollback, promote, archive, rollout, segment and exclusion-group
//! edits). The kill switch never waits.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;

const PROD: &str = "/api/v1/environments/production";

/// A server with an editor and one approver per role; `approvers` are their tokens.
struct Team {
    s: Server,
    _data: DataDir,
    editor: String,
    approvers: Vec<String>,
}

fn team(name: &str) -> Team {
    let (data, admin) = DataDir::init(name);
    let s = Server::start(&data);
    let editor = s.token(&admin, "erin", &["editor"]);
    let approvers = [
        ("tom", "TECH_LEAD"),
        ("sam", "SECURITY"),
        ("paul", "PRODUCT_OWNER"),
        ("carla", "COMPLIANCE"),
        ("dr-oz", "CLINICAL_OVERSIGHT"),
        ("ed", "CLINICAL_ENGINEERING"),
        ("irene", "IRB"),
    ]
    .iter()
    .map(|(name, role)| s.token(&admin, name, &[role]))
    .collect();
    Team {
        s,
        _data: data,
        editor,
        approvers,
    }
}

impl Team {
    /// Approves change `change` with every approver it needs until it applies.
    fn approve_all(&self, change: &Value) -> Value {
        let id = change["id"].as_i64().unwrap();
        let mut last = change.clone();
        for token in &self.approvers {
            if last["status"] != "pending" {
                break;
            }
            let r = self
                .s
                .post(&format!("/api/v1/changes/{id}/approve"), token, json!({}));
            if r.status == 200 {
                last = r.json;
            }
        }
        assert_eq!(last["status"], "applied", "{last}");
        last
    }

    /// Creates `flag` in `env` and approves it until applied.
    fn create(&self, env: &str, flag: Value) {
        let change = self
            .s
            .post(
                &format!("/api/v1/environments/{env}/flags"),
                &self.editor,
                json!({ "flag": flag }),
            )
            .expect(201)
            .json;
        if change["status"] == "pending" {
            self.approve_all(&change);
        }
    }

    fn flag(&self, env: &str, key: &str) -> Value {
        self.s
            .get(
                &format!("/api/v1/environments/{env}/flags/{key}"),
                &self.editor,
            )
            .expect(200)
            .json
    }
}

/// The distinct roles a change (or dry run's `approvals`) requires, sorted.
fn roles(required: &Value) -> Vec<String> {
    let mut roles: Vec<String> = required
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap().to_string())
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// The requirement of `role` in a change's `required`.
fn requirement<'a>(required: &'a Value, role: &str) -> &'a Value {
    required
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == role)
        .unwrap_or_else(|| panic!("{role} not required: {required}"))
}

const CRITICAL: [&str; 3] = ["PRODUCT_OWNER", "SECURITY", "TECH_LEAD"];

fn critical_flag(key: &str) -> Value {
    let mut flag = simple_flag(key);
    flag["risk"] = json!("critical");
    flag
}

#[test]
fn lowering_the_risk_of_a_critical_flag_needs_its_approvals() {
    let t = team("lower-risk");
    t.create("production", critical_flag("payments-v2"));

    // The attack of issue 11: an editor alone sets `risk: low` and serves `on`.
    let mut lowered = simple_flag("payments-v2");
    lowered["fallthrough"] = json!({ "variant": "on" });
    let change =
        t.s.put(
            &format!("{PROD}/flags/payments-v2"),
            &t.editor,
            json!({ "flag": lowered }),
        )
        .expect(200)
        .json;
    assert_eq!(change["status"], "pending", "{change}");
    assert_eq!(roles(&change["required"]), CRITICAL);
    let tech = requirement(&change["required"], "TECH_LEAD");
    assert_eq!(tech["policy"], "critical-risk-approvals");
    assert_eq!(tech["triggered_by"], "current", "{tech}");
    assert_eq!(
        tech["note"], r#"lowered: risk "critical" → "low""#,
        "{tech}"
    );
    let shown = vexil_as(
        &t.s,
        &t.editor,
        &["changes", "show", &change["id"].to_string()],
    );
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(
            r#"needs TECH_LEAD (critical-risk-approvals; lowered: risk "critical" → "low"): waiting"#
        ),
        "{shown}"
    );
    let served = t.flag("production", "payments-v2");
    assert_eq!(served["flag"]["risk"], "critical", "nothing applied yet");
    assert_eq!(served["flag"]["fallthrough"]["variant"], "off");

    // The dry run says the same.
    let dry =
        t.s.post(
            &format!("{PROD}/validate"),
            &t.editor,
            json!({ "flag": lowered }),
        )
        .expect(200)
        .json;
    assert_eq!(roles(&dry["approvals"]), CRITICAL, "{dry}");
    assert_eq!(
        requirement(&dry["approvals"], "SECURITY")["triggered_by"],
        "current"
    );

    // An edit that keeps the risk: required by both versions, no note.
    let mut on = critical_flag("payments-v2");
    on["fallthrough"] = json!({ "variant": "on" });
    let change =
        t.s.put(
            &format!("{PROD}/flags/payments-v2"),
            &t.editor,
            json!({ "flag": on }),
        )
        .expect(200)
        .json;
    let tech = requirement(&change["required"], "TECH_LEAD");
    assert_eq!(tech["triggered_by"], "both", "{tech}");
    assert!(tech.get("note").is_none(), "{tech}");

    // Raising the risk of a low flag: required by the proposed version.
    t.create("production", simple_flag("search-v2"));
    let change =
        t.s.put(
            &format!("{PROD}/flags/search-v2"),
            &t.editor,
            json!({ "flag": critical_flag("search-v2") }),
        )
        .expect(200)
        .json;
    assert_eq!(
        requirement(&change["required"], "TECH_LEAD")["triggered_by"],
        "proposed"
    );

    // Once approved, the lowered flag applies.
    let pending =
        t.s.get("/api/v1/changes?status=pending&flag=payments-v2", &t.editor)
            .json;
    let first = pending["changes"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(first["document"]["risk"], "low");
    t.approve_all(&first);
    assert_eq!(t.flag("production", "payments-v2")["flag"]["risk"], "low");
}

/// The HIPAA example with its segments, created and approved.
fn hipaa_team(name: &str) -> (Team, Value) {
    let t = team(name);
    let doc = example("healthcare-flags.json");
    for (segment, clause) in doc["segments"].as_object().unwrap() {
        t.s.put(
            &format!("{PROD}/segments/{segment}"),
            &t.editor,
            json!({ "clause": clause }),
        )
        .expect(200);
    }
    let flag = example_flag("healthcare-flags.json", "enhanced-clinical-alerts-v2");
    t.create("production", flag.clone());
    (t, flag)
}

#[test]
fn dropping_hipaa_fields_keeps_clinical_oversight() {
    let (t, flag) = hipaa_team("drop-hipaa");
    let path = format!("{PROD}/flags/enhanced-clinical-alerts-v2");
    let mut stripped = flag.clone();
    let obj = stripped.as_object_mut().unwrap();
    for field in ["compliance", "phi", "audit_evaluations", "access"] {
        obj.remove(field);
    }
    let change =
        t.s.put(&path, &t.editor, json!({ "flag": stripped }))
            .expect(200)
            .json;
    assert_eq!(change["status"], "pending");
    assert_eq!(
        roles(&change["required"]),
        [
            "CLINICAL_ENGINEERING",
            "CLINICAL_OVERSIGHT",
            "PRODUCT_OWNER"
        ]
    );
    let oversight = requirement(&change["required"], "CLINICAL_OVERSIGHT");
    assert_eq!(oversight["triggered_by"], "current");
    let note = oversight["note"].as_str().unwrap();
    assert!(
        note.contains(r#"compliance ["HIPAA"] → unset"#) && note.contains("phi true → unset"),
        "{note}"
    );
    assert_eq!(change["oversight_level"], 2);

    // The probe that also dropped the clinical fields and the risk applied with none.
    let obj = stripped.as_object_mut().unwrap();
    for field in [
        "clinical_impact",
        "medical_device_integration",
        "irb_approval_required",
        "clinical_oversight_required",
    ] {
        obj.remove(field);
    }
    stripped["risk"] = json!("low");
    let change =
        t.s.put(&path, &t.editor, json!({ "flag": stripped }))
            .expect(200)
            .json;
    assert_eq!(change["status"], "pending", "{change}");
    assert_eq!(
        roles(&change["required"]),
        [
            "CLINICAL_ENGINEERING",
            "CLINICAL_OVERSIGHT",
            "PRODUCT_OWNER"
        ]
    );
    assert!(
        requirement(&change["required"], "CLINICAL_OVERSIGHT")["note"]
            .as_str()
            .unwrap()
            .contains(r#"clinical_impact "high" → unset"#)
    );
    assert_eq!(
        requirement(&change["required"], "CLINICAL_ENGINEERING")["note"],
        "lowered: medical_device_integration true → unset"
    );
    assert_eq!(change["oversight_level"], 2);
    let served = t.flag("production", "enhanced-clinical-alerts-v2");
    assert_eq!(served["flag"]["phi"], true, "nothing applied");
}

#[test]
fn rollback_and_promotion_need_the_stricter_version() {
    let t = team("rollback-promote");
    let staging = "/api/v1/environments/staging";
    // Revision 1 low, revision 2 critical.
    t.create("staging", simple_flag("ledger-v2"));
    let raise =
        t.s.put(
            &format!("{staging}/flags/ledger-v2"),
            &t.editor,
            json!({ "flag": critical_flag("ledger-v2") }),
        )
        .expect(200)
        .json;
    t.approve_all(&raise);
    let back =
        t.s.post(
            &format!("{staging}/flags/ledger-v2/rollback"),
            &t.editor,
            json!({ "to_revision": 1 }),
        )
        .expect(200)
        .json;
    assert_eq!(
        back["status"], "pending",
        "rollback to a low revision: {back}"
    );
    assert_eq!(roles(&back["required"]), CRITICAL);
    assert_eq!(
        requirement(&back["required"], "TECH_LEAD")["triggered_by"],
        "current"
    );
    assert_eq!(t.flag("staging", "ledger-v2")["flag"]["risk"], "critical");

    // Promotion: the target environment's current version is the one replaced.
    t.create("production", critical_flag("fees-v2"));
    t.create("staging", simple_flag("fees-v2"));
    let promote =
        t.s.post(
            "/api/v1/promote",
            &t.editor,
            json!({ "flag": "fees-v2", "from": "staging", "to": "production" }),
        )
        .expect(200)
        .json;
    assert_eq!(promote["status"], "pending", "{promote}");
    assert_eq!(roles(&promote["required"]), CRITICAL);
    assert_eq!(t.flag("production", "fees-v2")["flag"]["risk"], "critical");
    // Promoting a low flag where it does not exist needs nothing.
    t.create("staging", simple_flag("banner-v2"));
    let new =
        t.s.post(
            "/api/v1/promote",
            &t.editor,
            json!({ "flag": "banner-v2", "from": "staging", "to": "production" }),
        )
        .expect(200)
        .json;
    assert_eq!(new["status"], "applied", "{new}");
}

#[test]
fn archive_rollout_bulk_and_enable_need_what_an_update_needs_and_kill_never_waits() {
    let t = team("paths");
    t.create("production", critical_flag("vault-v2"));
    let flag = format!("{PROD}/flags/vault-v2");
    let both = |change: &Value, what: &str| {
        assert_eq!(change["status"], "pending", "{what}: {change}");
        assert_eq!(roles(&change["required"]), CRITICAL, "{what}");
        assert_eq!(
            requirement(&change["required"], "TECH_LEAD")["triggered_by"],
            "both",
            "{what}"
        );
    };
    let archive =
        t.s.post(&format!("{flag}/archive"), &t.editor, json!({}))
            .expect(200)
            .json;
    both(&archive, "archive");
    let rollout =
        t.s.post(
            &format!("{flag}/rollout"),
            &t.editor,
            json!({ "percentage": 50 }),
        )
        .expect(200)
        .json;
    both(&rollout, "rollout set");
    let progressive =
        t.s.post(
            &format!("{flag}/rollouts"),
            &t.editor,
            json!({ "stages": [10, 50, 100] }),
        )
        .expect(201)
        .json;
    assert_eq!(progressive["status"], "waiting_approval", "{progressive}");
    let id = progressive["change_id"].as_i64().unwrap();
    let first_stage =
        t.s.get(&format!("/api/v1/changes/{id}"), &t.editor)
            .expect(200)
            .json;
    both(&first_stage, "progressive rollout start");
    t.s.post(
        &format!("/api/v1/rollouts/{}/abort", progressive["id"]),
        &t.editor,
        json!({}),
    )
    .expect(200);

    let bulk = t
        .s
        .post(
            &format!("{PROD}/bulk"),
            &t.editor,
            json!({ "updates": [
                { "flag_id": "vault-v2", "operation": "update_percentage", "parameters": { "percentage": 20 } },
                { "flag_id": "vault-v2", "operation": "update_rules", "parameters": { "targeting_rules": [] } },
            ]}),
        )
        .expect(200)
        .json;
    assert_eq!(bulk["pending"], 2, "{bulk}");
    for result in bulk["results"].as_array().unwrap() {
        let id = result["change"].as_i64().unwrap();
        let change = t.s.get(&format!("/api/v1/changes/{id}"), &t.editor).json;
        both(&change, "bulk");
    }

    // The kill switch applies at once; enabling the killed flag waits.
    let kill =
        t.s.post(
            &format!("{flag}/kill"),
            &t.editor,
            json!({ "reason": "incident" }),
        )
        .expect(200)
        .json;
    assert_eq!(kill["status"], "applied", "{kill}");
    assert!(kill["required"].as_array().unwrap().is_empty());
    let enable =
        t.s.post(&format!("{flag}/enable"), &t.editor, json!({}))
            .expect(200)
            .json;
    both(&enable, "enable");
    // Enabling while lowering the risk in one update needs the same.
    let mut lowered = simple_flag("vault-v2");
    lowered["enabled"] = json!(true);
    let update =
        t.s.put(&flag, &t.editor, json!({ "flag": lowered }))
            .expect(200)
            .json;
    assert_eq!(roles(&update["required"]), CRITICAL);
    assert_eq!(t.flag("production", "vault-v2")["flag"]["enabled"], false);
}

#[test]
fn segment_and_exclusion_group_edits_need_the_policies_of_the_flags_using_them() {
    let t = team("segments");
    t.s.put(
        &format!("{PROD}/segments/staff"),
        &t.editor,
        json!({ "clause": { "attr": "email", "op": "ends_with", "values": ["@example.com"] } }),
    )
    .expect(200);
    t.s.put(
        &format!("{PROD}/exclusion-groups/checkout-tests"),
        &t.editor,
        json!({ "salt": "s1" }),
    )
    .expect(200);
    let mut governed = critical_flag("treasury-v2");
    governed["rules"] =
        json!([{ "id": "staff", "when": { "segment": "staff" }, "serve": { "variant": "on" } }]);
    governed["exclusion"] = json!({ "group": "checkout-tests", "range": [0, 50000] });
    t.create("production", governed);

    // Widening the segment to everyone widens the critical flag.
    let widen =
        t.s.put(
            &format!("{PROD}/segments/staff"),
            &t.editor,
            json!({ "clause": { "attr": "email", "op": "exists" } }),
        )
        .expect(200)
        .json;
    assert_eq!(widen["status"], "pending", "{widen}");
    assert_eq!(roles(&widen["required"]), CRITICAL);
    let tech = requirement(&widen["required"], "TECH_LEAD");
    assert_eq!(tech["flag"], "treasury-v2", "{tech}");
    assert_eq!(tech["note"], "flag `treasury-v2` uses segment `staff`");

    let group =
        t.s.put(
            &format!("{PROD}/exclusion-groups/checkout-tests"),
            &t.editor,
            json!({ "salt": "s2" }),
        )
        .expect(200)
        .json;
    assert_eq!(group["status"], "pending", "{group}");
    assert_eq!(
        requirement(&group["required"], "SECURITY")["note"],
        "flag `treasury-v2` is in exclusion group `checkout-tests`"
    );

    // A segment no governed flag uses applies at once.
    let other =
        t.s.put(
            &format!("{PROD}/segments/interns"),
            &t.editor,
            json!({ "clause": { "attr": "role", "op": "eq", "values": ["intern"] } }),
        )
        .expect(200)
        .json;
    assert_eq!(other["status"], "applied", "{other}");
}
