//! The typed API keeps the wire format: answers of the typed endpoints compared,
//! byte for byte after normalising times (and masking secrets and random ids), with
//! answers captured from the server before its handlers were typed
//! (`contract/*.json`). This file: change requests, flags, rollouts, audit, tokens
//! and environments, and every capture read back as its type; `contract_admin.rs`:
//! webhooks, keys, the origin's own information, snapshots and publish targets;
//! `contract_reports.rs`: insights, segments and the flag reports (and their round
//! trips).
//!
//! `VEXIL_CAPTURE_CONTRACT=1 cargo test --test origin_api contract` rewrites the
//! captures; run it only on a server whose answers are known to be right.

use super::support::*;
use super::FLAGS;
use serde_json::json;

pub(super) use super::support::contract::{check, check_value, round_trip};

#[test]
fn change_request_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-changes");
    let s = Server::start(&data);
    let alice = s.token(&admin, "alice", &["editor"]);
    let lead = s.token(&admin, "paul", &["PRODUCT_OWNER", "viewer"]);
    let staging = "/api/v1/environments/staging/flags";
    // High risk: production wants a product owner (no venue, so no trading hours).
    let risky = |key: &str| {
        let mut f = simple_flag(key);
        f["risk"] = json!("high");
        f
    };

    // Applied at once (staging), pending with requirements (production).
    let r = s
        .post(
            staging,
            &alice,
            json!({ "flag": simple_flag("contract-a") }),
        )
        .expect(201);
    check("change_created_applied", &r);
    let r = s
        .post(
            FLAGS,
            &alice,
            json!({ "flag": risky("contract-p"), "reason": "new" }),
        )
        .expect(201);
    check("change_created_pending", &r);
    let pending = r.json["id"].as_i64().unwrap();

    let r = s
        .get(&format!("/api/v1/changes/{pending}"), &lead)
        .expect(200);
    check("change_show", &r);
    let r = s
        .post(
            &format!("/api/v1/changes/{pending}/approve"),
            &lead,
            json!({ "comment": "fine" }),
        )
        .expect(200);
    check("change_approve", &r);
    let r = s.post(
        &format!("/api/v1/changes/{pending}/apply"),
        &alice,
        json!({}),
    );
    check("change_apply", &r);

    // Cancelled and rejected changes.
    let flag = risky("contract-q");
    let id = s
        .post(FLAGS, &alice, json!({ "flag": flag.clone() }))
        .expect(201)
        .json["id"]
        .as_i64()
        .unwrap();
    let r = s
        .post(&format!("/api/v1/changes/{id}/cancel"), &alice, json!({}))
        .expect(200);
    check("change_cancel", &r);
    let id = s
        .post(FLAGS, &alice, json!({ "flag": flag }))
        .expect(201)
        .json["id"]
        .as_i64()
        .unwrap();
    let r = s
        .post(
            &format!("/api/v1/changes/{id}/reject"),
            &lead,
            json!({ "comment": "not now" }),
        )
        .expect(200);
    check("change_reject", &r);

    let r = s.get("/api/v1/changes", &lead).expect(200);
    check("change_list", &r);
    let r = s.get("/api/v1/changes?limit=2", &lead).expect(200);
    check("change_list_page", &r);
}

