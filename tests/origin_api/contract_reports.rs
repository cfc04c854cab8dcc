//! Contract captures (see `contract.rs`) of the reports and the remaining reads: the
//! lifecycle insights, an environment's segments and exclusion groups, and a flag's
//! insights report and audit report.

use super::contract::{check, round_trip};
use super::support::*;
use super::FLAGS;
use serde_json::json;

const DAY_MS: i64 = 86_400_000;

#[test]
fn insight_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-insights");
    let mut clock = Clock::new(&data);
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    // Expires in 30 days; killed, so it settles on its off variant.
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("old-banner") }))
        .expect(201);
    s.post(
        &format!("{FLAGS}/old-banner/kill"),
        &editor,
        json!({ "reason": "incident" }),
    )
    .expect(200);
    // A high-risk change waits for a product owner.
    let mut risky = simple_flag("risky-thing");
    risky["risk"] = json!("high");
    s.post(FLAGS, &editor, json!({ "flag": risky, "reason": "new" }))
        .expect(201);

    clock.advance(40 * DAY_MS);
    let r = s.get("/api/v1/insights", &editor).expect(200);
    check("insights", &r);
    let r = s
        .get("/api/v1/insights?environment=staging", &editor)
        .expect(200);
    check("insights_empty", &r);
}

#[test]
fn segment_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-segments");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let staging = "/api/v1/environments/staging";
    let r = s.get(&format!("{staging}/segments"), &editor).expect(200);
    check("segment_list_empty", &r);
    for (name, clause) in [
        (
            "germany",
            json!({ "attr": "country", "op": "eq", "values": ["DE"] }),
        ),
        (
            "beta",
            json!({ "attr": "plan", "op": "in", "values": ["beta", "staff"] }),
        ),
    ] {
        s.put(
            &format!("{staging}/segments/{name}"),
            &editor,
            json!({ "clause": clause }),
        )
        .expect(200);
    }
    s.put(
        &format!("{staging}/exclusion-groups/checkout-tests"),
        &editor,
        json!({ "salt": "checkout-2026" }),
    )
    .expect(200);
    s.put(
        &format!("{staging}/exclusion-groups/banners"),
        &editor,
        json!({}),
    )
    .expect(200);
    let r = s.get(&format!("{staging}/segments"), &editor).expect(200);
    check("segment_list", &r);
}

#[test]
fn flag_insight_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-flag-insights");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    split_flag_with_metrics(&s, &editor, &sdk, "checkout");
    let r = s
        .get(&format!("{FLAGS}/checkout/insights?days=7"), &editor)
        .expect(200);
    check("flag_insights", &r);

    // Expired, with advice.
    let mut old = simple_flag("old-banner");
    old["expires_at"] = json!(vexil::engine::time::format_rfc3339_ms(now_ms() + 1000));
    s.post(FLAGS, &editor, json!({ "flag": old })).expect(201);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = s
        .get(&format!("{FLAGS}/old-banner/insights"), &editor)
        .expect(200);
    check("flag_insights_expired", &r);
}

#[test]
fn audit_report_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-audit-report");
    let mut clock = Clock::new(&data);
    let s = Server::start_with(&data, &[clock.var()]);
    let nurse = s.token(&admin, "nina", &["editor"]);
    let approvers = [
        s.token(&admin, "dr-oz", &["CLINICAL_OVERSIGHT"]),
        s.token(&admin, "ed", &["CLINICAL_ENGINEERING"]),
        s.token(&admin, "paul", &["PRODUCT_OWNER"]),
    ];
    let sdk = s.sdk_key(&admin, "production");
    let doc = example("healthcare-flags.json");
    for (name, clause) in doc["segments"].as_object().unwrap() {
        s.put(
            &format!("/api/v1/environments/production/segments/{name}"),
            &nurse,
            json!({ "clause": clause }),
        )
        .expect(200);
    }
    let key = "enhanced-clinical-alerts-v2";
    let flag = example_flag("healthcare-flags.json", key);
    let change = s
        .post(FLAGS, &nurse, json!({ "flag": flag }))
        .expect(201)
        .json;
    let id = change["id"].as_i64().unwrap();
    // A second apart: approvals are listed by their time as text, which orders
    // `...:05.1Z` after `...:05.12Z` within one second.
    for approver in &approvers {
        clock.advance(1000);
        s.post(
            &format!("/api/v1/changes/{id}/approve"),
            approver,
            json!({ "comment": "reviewed" }),
        )
        .expect(200);
    }
    s.post("/api/v1/metrics", &sdk, split_batch(key, now_ms()))
        .expect(200);
    let r = s
        .get(&format!("{FLAGS}/{key}/audit-report"), &nurse)
        .expect(200);
    check("audit_report", &r);

    // A plain flag: no safeguards, no clinical review, no metrics.
    let staging = "/api/v1/environments/staging/flags";
    s.post(staging, &nurse, json!({ "flag": simple_flag("plain") }))
        .expect(201);
    let r = s
        .get(&format!("{staging}/plain/audit-report"), &nurse)
        .expect(200);
    check("audit_report_plain", &r);
}

#[test]
fn report_captures_read_back_as_their_types() {
    use vexil::origin::api::{AuditReport, FlagInsights, InsightList, SegmentList};
    round_trip::<AuditReport>("audit_report");
    round_trip::<AuditReport>("audit_report_plain");
    round_trip::<FlagInsights>("flag_insights");
    round_trip::<FlagInsights>("flag_insights_expired");
    round_trip::<InsightList>("insights");
    round_trip::<InsightList>("insights_empty");
    round_trip::<SegmentList>("segment_list");
    round_trip::<SegmentList>("segment_list_empty");
}
