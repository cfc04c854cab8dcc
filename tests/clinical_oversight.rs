//! Scheduled clinical reviews (oversight level 2 every 30 days, level 3 every 7):
//! recorded by CLINICAL_OVERSIGHT through the API and the CLI, audited, sent to
//! webhooks, and shown as scheduled, done or due in the audit report and the
//! insights as the origin's clock moves on (`VEXIL_CLOCK_FILE`).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;

const FLAGS: &str = "/api/v1/environments/production/flags";
const DAY_MS: i64 = 86_400_000;

/// Creates `flag` and has each role its change needs approve it.
fn create_approved(s: &Server, admin: &str, editor: &str, flag: Value) {
    let change = s.post(FLAGS, editor, json!({ "flag": flag })).json;
    let Some(id) = change["id"].as_i64() else {
        assert_eq!(change["status"], "applied", "{change}");
        return;
    };
    let mut roles: Vec<&str> = change["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["role"].as_str()).collect())
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    for (i, role) in roles.iter().enumerate() {
        let approver = s.token(admin, &format!("approver-{i}"), &[role]);
        s.post(
            &format!("/api/v1/changes/{id}/approve"),
            &approver,
            json!({}),
        )
        .expect(200);
    }
    let done = s
        .get(&format!("/api/v1/changes/{id}"), editor)
        .expect(200)
        .json;
    assert_eq!(done["status"], "applied", "{done}");
}

fn review_of(s: &Server, token: &str, key: &str) -> Value {
    s.get(&format!("{FLAGS}/{key}/audit-report"), token)
        .expect(200)
        .json["security_information"]["oversight_review"]
        .clone()
}

fn insight_kinds(s: &Server, token: &str, key: &str) -> Vec<String> {
    s.get("/api/v1/insights?environment=production", token)
        .expect(200)
        .json["insights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["flag"] == key)
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn reviews_are_scheduled_by_oversight_level_recorded_and_shown_due_or_done() {
    let (data, admin) = DataDir::init("clinical-reviews");
    let mut clock = Clock::new(&data);
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "nina", &["editor"]);
    let oversight = s.token(&admin, "dr-oz", &["CLINICAL_OVERSIGHT"]);

    let mut periodic = simple_flag("triage-hints");
    periodic["clinical_impact"] = json!("high");
    periodic["expires_at"] = json!(vexil::engine::time::format_rfc3339_ms(
        now_ms() + 365 * DAY_MS
    ));
    create_approved(&s, &admin, &editor, periodic);
    create_approved(&s, &admin, &editor, simple_flag("banner"));

    // Level 2: every 30 days; nothing is due at first.
    let review = review_of(&s, &editor, "triage-hints");
    assert_eq!(review["oversight_level"], 2);
    assert_eq!(review["every_days"], 30);
    assert_eq!(review["status"], "scheduled");
    assert!(review["last"].is_null());
    // A flag without clinical oversight has no schedule, and cannot be reviewed.
    assert!(review_of(&s, &editor, "banner").is_null());
    let r = s
        .post(
            &format!("{FLAGS}/banner/review"),
            &oversight,
            json!({ "comment": "ok" }),
        )
        .expect(400);
    assert!(r.text.contains("oversight level 0"), "{}", r.text);

    // Thirty-one days on the review is due, and the insights say so.
    clock.set_offset(31 * DAY_MS);
    assert_eq!(review_of(&s, &editor, "triage-hints")["status"], "due");
    assert!(insight_kinds(&s, &editor, "triage-hints").contains(&"review_due".to_string()));

    // Only CLINICAL_OVERSIGHT reviews, and says what was found.
    let path = format!("{FLAGS}/triage-hints/review");
    s.post(&path, &editor, json!({ "comment": "fine" }))
        .expect(403);
    s.post(&path, &oversight, json!({ "comment": "  " }))
        .expect(400);
    s.post(&path, &oversight, json!({})).expect(400);
    s.post(
        &path,
        &oversight,
        json!({ "comment": "alert rates reviewed" }),
    )
    .expect(200);
    let review = review_of(&s, &editor, "triage-hints");
    assert_eq!(review["status"], "done");
    assert_eq!(review["last"]["by"], "dr-oz");
    assert_eq!(review["last"]["comment"], "alert rates reviewed");
    assert!(!insight_kinds(&s, &editor, "triage-hints").contains(&"review_due".to_string()));
    let audit = s
        .get(
            "/api/v1/audit?flag=triage-hints&action=flag.reviewed",
            &editor,
        )
        .expect(200)
        .json;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1, "{audit}");

    // Through the CLI, 30 more days on: due again, then done.
    clock.set_offset(62 * DAY_MS);
    assert_eq!(review_of(&s, &editor, "triage-hints")["status"], "due");
    let out = vexil_as(
        &s,
        &oversight,
        &[
            "flag",
            "review",
            "triage-hints",
            "--env",
            "production",
            "--comment",
            "second look",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("next review due"), "{stdout}");
    assert_eq!(review_of(&s, &editor, "triage-hints")["status"], "done");
}

#[test]
fn continuous_oversight_is_approved_only_by_the_named_on_call_people() {
    let (data, admin) = DataDir::init("clinical-on-call");
    let s = Server::start(&data);
    let editor = s.token(&admin, "nina", &["editor"]);
    let mut flag = simple_flag("sepsis-alert");
    flag["compliance"] = json!(["HIPAA"]);
    flag["clinical_impact"] = json!("critical");

    // Level 3 without anyone on call: refused, saying what to add.
    let r = s
        .post(FLAGS, &editor, json!({ "flag": flag.clone() }))
        .expect(422);
    assert!(
        r.text.contains("continuous-oversight-on-call") && r.text.contains("on_call"),
        "{}",
        r.text
    );

    flag["on_call"] = json!(["dr-oz"]);
    let change = s
        .post(FLAGS, &editor, json!({ "flag": flag }))
        .expect(201)
        .json;
    let id = change["id"].as_i64().unwrap();
    let shown = s
        .get(&format!("/api/v1/changes/{id}"), &editor)
        .expect(200)
        .json;
    let oversight = shown["required"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "CLINICAL_OVERSIGHT")
        .expect("level 3 needs clinical oversight")
        .clone();
    assert_eq!(oversight["approvers"], json!(["dr-oz"]), "{shown}");
    assert_eq!(oversight["note"], "on call: dr-oz");

    let approve = format!("/api/v1/changes/{id}/approve");
    let off_call = s.token(&admin, "dr-who", &["CLINICAL_OVERSIGHT"]);
    let r = s.post(&approve, &off_call, json!({})).expect(403);
    assert!(
        r.text.contains("not on call") && r.text.contains("dr-oz"),
        "{}",
        r.text
    );
    let on_call = s.token(&admin, "dr-oz", &["CLINICAL_OVERSIGHT"]);
    s.post(&approve, &on_call, json!({})).expect(200);
    for (i, role) in ["PRODUCT_OWNER", "SECURITY", "TECH_LEAD"]
        .iter()
        .enumerate()
    {
        let t = s.token(&admin, &format!("lead-{i}"), &[role]);
        s.post(&approve, &t, json!({})).expect(200);
    }
    let done = s
        .get(&format!("/api/v1/changes/{id}"), &editor)
        .expect(200)
        .json;
    assert_eq!(done["status"], "applied", "{done}");

    // Continuous oversight is reviewed weekly.
    let review = review_of(&s, &editor, "sepsis-alert");
    assert_eq!(
        (
            review["oversight_level"].as_i64(),
            review["every_days"].as_i64()
        ),
        (Some(3), Some(7))
    );
}
