//! The seed's `mutual_exclusions`: backed by an exclusion group, or refused with how
//! to back it (issue 18 item 2).

mod support;

use serde_json::{json, Value};
use support::{vexil, DataDir, Server};
use vexil::engine::{LoadError, Snapshot};

fn flag(key: &str, extra: Value) -> Value {
    let mut f = json!({
        "key": key, "variants": {"on": true, "off": false}, "off_variant": "off",
        "fallthrough": {"variant": "on"}
    });
    for (k, v) in extra.as_object().unwrap() {
        f[k] = v.clone();
    }
    f
}

fn doc(flags: Vec<Value>) -> Value {
    json!({ "flags": flags, "exclusion_groups": { "routers": {} } })
}

fn issues(doc: &Value) -> Vec<(String, String)> {
    match Snapshot::from_json(&serde_json::to_vec(doc).unwrap()) {
        Err(LoadError::Invalid(issues)) => {
            issues.into_iter().map(|i| (i.path, i.message)).collect()
        }
        Err(e) => panic!("{e}"),
        Ok(_) => Vec::new(),
    }
}

#[test]
fn a_declared_pair_must_share_an_exclusion_group() {
    // Both on for everyone, listing each other, no group: the declaration is a promise
    // nothing keeps.
    let bare = doc(vec![
        flag("a", json!({"mutual_exclusions": ["b"]})),
        flag("b", json!({"mutual_exclusions": ["a"]})),
    ]);
    let found = issues(&bare);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "flags[a].mutual_exclusions[0]");
    assert!(
        found[0].1.contains("share no exclusion group") && found[0].1.contains("\"exclusion\""),
        "{}",
        found[0].1
    );

    // Different groups: still refused.
    let apart = doc(vec![
        flag(
            "a",
            json!({"mutual_exclusions": ["b"], "exclusion": {"group": "routers", "range": [0, 50000]}}),
        ),
        flag(
            "b",
            json!({"mutual_exclusions": ["a"], "exclusion": {"group": "other", "range": [50000, 100000]}}),
        ),
    ]);
    let mut apart = apart;
    apart["exclusion_groups"]["other"] = json!({});
    assert_eq!(issues(&apart).len(), 2);

    // Itself: refused. A flag not created yet: checked when it is.
    let wrong = doc(vec![flag(
        "a",
        json!({"mutual_exclusions": ["a", "later"]}),
    )]);
    let found = issues(&wrong);
    assert_eq!(
        found,
        [(
            "flags[a].mutual_exclusions[0]".to_string(),
            "a flag cannot exclude itself".to_string()
        )]
    );
}

#[test]
fn backed_by_a_group_no_unit_gets_both() {
    let backed = doc(vec![
        flag(
            "a",
            json!({"mutual_exclusions": ["b"], "exclusion": {"group": "routers", "range": [0, 50000]}}),
        ),
        flag(
            "b",
            json!({"mutual_exclusions": ["a"], "exclusion": {"group": "routers", "range": [50000, 100000]}}),
        ),
    ]);
    assert!(issues(&backed).is_empty());
    let snapshot = Snapshot::from_json(&serde_json::to_vec(&backed).unwrap()).unwrap();
    let (mut a_on, mut b_on) = (0, 0);
    for i in 0..2000 {
        let ctx = snapshot
            .resolve_context(&json!({ "targetingKey": format!("user-{i}") }))
            .unwrap();
        let on = |key: &str| {
            let flag = snapshot.flag(snapshot.flag_id(key).unwrap()).unwrap();
            snapshot.evaluate_key(key, &ctx, 0).variant == flag.variant_id("on")
        };
        let (a, b) = (on("a"), on("b"));
        assert!(!(a && b), "user-{i} got both");
        a_on += a as u32;
        b_on += b as u32;
    }
    assert!(a_on > 800 && b_on > 800, "{a_on} / {b_on}");
    // One side listing is enough for the engine (the origin changes one flag at a time).
    let one_sided = doc(vec![
        flag(
            "a",
            json!({"mutual_exclusions": ["b"], "exclusion": {"group": "routers", "range": [0, 50000]}}),
        ),
        flag(
            "b",
            json!({"exclusion": {"group": "routers", "range": [50000, 100000]}}),
        ),
    ]);
    assert!(issues(&one_sided).is_empty());
}

#[test]
fn the_cli_wants_both_sides_in_a_file_and_the_seed_example_validates() {
    let dir = std::env::temp_dir().join(format!("vexil-mutex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flags.json");
    let one_sided = doc(vec![
        flag(
            "a",
            json!({"mutual_exclusions": ["b"], "exclusion": {"group": "routers", "range": [0, 50000]}}),
        ),
        flag(
            "b",
            json!({"exclusion": {"group": "routers", "range": [50000, 100000]}}),
        ),
    ]);
    std::fs::write(&file, serde_json::to_string_pretty(&one_sided).unwrap()).unwrap();
    let out = vexil(&["flags", "validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("flags.json:") && stderr.contains("`b` does not list `a`"),
        "{stderr}"
    );
    let unknown = doc(vec![flag("a", json!({"mutual_exclusions": ["nope"]}))]);
    std::fs::write(&file, serde_json::to_string_pretty(&unknown).unwrap()).unwrap();
    let out = vexil(&["flags", "validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no flag `nope` to exclude"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();

    let finance =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/finance-flags.json");
    let out = vexil(&["flags", "validate", finance.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_origin_refuses_an_unbacked_exclusion() {
    let (data, admin) = DataDir::init("mutex");
    let s = Server::start(&data);
    let editor = s.token(&admin, "ed", &["editor"]);
    let flags = "/api/v1/environments/production/flags";
    let expiry = json!("2030-01-01T00:00:00Z");
    let b = flag("router-b", json!({"expires_at": expiry}));
    s.post(flags, &editor, json!({ "flag": b })).expect(201);
    let a = flag(
        "router-a",
        json!({"expires_at": expiry, "mutual_exclusions": ["router-b"]}),
    );
    let r = s.post(flags, &editor, json!({ "flag": a })).expect(422);
    assert!(r.text.contains("share no exclusion group"), "{}", r.text);
    // The other order: the flag listing one not created yet is accepted; creating the
    // second outside the group is then refused.
    let c = flag(
        "router-c",
        json!({"expires_at": expiry, "mutual_exclusions": ["router-d"]}),
    );
    s.post(flags, &editor, json!({ "flag": c })).expect(201);
    let d = flag("router-d", json!({"expires_at": expiry}));
    let r = s.post(flags, &editor, json!({ "flag": d })).expect(422);
    assert!(
        r.text.contains("flags[router-c].mutual_exclusions[0]"),
        "{}",
        r.text
    );
}
