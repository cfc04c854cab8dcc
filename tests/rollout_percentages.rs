//! Rollout percentages pass one check, the engine's: what a flag document accepts as
//! a weight, `POST .../rollout`, `vexil rollout set` and rollout stages accept, and
//! what it refuses they refuse. Variants are found by name, whatever characters the
//! name holds (`beta/v2`, `beta~v2`).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use serde_json::{json, Value};
use support::*;
use vexil::origin::{changes, publish, Origin};

const FLAGS: &str = "/api/v1/environments/production/flags";

/// The flag `f`'s fallthrough in the published snapshot.
fn fallthrough(s: &Server, token: &str, key: &str) -> Value {
    let payload = verified_payload(s, "production", token);
    payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap()["fallthrough"]
        .clone()
}

#[test]
fn three_decimals_are_accepted_everywhere_and_four_refused_everywhere() {
    let (data, admin) = DataDir::init("percent-decimals");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("search") }))
        .expect(201);

    // 1.001 × 1000 is 1000.9999999999999 in floating point: still 1001 thousandths.
    s.post(
        &format!("{FLAGS}/search/rollout"),
        &editor,
        json!({ "percentage": 1.001 }),
    )
    .expect(200);
    assert_eq!(
        fallthrough(&s, &editor, "search")["rollout"]["weights"],
        json!({ "on": 1.001, "off": 98.999 })
    );
    let out = vexil_as(
        &s,
        &editor,
        &["rollout", "set", "search", "0.3", "--env", "production"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fallthrough(&s, &editor, "search")["rollout"]["weights"],
        json!({ "on": 0.3, "off": 99.7 })
    );

    // More decimals than the bucket scale: refused by the API and the CLI alike.
    let r = s
        .post(
            &format!("{FLAGS}/search/rollout"),
            &editor,
            json!({ "percentage": 1.0001 }),
        )
        .expect(400);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 3 decimals"),
        "{}",
        r.json
    );
    let out = vexil_as(
        &s,
        &editor,
        &["rollout", "set", "search", "1.0001", "--env", "production"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("more than 3 decimals"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A stage the engine could not serve is refused when the rollout starts, not
    // when it would reach it.
    let r = s
        .post(
            &format!("{FLAGS}/search/rollouts"),
            &editor,
            json!({ "stages": [10, 33.3333, 100] }),
        )
        .expect(400);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stage 33.3333 has more than 3 decimals"),
        "{}",
        r.json
    );
    let r = s
        .post(
            &format!("{FLAGS}/search/rollouts"),
            &editor,
            json!({ "stages": [33.333, 100] }),
        )
        .expect(201);
    assert_eq!(r.json["percentage"], 33.333);
}

#[test]
fn a_variant_named_with_a_slash_or_tilde_keeps_its_share() {
    let (data, admin) = DataDir::init("percent-names");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    for variant in ["beta/v2", "beta~v2", "beta~1v2"] {
        let key = format!("f{}", variant.len() + variant.matches('~').count());
        let mut flag = simple_flag(&key);
        flag["variants"] = json!({ variant: true, "off": false });
        flag["fallthrough"] = json!({ "rollout": { "weights": { variant: 50, "off": 50 } } });
        s.post(FLAGS, &editor, json!({ "flag": flag })).expect(201);
        // Half the units already get the variant: the rollout starts from 50 %,
        // so its stages below that are skipped rather than taking the variant away.
        let r = s
            .post(
                &format!("{FLAGS}/{key}/rollouts"),
                &editor,
                json!({ "stages": [25, 75, 100], "variant": variant }),
            )
            .expect(201)
            .json;
        assert_eq!(r["start_percentage"], 50.0, "{variant}: {r}");
        assert_eq!(r["stages"], json!([75.0, 100.0]), "{variant}: {r}");
        assert_eq!(
            fallthrough(&s, &editor, &key)["rollout"]["weights"][variant],
            75,
            "{variant}"
        );
    }
}

/// A fresh in-process origin with one flag, for the property below.
fn origin_with_flag(dir: &std::path::Path) -> Origin {
    let _ = std::fs::remove_dir_all(dir);
    vexil::origin::init(dir, None).unwrap();
    let origin = Origin::open(dir, std::sync::Arc::new(vexil::origin::system_now_ms)).unwrap();
    origin
        .write(|op| {
            let made = vexil::origin::auth::create_token(op, "eve", &["editor".into()])?;
            let who = vexil::origin::auth::authenticate(op.db, &made.token)?;
            let p = changes::create(
                &publish::load_state(op.db, "development")?,
                "development",
                simple_flag("search"),
            )?;
            changes::submit_and_publish(op, &who, p)
        })
        .unwrap();
    origin
}

/// Tries to start a rollout of `flag` (created in `development` first) with `plan`.
fn start_rollout(
    dir: &std::path::Path,
    flag: Value,
    plan: Value,
) -> Result<vexil::origin::api::Rollout, String> {
    let origin = origin_with_flag(dir);
    origin
        .write(|op| {
            let who = vexil::origin::auth::authenticate(
                op.db,
                &vexil::origin::auth::create_token(op, "ann", &["editor".into()])?.token,
            )?;
            let key = flag["key"].as_str().unwrap().to_string();
            let p = changes::create(
                &publish::load_state(op.db, "development")?,
                "development",
                flag,
            )?;
            changes::submit_and_publish(op, &who, p)?;
            let plan = serde_json::from_value(plan).unwrap();
            vexil::origin::rollouts::start(op, &who, "development", &key, plan)
        })
        .map_err(|e| e.to_string())
}

/// Starting a rollout and setting its percentage pick the treated variant the same
/// way: a variant that `POST .../rollout` would refuse is refused when the rollout
/// starts, with the same reason, instead of being measured first. (Starting used to
/// treat the first variant of a flag without an off variant, and to word a wrong
/// variant differently.)
#[test]
fn starting_a_rollout_treats_the_variant_a_percentage_would() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut no_off = simple_flag("no-off");
    no_off.as_object_mut().unwrap().remove("off_variant");
    no_off["fallthrough"] = json!({ "variant": "on" });
    let e = start_rollout(&dir, no_off, json!({ "stages": [50, 100] })).unwrap_err();
    assert!(
        e.contains("flag `no-off` has no `off_variant` to roll out against"),
        "{e}"
    );
    let e = start_rollout(&dir, simple_flag("wrong"), json!({ "variant": "nope" })).unwrap_err();
    assert!(
        e.contains("variant `nope` is not one of `wrong`'s variants other than the off variant `off`: on, off"),
        "{e}"
    );
    let e = start_rollout(&dir, simple_flag("rule"), json!({ "rule": "r9" })).unwrap_err();
    assert!(e.contains("flag `rule` has no rule `r9`"), "{e}");
    let started = start_rollout(&dir, simple_flag("fine"), json!({ "stages": [10, 100] })).unwrap();
    assert_eq!(started.variant, "on", "{started:?}");
}

