//! `examples/flags.yaml`: the YAML form, evaluated and checked against its JSON rendering.

use super::finance::{trader, IN_ROLLOUT};
use super::healthcare::{physician, PROVIDER_IN};
use super::*;

fn yaml_snapshot() -> Snapshot {
    let text = std::fs::read_to_string(example_path("flags.yaml")).unwrap();
    let doc: FlagsDocument = serde_yaml_ng::from_str(&text).unwrap();
    Snapshot::compile(&doc).unwrap()
}

#[test]
fn yaml_example_loads_and_evaluates() {
    let snap = yaml_snapshot();
    assert_eq!(snap.flags().len(), 7);
    let at = |time: &str, flag: &str, ctx: Value, default: Value| {
        let resolved = snap.resolve_context(&ctx).unwrap();
        let expected = ValueType::of(&default);
        snap.details(
            flag,
            &resolved,
            default,
            expected,
            parse_rfc3339_ms(time).unwrap(),
        )
    };
    let t = "2026-06-01T00:00:00Z";
    // Segment via targetingKey or e-mail.
    let d = at(
        t,
        "new-checkout",
        json!({ "targetingKey": "user-2" }),
        json!(false),
    );
    assert_result(
        &d,
        json!(true),
        Some("on"),
        Reason::TargetingMatch,
        Some("beta-testers"),
    );
    let d = at(
        t,
        "new-checkout",
        json!({ "targetingKey": "x", "email": "Ann@EXAMPLE.com" }),
        json!(false),
    );
    assert_eq!(d.rule_id.as_deref(), Some("beta-testers"));
    // The 25 % rollout: weights fill buckets in the order written (`on` first).
    let on_first = bucket("new-checkout", "user-12345") < 25_000;
    let d = at(
        t,
        "new-checkout",
        json!({ "targetingKey": "user-12345" }),
        json!(false),
    );
    assert_eq!((d.reason, d.value), (Reason::Split, json!(on_first)));
    // String, number and object flags.
    let d = at(
        t,
        "banner-color",
        json!({ "targetingKey": "u", "geo": { "country": "DE" } }),
        json!(""),
    );
    assert_result(
        &d,
        json!("#388e3c"),
        Some("green"),
        Reason::TargetingMatch,
        Some("dach"),
    );
    let d = at(t, "search-page-size", json!({ "plan": "pro" }), json!(0));
    assert_result(
        &d,
        json!(50),
        Some("large"),
        Reason::TargetingMatch,
        Some("pro-plan"),
    );
    let d = at(
        t,
        "search-page-size",
        json!({ "screen": { "width": "375" } }),
        json!(0),
    );
    assert_result(
        &d,
        json!(10),
        Some("small"),
        Reason::TargetingMatch,
        Some("small-screens"),
    );
    let d = at(t, "theme-config", json!({}), json!({}));
    assert_eq!(d.reason, Reason::Static);
    assert_eq!(d.value["mode"], json!("light"));
    // Scheduled by `$now`.
    let d = at(t, "holiday-sale", json!({}), json!(true));
    assert_result(&d, json!(false), Some("off"), Reason::Default, None);
    let d = at(
        "2026-12-24T18:00:00Z",
        "holiday-sale",
        json!({}),
        json!(false),
    );
    assert_result(
        &d,
        json!(true),
        Some("on"),
        Reason::TargetingMatch,
        Some("sale-window"),
    );
    // Semver rule behind a prerequisite.
    let ctx = json!({ "targetingKey": "user-1", "app": { "version": "2.1.0" } });
    let d = at(t, "mobile-new-nav", ctx, json!(false));
    assert_result(
        &d,
        json!(true),
        Some("on"),
        Reason::TargetingMatch,
        Some("app-2"),
    );
    let ctx = json!({ "targetingKey": "user-1", "app": { "version": "1.9.9" } });
    assert_eq!(
        at(t, "mobile-new-nav", ctx, json!(true)).reason,
        Reason::Default
    );
    // Thrown kill switch.
    let d = at(t, "legacy-export", json!({}), json!(true));
    assert_result(&d, json!(false), Some("off"), Reason::Disabled, None);
}

/// The YAML example and its JSON rendering compile to the same flags (the CLI reads
/// both).
#[test]
fn yaml_example_matches_its_json_rendering() {
    let text = std::fs::read_to_string(example_path("flags.yaml")).unwrap();
    let doc: FlagsDocument = serde_yaml_ng::from_str(&text).unwrap();
    let from_json = Snapshot::from_json(&serde_json::to_vec(&doc).unwrap()).unwrap();
    let from_yaml = Snapshot::compile(&doc).unwrap();
    for i in 0..200 {
        let ctx = json!({ "targetingKey": format!("user-{i}"), "plan": if i % 3 == 0 { "pro" } else { "free" } });
        let (a, b) = (
            from_json.resolve_context(&ctx).unwrap(),
            from_yaml.resolve_context(&ctx).unwrap(),
        );
        for f in from_yaml.flags() {
            let x = from_json.details(&f.key, &a, Value::Null, None, now());
            let y = from_yaml.details(&f.key, &b, Value::Null, None, now());
            assert_eq!(x, y);
        }
    }
}

// =================================================================== all examples

#[test]
fn every_example_flag_evaluates_cleanly_for_a_typical_context() {
    for (file, ctx) in [
        ("finance-flags.json", trader(IN_ROLLOUT)),
        ("healthcare-flags.json", physician(PROVIDER_IN)),
    ] {
        let snap = load(file);
        let resolved = snap.resolve_context(&ctx).unwrap();
        for (id, outcome) in snap.evaluate_all(&resolved, now()) {
            let key = &snap.flag(id).unwrap().key;
            assert_eq!(outcome.error, None, "{file}: {key}");
            assert!(outcome.variant.is_some(), "{file}: {key}");
        }
    }
}

/// What one evaluation of a flag can read: its own rules and rollout units, its
/// segments, and its prerequisites' attributes, followed through. The JS glue reads
/// only these from a context used for a single evaluation.
#[test]
fn a_flag_knows_every_attribute_its_evaluation_can_read() {
    let snap = load("finance-flags.json");
    let paths: Vec<&str> = snap.attribute_paths().collect();
    let read = |key: &str| -> Vec<&str> {
        let id = snap.flag_id(key).expect("flag");
        snap.flag_attributes(id)
            .into_iter()
            .map(|a| paths[a as usize])
            .collect()
    };
    let router = read("enhanced-order-routing-v2");
    for expected in ["targetingKey", "segments", "market_data.gateway_version"] {
        assert!(
            router.contains(&expected),
            "{expected} missing from {router:?}"
        );
    }
    let gateway = read("market-data-v3");
    assert_eq!(gateway, ["targetingKey", "market_data.gateway_version"]);
    assert_eq!(read("trading-kill-switch"), ["targetingKey"]);
}
