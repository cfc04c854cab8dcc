//! The finance example (`examples/finance-flags.json`): the seed's order-routing flag.

use super::*;

const ROUTING: &str = "enhanced-order-routing-v2";
const GROUP_SALT: &str = "routing-2026";

/// An expert institutional trader with the `professional_trader` segment, connected
/// to a v3 market-data gateway: everything the seed's targeting asks for.
pub(super) fn trader(key: &str) -> Value {
    json!({
        "targetingKey": key,
        "segments": ["professional_trader"],
        "account_tier": "institutional",
        "experience_level": "expert",
        "risk_tolerance": "high",
        "market_data": { "gateway_version": "3.2.0" }
    })
}

/// Accounts in the routing flag's half of the exclusion group, and the 5 % of them the
/// rollout turns on (bucketing is independent of this test's expectations: see
/// `tests/vectors/buckets.json`).
pub(super) const IN_ROLLOUT: &str = "acct-27";
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
