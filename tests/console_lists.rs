//! The lists the console pages through (issue 14): changes filtered by author and kind
//! and paged with `before`/`next`; the audit log newest first, paged the same way.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;

const STAGING: &str = "/api/v1/environments/staging";

fn ids(reply: &Reply, list: &str, id: &str) -> Vec<i64> {
    reply.json[list]
        .as_array()
        .unwrap_or_else(|| panic!("{}", reply.text))
        .iter()
        .map(|c| c[id].as_i64().unwrap())
        .collect()
}

#[test]
fn changes_page_by_id_and_filter_by_author_and_kind() {
    let (data, admin) = DataDir::init("console-changes");
    let s = Server::start(&data);
    let alice = s.token(&admin, "alice", &["editor"]);
    let bob = s.token(&admin, "bob", &["editor"]);
    for (who, key) in [
        (&alice, "a-one"),
        (&bob, "b-one"),
        (&alice, "a-two"),
        (&alice, "a-three"),
    ] {
        s.post(
            &format!("{STAGING}/flags"),
            who,
            json!({ "flag": simple_flag(key) }),
        )
        .expect(201);
    }
    s.post(
        &format!("{STAGING}/flags/a-one/kill"),
        &bob,
        json!({ "reason": "test" }),
    )
    .expect(200);

    let all = ids(
        &s.get("/api/v1/changes", &admin).expect(200),
        "changes",
        "id",
    );
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");

    // Pages of two: `next` is the `before` of the next page, absent on the last.
    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    for _ in 0..5 {
        let q = before.map(|b| format!("&before={b}")).unwrap_or_default();
        let page = s
            .get(&format!("/api/v1/changes?limit=2{q}"), &admin)
            .expect(200);
        seen.extend(ids(&page, "changes", "id"));
        match page.json["next"].as_i64() {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, all);
    let exact = s.get("/api/v1/changes?limit=5", &admin).expect(200);
    assert_eq!(
        exact.json.get("next"),
        None,
        "no next page when nothing more matches"
    );

    // Another spelling of a person's name finds their changes.
    let by_alice = s.get("/api/v1/changes?author=ALICE", &admin).expect(200);
    let targets: Vec<&str> = by_alice.json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["flag"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["a-three", "a-two", "a-one"]);
    let kills = s
        .get("/api/v1/changes?kind=kill&author=bob", &admin)
        .expect(200);
    assert_eq!(ids(&kills, "changes", "id").len(), 1);
    assert_eq!(kills.json["changes"][0]["flag"], "a-one");
    let paged = s
        .get("/api/v1/changes?author=alice&limit=2", &admin)
        .expect(200);
    assert_eq!(ids(&paged, "changes", "id").len(), 2);
    let rest = s
        .get(
            &format!("/api/v1/changes?author=alice&before={}", paged.json["next"]),
            &admin,
        )
        .expect(200);
    assert_eq!(rest.json["changes"][0]["flag"], "a-one");

    let bad = s.get("/api/v1/changes?kind=rename", &admin).expect(400);
    assert!(bad.text.contains("unknown kind `rename`"), "{}", bad.text);
    let typo = s.get("/api/v1/changes?auhtor=alice", &admin).expect(400);
    assert!(typo.text.contains("auhtor"), "{}", typo.text);
}

#[test]
fn flag_summaries_carry_tags_for_the_console_filter() {
    let (data, admin) = DataDir::init("console-tags");
    let s = Server::start(&data);
    let mut tagged = simple_flag("tagged");
    tagged["tags"] = json!(["checkout", "mobile"]);
    for flag in [tagged, simple_flag("plain")] {
        s.post(&format!("{STAGING}/flags"), &admin, json!({ "flag": flag }))
            .expect(201);
    }
    let list = s.get(&format!("{STAGING}/flags"), &admin).expect(200);
    let tags: Vec<(String, Value)> = list.json["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].as_str().unwrap().to_string(), f["tags"].clone()))
        .collect();
    assert_eq!(
        tags,
        [
            ("plain".to_string(), json!([])),
            ("tagged".to_string(), json!(["checkout", "mobile"]))
        ]
    );
    let one = s
        .get(&format!("{STAGING}/flags/tagged"), &admin)
        .expect(200);
    assert_eq!(one.json["tags"], json!(["checkout", "mobile"]));
}

#[test]
fn the_audit_log_pages_newest_first() {
    let (data, admin) = DataDir::init("console-audit");
    let s = Server::start(&data);
    for key in ["one", "two", "three"] {
        s.post(
            &format!("{STAGING}/flags"),
            &admin,
            json!({ "flag": simple_flag(key) }),
        )
        .expect(201);
    }
    let oldest = s.get("/api/v1/audit?limit=1000", &admin).expect(200);
    let mut all = ids(&oldest, "entries", "seq");
    assert_eq!(oldest.json.get("next"), None);
    assert!(all.len() >= 6, "{all:?}");
    all.reverse();

    let mut seen = Vec::new();
    let mut before: Option<Value> = None;
    loop {
        let q = before
            .as_ref()
            .map(|b| format!("&before={b}"))
            .unwrap_or_default();
        let page = s
            .get(&format!("/api/v1/audit?order=newest&limit=4{q}"), &admin)
            .expect(200);
        let got = ids(&page, "entries", "seq");
        assert!(got.len() <= 4);
        seen.extend(got);
        match page.json.get("next") {
            Some(n) => before = Some(n.clone()),
            None => break,
        }
    }
    assert_eq!(seen, all, "every entry once, newest first");
    // Oldest first, `next` is the `after` of the next page.
    let first = s.get("/api/v1/audit?limit=2", &admin).expect(200);
    let second = s
        .get(
            &format!("/api/v1/audit?limit=2&after={}", first.json["next"]),
            &admin,
        )
        .expect(200);
    let mut both = ids(&first, "entries", "seq");
    both.extend(ids(&second, "entries", "seq"));
    assert_eq!(both, all.iter().rev().take(4).copied().collect::<Vec<_>>());
    s.get("/api/v1/audit?order=sideways", &admin).expect(400);
}

#[test]
fn unique_units_never_exceed_the_evaluations_they_come_from() {
    // A sketch of ~220 units over 40 evaluations: the estimate is capped at 40.
    let (data, admin) = DataDir::init("console-units");
    let s = Server::start(&data);
    s.post(
        &format!("{STAGING}/flags"),
        &admin,
        json!({ "flag": simple_flag("capped") }),
    )
    .expect(201);
    let key = s.sdk_key(&admin, "staging");
    let sparse: Vec<Value> = (0..200).map(|i| json!([i, 1])).collect();
    let end = now_ms();
    let batch = json!({
        "schema": 1, "batch_id": "units-1", "sdk": "test", "environment": "staging",
        "window": { "start_ms": end - 1000, "end_ms": end },
        "flags": { "capped": { "variants": {
            "on": { "count": 40, "reasons": { "SPLIT": 40 }, "units": { "p": 10, "sparse": sparse } },
            "off": { "count": 2, "reasons": { "SPLIT": 2 }, "units": { "p": 10, "sparse": [[500, 1]] } }
        } } },
        "events": {}, "audit": [], "dropped": { "audit": 0, "events": 0, "unknown_flags": 0 }
    });
    s.post("/api/v1/metrics", &key, batch).expect(200);
    let m = s
        .get("/api/v1/flags/capped/metrics?env=staging", &admin)
        .expect(200)
        .json;
    assert_eq!(m["variants"]["on"]["unique_units"], json!(40.0), "{m}");
    assert_eq!(m["variants"]["off"]["unique_units"], json!(1.0), "{m}");
    assert_eq!(m["unique_units"], json!(42.0), "{m}");
    assert_eq!(m["total_evaluations"], 42);
}
