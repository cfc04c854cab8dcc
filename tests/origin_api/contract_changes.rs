//! The typed API keeps the wire format (see `contract.rs`): the answers of a change's
//! dry run (`POST /environments/{env}/validate`) and of the bulk update, applied and
//! failed, compared with captures taken before they were typed, and read back as
//! `DryRun`, `BulkReport` and `BulkFailure`.

use super::contract::check;
use super::support::*;
use serde_json::json;

const STAGING: &str = "/api/v1/environments/staging";

#[test]
fn dry_run_and_bulk_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-dry-run-bulk");
    let s = Server::start(&data);
    let editor = s.token(&admin, "erin", &["editor"]);

    // Approvals with notes and a raised risk: a MiFID II order-routing flag.
    let mut routing = simple_flag("routing-v2");
    routing["compliance"] = json!(["MiFID_II"]);
    routing["affected_systems"] = json!(["order_routing", "market_data"]);
    let r = s
        .post(
            &format!("{STAGING}/validate"),
            &editor,
            json!({ "flag": routing }),
        )
        .expect(200);
    check("flag_validate_raised_risk", &r);
    // Issues from the engine and violations from governance.
    let mut broken = simple_flag("Broken_Name");
    broken["fallthrough"] = json!({ "variant": "missing" });
    broken.as_object_mut().unwrap().remove("owner");
    let r = s
        .post(
            &format!("{STAGING}/validate"),
            &editor,
            json!({ "flag": broken }),
        )
        .expect(200);
    check("flag_validate_invalid", &r);

    s.post(
        &format!("{STAGING}/flags"),
        &editor,
        json!({ "flag": simple_flag("checkout-v2") }),
    )
    .expect(201);
    let mut high = simple_flag("pricing-v2");
    high["risk"] = json!("high");
    s.post(
        &format!("{STAGING}/flags"),
        &editor,
        json!({ "flag": high }),
    )
    .expect(201);
    let po = s.token(&admin, "paul", &["PRODUCT_OWNER"]);
    let pending = s.get("/api/v1/changes?status=pending", &editor).json;
    let id = &pending["changes"][0]["id"];
    s.post(&format!("/api/v1/changes/{id}/approve"), &po, json!({}))
        .expect(200);

    // One applied at once, one waiting for its approval.
    let good = json!({ "updates": [
        { "flag_id": "checkout-v2", "operation": "update_percentage", "parameters": { "percentage": 75 } },
        { "flag_id": "pricing-v2", "operation": "update_percentage", "parameters": { "percentage": 10 } },
    ]});
    let r = s
        .post(&format!("{STAGING}/bulk"), &editor, good)
        .expect(200);
    check("bulk_applied", &r);
    let bad = json!({ "updates": [
        { "flag_id": "checkout-v2", "operation": "update_percentage", "parameters": { "percentage": 50 } },
        { "flag_id": "missing-flag", "operation": "toggle_flag", "parameters": { "enabled": false } },
        { "flag_id": "checkout-v2", "operation": "toggle_flag", "parameters": { "enabled": false } },
    ]});
    let r = s.post(&format!("{STAGING}/bulk"), &editor, bad).expect(422);
    check("bulk_failed", &r);
}

#[test]
fn dry_run_and_bulk_captures_read_back_as_their_types() {
    use vexil::origin::api::{BulkFailure, BulkReport, DryRun};
    super::contract::round_trip::<DryRun>("flag_validate");
    super::contract::round_trip::<DryRun>("flag_validate_raised_risk");
    super::contract::round_trip::<DryRun>("flag_validate_invalid");
    super::contract::round_trip::<BulkReport>("bulk_applied");
    super::contract::round_trip::<BulkFailure>("bulk_failed");
}
