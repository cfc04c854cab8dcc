//! The seed document's two examples, shipped as flags files in `examples/`, evaluated
//! against the targeting the seed intends.
//!
//! Finance (`FinancialFeatureFlagManager`): `enhanced-order-routing-v2` for required
//! segments (professional traders or institutional), allowed account tiers,
//! experience levels and risk tolerance, 5 % of them, never for high-risk accounts,
//! behind `market-data-v3` and the trading kill switch, mutually exclusive with
//! `legacy-order-routing`.
//!
//! Healthcare (`HealthcareFeatureFlagManager`): `enhanced-clinical-alerts-v2` only for
//! authorised providers with PHI access, for targeted provider types in critical-care
//! departments on day or evening shifts treating intensive or cardiac care patients,
//! 10 % of providers by `provider.id`.

use serde_json::{json, Value};
use vexil::engine::model::AuditEvaluations;
use vexil::engine::time::parse_rfc3339_ms;
use vexil::engine::{bucket, Details, FlagsDocument, Reason, Snapshot, ValueType};

fn example_path(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn example_bytes(name: &str) -> Vec<u8> {
    let path = example_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(name: &str) -> Snapshot {
    Snapshot::from_json(&example_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn now() -> i64 {
    parse_rfc3339_ms("2026-06-01T14:30:00Z").unwrap()
}

fn eval(snap: &Snapshot, flag: &str, ctx: &Value, default: Value) -> Details {
    let ctx = snap.resolve_context(ctx).expect("context is an object");
    let expected = ValueType::of(&default);
    snap.details(flag, &ctx, default, expected, now())
}

#[track_caller]
fn assert_result(
    d: &Details,
    value: Value,
    variant: Option<&str>,
    reason: Reason,
    rule: Option<&str>,
) {
    assert_eq!(d.value, value, "value of {d:?}");
    assert_eq!(d.variant.as_deref(), variant, "variant of {d:?}");
    assert_eq!(d.reason, reason, "reason of {d:?}");
    assert_eq!(d.rule_id.as_deref(), rule, "rule of {d:?}");
}

// =================================================================== finance

const ROUTING: &str = "enhanced-order-routing-v2";
const GROUP_SALT: &str = "routing-2026";

/// An expert institutional trader with the `professional_trader` segment, connected
/// to a v3 market-data gateway: everything the seed's targeting asks for.
fn trader(key: &str) -> Value {
    json!({
        "targetingKey": key,
        "segments": ["professional_trader"],
        "account_tier": "institutional",
        "experience_level": "expert",
        "risk_tolerance": "high",
        "market_data": { "gateway_version": "3.2.0" }
    })
}

fn patch(mut ctx: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        ctx[k] = v.clone();
    }
    ctx
}

/// Accounts in the routing flag's half of the exclusion group, and the 5 % of them the
/// rollout turns on (bucketing is independent of this test's expectations: see
/// `tests/vectors/buckets.json`).
const IN_ROLLOUT: &str = "acct-27";
const OUT_OF_ROLLOUT: &str = "acct-2";
/// An account in `legacy-order-routing`'s half of the group.
const LEGACY_HALF: &str = "acct-1";

#[test]
fn the_chosen_accounts_land_where_the_tests_say() {
    assert_eq!(bucket(GROUP_SALT, IN_ROLLOUT), 35_134); // in [0, 50 000): routing v2's half
    assert_eq!(bucket(ROUTING, IN_ROLLOUT), 1_061); // < 5 000: in the 5 %
    assert_eq!(bucket(GROUP_SALT, OUT_OF_ROLLOUT), 42_150); // routing v2's half
    assert_eq!(bucket(ROUTING, OUT_OF_ROLLOUT), 49_354); // >= 5 000: outside the 5 %
    assert_eq!(bucket(GROUP_SALT, LEGACY_HALF), 86_609); // in [50 000, 100 000): legacy's half
}

#[test]
fn finance_file_loads_with_its_flags() {
    let snap = load("finance-flags.json");
    let keys: Vec<&str> = snap.flags().iter().map(|f| &*f.key).collect();
    assert_eq!(
        keys,
        [
            ROUTING,
            "market-data-v3",
            "legacy-order-routing",
            "trading-kill-switch"
        ]
    );
    for f in snap.flags() {
        assert_eq!(f.value_type, ValueType::Bool, "{}", f.key);
    }
}

#[test]
fn eligible_trader_inside_the_rollout_gets_the_new_router() {
    let snap = load("finance-flags.json");
    let d = eval(&snap, ROUTING, &trader(IN_ROLLOUT), json!(false));
    assert_result(&d, json!(true), Some("on"), Reason::Split, Some("pros"));
    assert_eq!(d.error_code, None);
}

#[test]
fn eligible_trader_outside_the_rollout_does_not() {
    let snap = load("finance-flags.json");
    let d = eval(&snap, ROUTING, &trader(OUT_OF_ROLLOUT), json!(true));
    assert_result(&d, json!(false), Some("off"), Reason::Split, Some("pros"));
}

#[test]
fn the_seeds_alternatives_are_eligible_too() {
    let snap = load("finance-flags.json");
    // Required segments are alternatives: institutional instead of professional_trader.
    let ctx = patch(trader(IN_ROLLOUT), json!({ "segments": ["institutional"] }));
    assert_result(
        &eval(&snap, ROUTING, &ctx, json!(false)),
        json!(true),
        Some("on"),
        Reason::Split,
        Some("pros"),
    );
    // Premium tier, professional experience, risk tolerance not stated.
    let ctx = trader(IN_ROLLOUT);
    let mut ctx = patch(
        ctx,
        json!({ "account_tier": "premium", "experience_level": "professional" }),
    );
    ctx.as_object_mut().unwrap().remove("risk_tolerance");
    assert_result(
        &eval(&snap, ROUTING, &ctx, json!(false)),
        json!(true),
        Some("on"),
        Reason::Split,
        Some("pros"),
    );
}

#[test]
fn about_five_percent_of_eligible_traders_get_it() {
    let snap = load("finance-flags.json");
    let (mut on, mut eligible) = (0u32, 0u32);
    for i in 0..40_000 {
        let key = format!("acct-{i}");
        let d = eval(&snap, ROUTING, &trader(&key), json!(false));
        match d.reason {
            Reason::Excluded => assert!(bucket(GROUP_SALT, &key) >= 50_000),
            Reason::Split => {
                eligible += 1;
                if d.value == json!(true) {
                    on += 1;
                    assert!(bucket(ROUTING, &key) < 5_000);
                }
            }
            other => panic!("{key}: unexpected reason {other}"),
        }
    }
    // Half of the accounts are in routing v2's half of the group…
    assert!((19_000..21_000).contains(&eligible), "{eligible} eligible");
    // …and 5 % of those get the new router.
    let share = f64::from(on) / f64::from(eligible);
    assert!((0.043..0.057).contains(&share), "{share}");
}

#[test]
fn high_risk_accounts_never_get_it() {
    let snap = load("finance-flags.json");
    for i in 0..2_000 {
        let key = format!("acct-{i}");
        if bucket(GROUP_SALT, &key) >= 50_000 {
            continue;
        }
        let ctx = patch(
            trader(&key),
            json!({ "segments": ["professional_trader", "high_risk"] }),
        );
        let d = eval(&snap, ROUTING, &ctx, json!(true));
        assert_result(
            &d,
            json!(false),
            Some("off"),
            Reason::TargetingMatch,
            Some("no-high-risk"),
        );
    }
}

#[test]
fn retail_and_novice_users_fall_through() {
    let snap = load("finance-flags.json");
    let retail = patch(
        trader(IN_ROLLOUT),
        json!({ "segments": [], "account_tier": "retail", "experience_level": "novice" }),
    );
    assert_result(
        &eval(&snap, ROUTING, &retail, json!(true)),
        json!(false),
        Some("off"),
        Reason::Default,
        None,
    );
    // Each of the seed's criteria alone is enough to fall through.
    for change in [
        json!({ "segments": ["retail"] }),
        json!({ "account_tier": "standard" }),
        json!({ "experience_level": "intermediate" }),
        json!({ "risk_tolerance": "low" }),
    ] {
        let ctx = patch(trader(IN_ROLLOUT), change.clone());
        let d = eval(&snap, ROUTING, &ctx, json!(true));
        assert_result(&d, json!(false), Some("off"), Reason::Default, None);
    }
}

#[test]
fn without_market_data_v3_the_prerequisite_fails() {
    let snap = load("finance-flags.json");
    for gateway in [json!("2.9.9"), json!("v3.2.0"), json!(3), Value::Null] {
        let ctx = patch(
            trader(IN_ROLLOUT),
            json!({ "market_data": { "gateway_version": gateway } }),
        );
        assert_result(
            &eval(&snap, "market-data-v3", &ctx, json!(true)),
            json!(false),
            Some("off"),
            Reason::Default,
            None,
        );
        let d = eval(&snap, ROUTING, &ctx, json!(true));
        assert_result(
            &d,
            json!(false),
            Some("off"),
            Reason::PrerequisiteFailed,
            None,
        );
    }
    let d = eval(&snap, "market-data-v3", &trader(IN_ROLLOUT), json!(false));
    assert_result(
        &d,
        json!(true),
        Some("on"),
        Reason::TargetingMatch,
        Some("v3-gateway"),
    );
}

#[test]
fn accounts_outside_the_exclusion_range_are_excluded() {
    let snap = load("finance-flags.json");
    let d = eval(&snap, ROUTING, &trader(LEGACY_HALF), json!(true));
    assert_result(&d, json!(false), Some("off"), Reason::Excluded, None);
    // The other half belongs to the legacy router, and vice versa.
    let d = eval(
        &snap,
        "legacy-order-routing",
        &trader(LEGACY_HALF),
        json!(false),
    );
    assert_result(&d, json!(true), Some("on"), Reason::Default, None);
    let d = eval(
        &snap,
        "legacy-order-routing",
        &trader(IN_ROLLOUT),
        json!(true),
    );
    assert_result(&d, json!(false), Some("off"), Reason::Excluded, None);
    // No targeting key: outside every range.
    let mut ctx = trader(IN_ROLLOUT);
    ctx.as_object_mut().unwrap().remove("targetingKey");
    assert_result(
        &eval(&snap, ROUTING, &ctx, json!(true)),
        json!(false),
        Some("off"),
        Reason::Excluded,
        None,
    );
}

#[test]
fn no_account_runs_both_routers() {
    let snap = load("finance-flags.json");
    let mut legacy = 0;
    for i in 0..5_000 {
        let ctx = trader(&format!("acct-{i}"));
        let v2 = eval(&snap, ROUTING, &ctx, json!(false));
        let old = eval(&snap, "legacy-order-routing", &ctx, json!(false));
        assert!(
            !(v2.value == json!(true) && old.value == json!(true)),
            "acct-{i} runs both"
        );
        // Exactly one of the two flags excludes each account.
        assert_ne!(
            v2.reason == Reason::Excluded,
            old.reason == Reason::Excluded,
            "acct-{i}"
        );
        legacy += usize::from(old.value == json!(true));
    }
    assert!((2_300..2_700).contains(&legacy), "{legacy}");
}

#[test]
fn the_kill_switch_disables_trading_and_the_new_router() {
    let bytes = example_bytes("finance-flags.json");
    let mut doc: FlagsDocument = serde_json::from_slice(&bytes).unwrap();
    let snap = Snapshot::compile(&doc).unwrap();
    let d = eval(
        &snap,
        "trading-kill-switch",
        &trader(IN_ROLLOUT),
        json!(false),
    );
    assert_result(&d, json!(true), Some("on"), Reason::Static, None);

    // Throw the kill switch.
    doc.flags
        .iter_mut()
        .find(|f| f.key == "trading-kill-switch")
        .unwrap()
        .enabled = false;
    let snap = Snapshot::compile(&doc).unwrap();
    let d = eval(
        &snap,
        "trading-kill-switch",
        &trader(IN_ROLLOUT),
        json!(true),
    );
    assert_result(&d, json!(false), Some("off"), Reason::Disabled, None);
    let d = eval(&snap, ROUTING, &trader(IN_ROLLOUT), json!(true));
    assert_result(
        &d,
        json!(false),
        Some("off"),
        Reason::PrerequisiteFailed,
        None,
    );

    // Disabling the routing flag itself.
    doc.flags
        .iter_mut()
        .find(|f| f.key == ROUTING)
        .unwrap()
        .enabled = false;
    let snap = Snapshot::compile(&doc).unwrap();
    let d = eval(&snap, ROUTING, &trader(IN_ROLLOUT), json!(true));
    assert_result(&d, json!(false), Some("off"), Reason::Disabled, None);
}

#[test]
fn finance_metadata_and_descriptive_fields() {
    let snap = load("finance-flags.json");
    let d = eval(&snap, ROUTING, &trader(IN_ROLLOUT), json!(false));
    assert_eq!(d.flag_metadata["compliance"], json!("MiFID_II,Dodd_Frank"));
    assert_eq!(d.flag_metadata["risk"], json!("critical"));
    assert_eq!(d.flag_metadata["rollout_percentage"], json!(5));
    // Descriptive fields the engine ignores stay in the file for the origin.
    let raw: Value = serde_json::from_slice(&example_bytes("finance-flags.json")).unwrap();
    let flag = &raw["flags"][0];
    assert_eq!(flag["key"], json!(ROUTING));
    assert_eq!(flag["compliance"], json!(["MiFID_II", "Dodd_Frank"]));
    assert!(flag["affected_systems"]
        .as_array()
        .unwrap()
        .contains(&json!("order_routing")));
    let doc: FlagsDocument = serde_json::from_slice(&example_bytes("finance-flags.json")).unwrap();
    assert_eq!(doc.flags[0].risk, vexil::engine::model::Risk::Critical);
    assert_eq!(doc.flags[0].prerequisites.len(), 2);
}

#[test]
fn unknown_flag_gives_the_callers_default() {
    let snap = load("finance-flags.json");
    let d = eval(
        &snap,
        "enhanced-order-routing-v3",
        &trader(IN_ROLLOUT),
        json!(true),
    );
    assert_eq!(d.value, json!(true));
    assert_eq!(d.reason, Reason::Error);
    assert_eq!(d.error_code.map(|c| c.as_str()), Some("FLAG_NOT_FOUND"));
}

// =================================================================== healthcare

const ALERTS: &str = "enhanced-clinical-alerts-v2";
const CHANNEL: &str = "clinical-alert-channel";
/// Providers inside and outside the 10 % (bucket by `provider.id`).
const PROVIDER_IN: &str = "provider_10000";
const PROVIDER_OUT: &str = "provider_10001";
/// The seed's own example provider.
const SEED_PROVIDER: &str = "provider_12345";

/// The seed's example evaluation: an authorised physician with PHI access, on the day
/// shift in the ICU, with an intensive-care patient.
fn physician(id: &str) -> Value {
    json!({
        "targetingKey": "session-1",
        "provider": {
            "id": id,
            "authorized": true,
            "phi_access": true,
            "type": "physician",
            "department": "ICU"
        },
        "shift": "day",
        "patient": { "id": "patient_67890", "population": "intensive_care" }
    })
}

fn with_provider(mut ctx: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        ctx["provider"][k] = v.clone();
    }
    ctx
}

#[test]
fn the_chosen_providers_land_where_the_tests_say() {
    assert_eq!(bucket(ALERTS, PROVIDER_IN), 2_325); // < 10 000: in the 10 %
    assert_eq!(bucket(ALERTS, PROVIDER_OUT), 43_709);
    assert_eq!(bucket(ALERTS, SEED_PROVIDER), 51_466);
}

#[test]
fn healthcare_file_loads_with_hipaa_settings() {
    let snap = load("healthcare-flags.json");
    let flag = snap.flag(snap.flag_id(ALERTS).unwrap()).unwrap();
    assert_eq!(flag.audit_evaluations, AuditEvaluations::All);
    assert_eq!(
        flag.private_attributes
            .iter()
            .map(|a| &**a)
            .collect::<Vec<_>>(),
        ["patient"]
    );
    let metadata: Value = serde_json::from_str(&flag.metadata).unwrap();
    assert_eq!(metadata["compliance"], json!("HIPAA"));
    let raw: Value = serde_json::from_slice(&example_bytes("healthcare-flags.json")).unwrap();
    let def = &raw["flags"][0];
    assert_eq!(def["phi"], json!(true));
    assert_eq!(def["clinical_impact"], json!("high"));
    assert_eq!(def["medical_device_integration"], json!(true));
    assert_eq!(def["clinical_oversight_required"], json!(true));
    assert_eq!(def["irb_approval_required"], json!(false));
}

#[test]
fn unauthorised_provider_is_denied() {
    let snap = load("healthcare-flags.json");
    for change in [
        json!({ "authorized": false }),
        json!({ "authorized": "true" }),
        json!({ "authorized": null }),
    ] {
        let ctx = with_provider(physician(PROVIDER_IN), change);
        let d = eval(&snap, ALERTS, &ctx, json!(true));
        assert_result(&d, json!(false), Some("off"), Reason::Denied, None);
    }
}

#[test]
fn provider_without_phi_access_is_denied() {
    let snap = load("healthcare-flags.json");
    let ctx = with_provider(physician(PROVIDER_IN), json!({ "phi_access": false }));
    assert_result(
        &eval(&snap, ALERTS, &ctx, json!(true)),
        json!(false),
        Some("off"),
        Reason::Denied,
        None,
    );
    let mut ctx = physician(PROVIDER_IN);
    ctx["provider"]
        .as_object_mut()
        .unwrap()
        .remove("phi_access");
    assert_result(
        &eval(&snap, ALERTS, &ctx, json!(true)),
        json!(false),
        Some("off"),
        Reason::Denied,
        None,
    );
}

#[test]
fn physician_on_day_shift_in_the_icu_is_rolled_out_by_provider_id() {
    let snap = load("healthcare-flags.json");
    let d = eval(&snap, ALERTS, &physician(PROVIDER_IN), json!(false));
    assert_result(
        &d,
        json!(true),
        Some("on"),
        Reason::Split,
        Some("icu-cardiac"),
    );
    let d = eval(&snap, ALERTS, &physician(PROVIDER_OUT), json!(true));
    assert_result(
        &d,
        json!(false),
        Some("off"),
        Reason::Split,
        Some("icu-cardiac"),
    );
    let d = eval(&snap, ALERTS, &physician(SEED_PROVIDER), json!(true));
    assert_result(
        &d,
        json!(false),
        Some("off"),
        Reason::Split,
        Some("icu-cardiac"),
    );
    // The unit is the provider, not the session: another session, same answer.
    let ctx = patch(
        physician(PROVIDER_IN),
        json!({ "targetingKey": "session-2" }),
    );
    assert_eq!(eval(&snap, ALERTS, &ctx, json!(false)).value, json!(true));
}

#[test]
fn targeted_types_departments_shifts_and_populations() {
    let snap = load("healthcare-flags.json");
    let on = |ctx: &Value| eval(&snap, ALERTS, ctx, json!(false));
    for t in ["physician", "nurse", "clinical_pharmacist"] {
        let d = on(&with_provider(physician(PROVIDER_IN), json!({ "type": t })));
        assert_result(
            &d,
            json!(true),
            Some("on"),
            Reason::Split,
            Some("icu-cardiac"),
        );
    }
    for dept in ["cardiology", "icu", "Cardiac_ICU", "emergency"] {
        let d = on(&with_provider(
            physician(PROVIDER_IN),
            json!({ "department": dept }),
        ));
        assert_result(
            &d,
            json!(true),
            Some("on"),
            Reason::Split,
            Some("icu-cardiac"),
        );
    }
    let d = on(&patch(
        physician(PROVIDER_IN),
        json!({ "shift": "evening" }),
    ));
    assert_eq!(d.reason, Reason::Split);
    // A patient in several populations, one of them targeted (the seed's "any condition").
    let ctx = patch(
        physician(PROVIDER_IN),
        json!({ "patient": { "population": ["diabetes", "cardiac_care"] } }),
    );
    assert_result(
        &on(&ctx),
        json!(true),
        Some("on"),
        Reason::Split,
        Some("icu-cardiac"),
    );

    // Outside the targeting: the fallthrough.
    for ctx in [
        with_provider(physician(PROVIDER_IN), json!({ "type": "administrator" })),
        with_provider(
            physician(PROVIDER_IN),
            json!({ "department": "dermatology" }),
        ),
        patch(
            physician(PROVIDER_IN),
            json!({ "patient": { "population": "outpatient" } }),
        ),
        patch(physician(PROVIDER_IN), json!({ "patient": null })),
    ] {
        assert_result(&on(&ctx), json!(false), Some("off"), Reason::Default, None);
    }
}

#[test]
fn night_shift_falls_through() {
    let snap = load("healthcare-flags.json");
    let ctx = patch(physician(PROVIDER_IN), json!({ "shift": "night" }));
    let d = eval(&snap, ALERTS, &ctx, json!(true));
    assert_result(&d, json!(false), Some("off"), Reason::Default, None);
}

#[test]
fn missing_provider_id_gives_the_callers_default() {
    let snap = load("healthcare-flags.json");
    for default in [json!(true), json!(false)] {
        let mut ctx = physician(PROVIDER_IN);
        ctx["provider"].as_object_mut().unwrap().remove("id");
        let d = eval(&snap, ALERTS, &ctx, default.clone());
        assert_eq!(d.value, default);
        assert_eq!(d.variant, None);
        assert_eq!(d.reason, Reason::Error);
        assert_eq!(
            d.error_code.map(|c| c.as_str()),
            Some("TARGETING_KEY_MISSING")
        );
        assert!(
            d.error_message.as_deref().unwrap().contains("provider.id"),
            "{d:?}"
        );
    }
}

#[test]
fn about_ten_percent_of_eligible_providers_get_it() {
    let snap = load("healthcare-flags.json");
    let on = (0..20_000)
        .filter(|i| {
            let d = eval(
                &snap,
                ALERTS,
                &physician(&format!("provider_{i}")),
                json!(false),
            );
            assert_eq!(d.reason, Reason::Split);
            d.value == json!(true)
        })
        .count();
    assert!((1_850..2_150).contains(&on), "{on} of 20000");
}

#[test]
fn alert_channel_follows_the_alerts_flag() {
    let snap = load("healthcare-flags.json");
    // Providers without enhanced alerts keep the pager.
    let d = eval(&snap, CHANNEL, &physician(PROVIDER_OUT), json!("sms"));
    assert_result(
        &d,
        json!("pager"),
        Some("pager"),
        Reason::PrerequisiteFailed,
        None,
    );
    // Pharmacists get the EHR inbox.
    let ctx = with_provider(
        physician(PROVIDER_IN),
        json!({ "type": "clinical_pharmacist" }),
    );
    let d = eval(&snap, CHANNEL, &ctx, json!("sms"));
    assert_result(
        &d,
        json!("ehr_inbox"),
        Some("ehr-inbox"),
        Reason::TargetingMatch,
        Some("pharmacists-inbox"),
    );
    // Others are split between secure chat and the pager by provider.
    let d = eval(&snap, CHANNEL, &physician(PROVIDER_IN), json!("sms"));
    let expected = if bucket(CHANNEL, PROVIDER_IN) < 50_000 {
        "secure_chat"
    } else {
        "pager"
    };
    assert_eq!(d.reason, Reason::Split);
    assert_eq!(d.value, json!(expected));
    // Asked for a boolean, it is a type mismatch.
    let d = eval(&snap, CHANNEL, &physician(PROVIDER_IN), json!(false));
    assert_eq!(d.error_code.map(|c| c.as_str()), Some("TYPE_MISMATCH"));
    assert_eq!(d.value, json!(false));
}

// =================================================================== flags.yaml

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