#[test]
fn flag_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-flags");
    data.set("settled_days", "settled_days = 0");
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    let staging = "/api/v1/environments/staging/flags";
    s.post(staging, &eve, json!({ "flag": simple_flag("contract-b") }))
        .expect(201);
    let mut updated = simple_flag("contract-b");
    updated["description"] = json!("second revision");
    let r = s
        .put(
            &format!("{staging}/contract-b"),
            &eve,
            json!({ "flag": updated, "reason": "describe" }),
        )
        .expect(200);
    check("flag_update", &r);
    let r = s
        .post(
            &format!("{staging}/contract-b/rollout"),
            &eve,
            json!({ "percentage": 25 }),
        )
        .expect(200);
    check("flag_rollout", &r);
    let r = s
        .post(
            &format!("{staging}/contract-b/kill"),
            &eve,
            json!({ "reason": "incident" }),
        )
        .expect(200);
    check("flag_kill", &r);
    let r = s
        .post(&format!("{staging}/contract-b/enable"), &eve, json!({}))
        .expect(200);
    check("flag_enable", &r);
    let r = s
        .post(&format!("{staging}/contract-b/rollback"), &eve, json!({}))
        .expect(200);
    check("flag_rollback", &r);

    check("flag_list", &s.get(staging, &eve).expect(200));
    check(
        "flag_detail",
        &s.get(&format!("{staging}/contract-b"), &eve).expect(200),
    );
    check(
        "flag_history",
        &s.get(&format!("{staging}/contract-b/history"), &eve)
            .expect(200),
    );
    let r = s
        .post(
            "/api/v1/environments/staging/validate",
            &eve,
            json!({ "flag": simple_flag("contract-c") }),
        )
        .expect(200);
    check("flag_validate", &r);
    let r = s
        .post(&format!("{staging}/contract-b/archive"), &eve, json!({}))
        .expect(200);
    check("flag_archive", &r);
    check(
        "flag_list_archived",
        &s.get(&format!("{staging}?archived=true"), &eve).expect(200),
    );
}

#[test]
fn rollout_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-rollouts");
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    let staging = "/api/v1/environments/staging/flags";
    s.post(staging, &eve, json!({ "flag": simple_flag("contract-r") }))
        .expect(201);
    let r = s
        .post(
            &format!("{staging}/contract-r/rollouts"),
            &eve,
            json!({ "stages": [10, 50, 100], "stage_duration": "10m", "min_samples": 20 }),
        )
        .expect(201);
    check("rollout_start", &r);
    let id = r.json["id"].as_i64().unwrap();
    check(
        "rollout_get",
        &s.get(&format!("/api/v1/rollouts/{id}"), &eve).expect(200),
    );
    check(
        "rollout_pause",
        &s.post(&format!("/api/v1/rollouts/{id}/pause"), &eve, json!({}))
            .expect(200),
    );
    check(
        "rollout_resume",
        &s.post(&format!("/api/v1/rollouts/{id}/resume"), &eve, json!({}))
            .expect(200),
    );
    check(
        "rollout_abort",
        &s.post(&format!("/api/v1/rollouts/{id}/abort"), &eve, json!({}))
            .expect(200),
    );
    check(
        "rollout_list",
        &s.get(
            "/api/v1/environments/staging/rollouts?flag=contract-r",
            &eve,
        )
        .expect(200),
    );
}

#[test]
fn audit_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-audit");
    let s = Server::start(&data);
    let eve = s.token(&admin, "eve", &["editor"]);
    s.post(
        "/api/v1/environments/staging/flags",
        &eve,
        json!({ "flag": simple_flag("contract-audit") }),
    )
    .expect(201);
    check(
        "audit_list",
        &s.get("/api/v1/audit?flag=contract-audit", &eve).expect(200),
    );
    check(
        "audit_list_page",
        &s.get("/api/v1/audit?order=newest&limit=2", &eve)
            .expect(200),
    );
    check(
        "audit_verify",
        &s.get("/api/v1/audit/verify", &eve).expect(200),
    );
}