/// Percentages with up to 3 decimals, and ones just off them.
fn percentage() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..=100_000).prop_map(|t| f64::from(t) / 1000.0),
        (0u32..=1_000_000).prop_map(|t| f64::from(t) / 10_000.0),
        -1.0..101.0f64,
        any::<f64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_origin_accepts_exactly_what_the_engine_accepts(p in percentage()) {
        thread_local! {
            // Removed with the thread (after the origin closes its database).
            static ORIGIN: (Origin, tempfile::TempDir) = {
                let tmp = tempfile::tempdir().unwrap();
                let origin = origin_with_flag(&tmp.path().join("data"));
                (origin, tmp)
            };
        }
        let engine = vexil::engine::compile::thousandths(p);
        let origin = ORIGIN.with(|(origin, _)| {
            origin.read(|op| {
                let state = publish::load_state(op.db, "development")?;
                changes::rollout(&state, "development", "search", p, None, None)
            })
        });
        match (engine, origin) {
            (Ok(t), Ok(proposal)) => {
                let doc = proposal.document.expect("a document");
                // What the origin writes compiles, and serves exactly `t` thousandths.
                let compiled = publish::validate_document(&json!({ "flags": [doc.clone()] }));
                prop_assert!(compiled.is_ok(), "{:?}", compiled.err());
                let on = &doc["fallthrough"]["rollout"]["weights"]["on"];
                prop_assert_eq!(vexil::engine::compile::thousandths(on.as_f64().unwrap()), Ok(t));
            }
            (Err(_), Err(e)) => prop_assert!(e.to_string().starts_with("percentage "), "{e}"),
            (engine, origin) => prop_assert!(false, "{p}: engine {engine:?}, origin {:?}", origin.map(|_| ())),
        }
    }
}
