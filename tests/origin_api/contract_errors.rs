//! The typed API keeps the wire format (see `contract.rs`): error answers, each code
//! with its message and, for `invalid` and `policy_violation`, its details, compared
//! with captures taken before they were typed and read back as `api::ErrorAnswer`.
//! (The 413 `too_large` answer is compared in `tests/body_limits.rs`.)

use super::contract::{check, round_trip};
use super::support::*;
use serde_json::json;

const STAGING: &str = "/api/v1/environments/staging/flags";

#[test]
fn error_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-errors");
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    let viewer = s.token(&admin, "vic", &["viewer"]);

    let r = s.call("POST", STAGING, Some(&eve), Some("{not json"), &[]);
    check("error_bad_request", &r.expect(400));
    let r = s.call("GET", "/api/v1/changes", None, None, &[]);
    check("error_unauthorized", &r.expect(401));
    let r = s.post(
        STAGING,
        &viewer,
        json!({ "flag": simple_flag("contract-e") }),
    );
    check("error_forbidden", &r.expect(403));
    check(
        "error_not_found",
        &s.get("/api/v1/rollouts/999", &eve).expect(404),
    );
    check(
        "error_no_route",
        &s.get("/api/v1/nowhere", &eve).expect(404),
    );
    let r = s.call("DELETE", "/api/v1/changes", Some(&eve), None, &[]);
    check("error_method_not_allowed", &r.expect(405));
    s.post(STAGING, &eve, json!({ "flag": simple_flag("contract-e") }))
        .expect(201);
    let r = s.post(STAGING, &eve, json!({ "flag": simple_flag("contract-e") }));
    check("error_conflict", &r.expect(409));
    let mut broken = simple_flag("contract-broken");
    broken["fallthrough"] = json!({ "variant": "missing" });
    let r = s.post(STAGING, &eve, json!({ "flag": broken }));
    check("error_invalid", &r.expect(422));
    let r = s.post(
        STAGING,
        &eve,
        json!({ "flag": simple_flag("Contract_Name") }),
    );
    check("error_policy_violation", &r.expect(422));
}

#[test]
fn error_captures_read_back_as_their_type() {
    for name in [
        "error_bad_request",
        "error_unauthorized",
        "error_forbidden",
        "error_not_found",
        "error_no_route",
        "error_method_not_allowed",
        "error_conflict",
        "error_invalid",
        "error_policy_violation",
    ] {
        round_trip::<vexil::origin::api::ErrorAnswer>(name);
    }
}