#[test]
fn token_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-tokens");
    let s = Server::start(&data);
    let r = s
        .post(
            "/api/v1/tokens",
            &admin,
            json!({ "name": "tina", "roles": ["editor", "SECURITY"] }),
        )
        .expect(201);
    let mut shown = r.json.clone();
    assert!(shown["token"].as_str().unwrap().starts_with("vxt_"));
    shown["token"] = json!("<secret>");
    let id = shown["id"].as_i64().unwrap();
    check_value("token_create", shown);
    s.sdk_key(&admin, "staging");
    let r = s.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&admin),
        None,
        &[],
    );
    check("token_revoke", &r.expect(200));
    check("token_list", &s.get("/api/v1/tokens", &admin).expect(200));

    // SDK keys, after the token list was captured.
    let r = s
        .post(
            "/api/v1/sdk-keys",
            &admin,
            json!({ "name": "web", "environment": "staging", "kind": "client" }),
        )
        .expect(201);
    let mut shown = r.json.clone();
    assert!(shown["token"].as_str().unwrap().starts_with("vxc_"));
    shown["token"] = json!("<secret>");
    check_value("sdk_key_create", shown);
    check(
        "sdk_key_list",
        &s.get("/api/v1/sdk-keys?environment=staging", &admin)
            .expect(200),
    );
}

#[test]
fn environment_answers_keep_their_json() {
    let (data, admin) = DataDir::init("contract-envs");
    let s = Server::start(&data);
    let r = s
        .post("/api/v1/environments", &admin, json!({ "name": "qa" }))
        .expect(201);
    check("environment_create", &r);
    check(
        "environment_list",
        &s.get("/api/v1/environments", &admin).expect(200),
    );
}

#[test]
fn captures_read_back_as_their_types() {
    use vexil::origin::api::{Change, ChangePage, FlagDetail, FlagList, History};
    use vexil::origin::api::{Rollout, RolloutList};
    for name in [
        "change_created_applied",
        "change_created_pending",
        "change_show",
        "change_approve",
        "change_cancel",
        "change_reject",
        "flag_update",
        "flag_rollout",
        "flag_kill",
        "flag_enable",
        "flag_rollback",
        "flag_archive",
    ] {
        round_trip::<Change>(name);
    }
    round_trip::<ChangePage>("change_list");
    round_trip::<ChangePage>("change_list_page");
    round_trip::<FlagList>("flag_list");
    round_trip::<FlagList>("flag_list_archived");
    round_trip::<FlagDetail>("flag_detail");
    round_trip::<History>("flag_history");
    for name in [
        "rollout_start",
        "rollout_get",
        "rollout_pause",
        "rollout_resume",
        "rollout_abort",
    ] {
        round_trip::<Rollout>(name);
    }
    round_trip::<RolloutList>("rollout_list");
    use vexil::origin::api::{audit, Verification};
    round_trip::<audit::Page>("audit_list");
    round_trip::<audit::Page>("audit_list_page");
    round_trip::<Verification>("audit_verify");
    use vexil::origin::api::{CreatedToken, Revoked, TokenList};
    round_trip::<CreatedToken>("token_create");
    round_trip::<TokenList>("token_list");
    round_trip::<Revoked>("token_revoke");
    round_trip::<CreatedToken>("sdk_key_create");
    round_trip::<vexil::origin::api::SdkKeyList>("sdk_key_list");
    round_trip::<vexil::origin::api::CreatedEnvironment>("environment_create");
    round_trip::<vexil::origin::api::EnvironmentList>("environment_list");
    use vexil::origin::api::{CreatedWebhook, DeliveryList, WebhookList, WebhookRemoved};
    round_trip::<CreatedWebhook>("webhook_create");
    round_trip::<WebhookList>("webhook_list");
    round_trip::<WebhookRemoved>("webhook_remove");
    round_trip::<DeliveryList>("webhook_deliveries");
    round_trip::<DeliveryList>("webhook_deliveries_filtered");
    use vexil::origin::api::{Health, KeyListing, Rotation, WhoAmI};
    round_trip::<Health>("health");
    round_trip::<KeyListing>("keys_list");
    round_trip::<Rotation>("keys_rotate");
    round_trip::<WhoAmI>("whoami_token");
    round_trip::<WhoAmI>("whoami_sdk_key");
    use vexil::origin::api::{PublishTargetList, SnapshotList};
    round_trip::<SnapshotList>("snapshot_list");
    round_trip::<PublishTargetList>("publish_targets");
}
