//! Four-eyes identity: a token's name is the person, compared ignoring case, width
//! and spacing, and names that could impersonate another person are refused.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::*;

const FLAGS: &str = "/api/v1/environments/production/flags";

fn high_risk_change(s: &Server, editor: &str, key: &str) -> i64 {
    let mut flag = simple_flag(key);
    flag["risk"] = json!("high");
    let change = s
        .post(FLAGS, editor, json!({ "flag": flag }))
        .expect(201)
        .json;
    assert_eq!(change["status"], "pending");
    change["id"].as_i64().unwrap()
}

fn error_code(reply: &Reply) -> &str {
    reply.json["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn names_that_impersonate_a_person_are_refused() {
    let (data, admin) = DataDir::init("identities");
    let s = Server::start(&data);
    let editor = s.token(&admin, "editor1", &["editor"]);
    let create = |name: &str| {
        s.post(
            "/api/v1/tokens",
            &admin,
            json!({ "name": name, "roles": ["PRODUCT_OWNER"] }),
        )
    };

    // Another spelling of an existing person.
    for spelling in ["Editor1", "EDITOR1", " Ｅditor1"] {
        let r = create(spelling);
        assert_eq!(
            (r.status, error_code(&r)),
            (409, "conflict"),
            "{spelling:?}: {}",
            r.text
        );
        assert!(r.text.contains("another spelling"), "{}", r.text);
    }
    // Look-alikes: a Cyrillic `е`, a zero-width space, a bidi override, a digit for a letter.
    for (name, status, says) in [
        (
            "\u{0435}ditor1",
            400,
            "mixes the scripts Cyrillic and Latin",
        ),
        ("edi\u{200B}tor1", 400, "invisible character U+200B"),
        ("\u{202E}1rotide", 400, "invisible character U+202E"),
        ("edit0r1", 409, "looks like the existing \\\"editor1\\\""),
    ] {
        let r = create(name);
        assert_eq!(r.status, status, "{name:?}: {}", r.text);
        assert!(r.text.contains(says), "{name:?}: {}", r.text);
    }
    let tokens = s.get("/api/v1/tokens", &admin).expect(200).json;
    assert_eq!(
        tokens["tokens"].as_array().unwrap().len(),
        2,
        "nothing created: {tokens}"
    );

    // The same spelling, padded or in full-width forms: a second token of the same
    // person, stored normalised, who still cannot approve their own change.
    let second = s
        .post(
            "/api/v1/tokens",
            &admin,
            json!({ "name": "  ｅｄｉｔｏｒ１ ", "roles": ["PRODUCT_OWNER"] }),
        )
        .expect(201)
        .json;
    assert_eq!(second["name"], "editor1");
    let id = high_risk_change(&s, &editor, "own-change");
    let r = s.post(
        &format!("/api/v1/changes/{id}/approve"),
        second["token"].as_str().unwrap(),
        json!({}),
    );
    assert_eq!(r.status, 403, "{}", r.text);

    // Distinct people in other scripts are fine.
    for name in ["Ελένη", "佐藤 Sato"] {
        create(name).expect(201);
    }
}

/// A token stored before names were normalised: `Editor1` beside `editor1`.
fn legacy_token(data: &DataDir, name: &str, roles: &[&str]) -> String {
    let secret = format!("vxt_legacy_{}", name.trim());
    let hash: String = Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let db = rusqlite::Connection::open(data.path().join("vexil.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db.execute(
        "INSERT INTO tokens (name, kind, roles, hash, created_at) VALUES (?1, 'token', ?2, ?3, '2026-01-01T00:00:00Z')",
        rusqlite::params![name, Value::from(roles.to_vec()).to_string(), hash],
    )
    .unwrap();
    secret
}

#[test]
fn stored_names_are_compared_normalised() {
    let (data, admin) = DataDir::init("legacy-identities");
    let s = Server::start(&data);
    let editor = s.token(&admin, "editor1", &["editor"]);
    let other_spelling = legacy_token(&data, "Editor1 ", &["PRODUCT_OWNER"]);
    let id = high_risk_change(&s, &editor, "legacy-four-eyes");
    let r = s.post(
        &format!("/api/v1/changes/{id}/approve"),
        &other_spelling,
        json!({}),
    );
    assert_eq!((r.status, error_code(&r)), (403, "forbidden"), "{}", r.text);
    assert!(
        r.text.contains("the same person as `editor1`"),
        "{}",
        r.text
    );
    // The other spelling is the author for cancelling, too.
    let cancelled = s
        .post(
            &format!("/api/v1/changes/{id}/cancel"),
            &other_spelling,
            json!({}),
        )
        .expect(200)
        .json;
    assert_eq!(cancelled["status"], "cancelled");

    // One person approves a change once, whatever spelling their tokens have.
    let po = s.token(&admin, "paula", &["PRODUCT_OWNER"]);
    let mut critical = simple_flag("legacy-once");
    critical["risk"] = json!("critical");
    let change = s
        .post(FLAGS, &editor, json!({ "flag": critical }))
        .expect(201)
        .json;
    let id = change["id"].as_i64().unwrap();
    let paula_security = legacy_token(&data, "PAULA", &["SECURITY"]);
    s.post(&format!("/api/v1/changes/{id}/approve"), &po, json!({}))
        .expect(200);
    let r = s.post(
        &format!("/api/v1/changes/{id}/approve"),
        &paula_security,
        json!({}),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("already approved"), "{}", r.text);
}
