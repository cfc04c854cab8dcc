//! Bad input on every kind of route, and who may call each route.

use super::support::*;
use super::FLAGS;
use serde_json::{json, Value};

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

/// The caller is checked before the request's input: a stranger's malformed request
/// is 401 and a caller without the role gets 403, whatever the path, query or body;
/// only a caller who may make the request learns what is wrong with it (400, 422).
#[test]
fn who_is_checked_before_what() {
    let (data, admin) = DataDir::init("order");
    let s = Server::start(&data);
    let viewer = s.token(&admin, "vic", &["viewer"]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let bad_json = Some("{not json");
    let cases: &[(&str, &str)] = &[
        ("POST", FLAGS),
        ("PUT", "/api/v1/environments/production/flags/x"),
        ("POST", "/api/v1/changes/1/approve"),
        ("POST", "/api/v1/environments/production/flags/x/rollouts"),
    ];
    for (method, path) in cases {
        let r = s.call(method, path, None, bad_json, &[]);
        assert_eq!(r.status, 401, "anonymous {method} {path}: {}", r.text);
        assert_eq!(r.json["error"]["code"], "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let r = s.call(method, path, Some("vxt_unknown"), bad_json, &[]);
        assert_eq!(r.status, 401, "unknown token {method} {path}: {}", r.text);
    }
    // A viewer may not propose: 403 before the body is read.
    let r = s.call("POST", FLAGS, Some(&viewer), bad_json, &[]);
    assert_eq!(
        (r.status, &r.json["error"]["code"]),
        (403, &json!("forbidden"))
    );
    // A bad path or query is the caller's second problem too.
    let r = s.call("GET", "/api/v1/changes/not-a-number", None, None, &[]);
    assert_eq!(r.status, 401, "{}", r.text);
    let r = s.call("GET", "/api/v1/changes?limit=many", None, None, &[]);
    assert_eq!(r.status, 401, "{}", r.text);
    // Who may make the request hears what is wrong with it.
    let r = s.call("POST", FLAGS, Some(&editor), bad_json, &[]);
    assert_eq!(
        (r.status, &r.json["error"]["code"]),
        (400, &json!("bad_request"))
    );
    let r = s.get("/api/v1/changes/not-a-number", &viewer);
    assert_eq!(r.status, 400, "{}", r.text);
    let r = s.post(FLAGS, &editor, json!({ "flag": { "key": "Bad Key" } }));
    assert_eq!(r.status, 422, "{}", r.text);
}
