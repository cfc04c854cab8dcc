//! Contract captures (see `contract.rs`) of the reports and the remaining reads: the
//! lifecycle insights and an environment's segments and exclusion groups.

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
fn report_captures_read_back_as_their_types() {
    use vexil::origin::api::{InsightList, SegmentList};
    round_trip::<InsightList>("insights");
    round_trip::<InsightList>("insights_empty");
    round_trip::<SegmentList>("segment_list");
    round_trip::<SegmentList>("segment_list_empty");
}
