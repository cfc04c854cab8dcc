//! Each pack's rules on one version of a flag, and the examples' approvals.

use super::*;

#[test]
fn the_finance_example_needs_the_seeds_approvals() {
    let (flags, segments) = example("finance-flags.json");
    let a = assess(
        flag(&flags, "enhanced-order-routing-v2"),
        &segments,
        Change::Create,
        now(),
        &GovernanceConfig::default(),
    );
    assert!(a.allowed(), "{:?}", a.violations);
    // Critical risk, MiFID II best execution on order routing, market-abuse review.
    assert_eq!(
        roles(&a),
        ["COMPLIANCE", "PRODUCT_OWNER", "SECURITY", "TECH_LEAD"]
    );
    let by_policy: BTreeSet<_> = a.approvals.iter().map(|r| r.policy).collect();
    assert!(
        by_policy.contains("mifid2-best-execution") && by_policy.contains("market-abuse-review")
    );
    assert_eq!(a.oversight_level, None);

    let a = assess(
        flag(&flags, "market-data-v3"),
        &segments,
        Change::Update,
        now(),
        &GovernanceConfig::default(),
    );
    assert_eq!(
        roles(&a),
        ["COMPLIANCE", "PRODUCT_OWNER"],
        "high risk, market data is a trading system"
    );
}

#[test]
fn the_healthcare_example_needs_clinical_oversight_and_engineering() {
    let (flags, segments) = example("healthcare-flags.json");
    let a = assess(
        flag(&flags, "enhanced-clinical-alerts-v2"),
        &segments,
        Change::Create,
        now(),
        &GovernanceConfig::default(),
    );
    assert!(a.allowed(), "{:?}", a.violations);
    assert_eq!(
        roles(&a),
        [
            "CLINICAL_ENGINEERING",
            "CLINICAL_OVERSIGHT",
            "PRODUCT_OWNER"
        ]
    );
    assert_eq!(
        a.oversight_level,
        Some(2),
        "high clinical impact: LEVEL_2_PERIODIC"
    );
}

#[test]
fn oversight_levels_follow_the_seed() {
    for (impact, level) in [
        ("critical_impact", 3),
        ("high", 2),
        ("medium_impact", 1),
        ("low_impact", 0),
        ("no_impact", 0),
    ] {
        assert_eq!(oversight_level(Some(impact)), level, "{impact}");
    }
    assert_eq!(oversight_level(None), 0);
}

#[test]
fn a_low_risk_flag_needs_nothing() {
    let a = check(&base());
    assert!(a.allowed() && a.approvals.is_empty(), "{a:?}");
}

#[test]
fn naming_and_expiry() {
    let a = check(&with(json!({"key": "New_Checkout"})));
    assert_eq!(policies(&a), ["naming-convention"].into());
    assert!(a.violations[0].message.contains("`New_Checkout`"));

    let mut flag = base();
    flag.as_object_mut().unwrap().remove("expires_at");
    assert_eq!(policies(&check(&flag)), ["expiry-required"].into());
    let mut ops = with(json!({"kind": "ops"}));
    ops.as_object_mut().unwrap().remove("expires_at");
    assert!(check(&ops).allowed(), "operational toggles need no expiry");
    let a = check(&with(json!({"expires_at": "2026-01-01T00:00:00Z"})));
    assert!(a.violations[0].message.contains("in the past"));
}

#[test]
fn mifid2_trading_hours_freeze_spares_the_kill_switch() {
    let config = GovernanceConfig {
        trading_hours: Some(TradingHours {
            weekdays: vec![1, 2, 3, 4, 5],
            open_minute: 8 * 60,
            close_minute: 16 * 60 + 30,
        }),
        ..GovernanceConfig::default()
    };
    let flag = with(json!({"compliance": ["MiFID_II"]}));
    let a = assess(&flag, &BTreeMap::new(), Change::Update, now(), &config);
    assert_eq!(policies(&a), ["mifid2-trading-hours-freeze"].into());
    assert!(
        a.violations[0].message.contains("08:00-16:30 UTC"),
        "{}",
        a.violations[0].message
    );
    let kill = assess(&flag, &BTreeMap::new(), Change::Disable, now(), &config);
    assert!(kill.allowed() && kill.approvals.is_empty());
    let evening = parse_rfc3339_ms("2026-11-24T18:00:00Z").unwrap();
    assert!(assess(&flag, &BTreeMap::new(), Change::Update, evening, &config).allowed());
    let saturday = parse_rfc3339_ms("2026-11-28T10:00:00Z").unwrap();
    assert!(assess(&flag, &BTreeMap::new(), Change::Update, saturday, &config).allowed());
}

#[test]
fn dodd_frank_needs_audit_and_retention() {
    let a = check(&with(json!({"compliance": ["Dodd_Frank"]})));
    assert_eq!(policies(&a), ["dodd-frank-audit-retention"].into());
    let a = check(&with(
        json!({"compliance": ["Dodd_Frank"], "record_retention_days": 365, "audit_trail_enabled": false}),
    ));
    assert_eq!(a.violations.len(), 2, "{:?}", a.violations);
    assert!(check(&with(
        json!({"compliance": ["Dodd_Frank"], "record_retention_days": 2555})
    ))
    .allowed());
}

#[test]
fn market_abuse_pack_needs_compliance() {
    assert_eq!(
        roles(&check(&with(json!({"compliance": ["MARKET_ABUSE"]})))),
        ["COMPLIANCE"]
    );
}

#[test]
fn hipaa_phi_flags() {
    let phi = with(json!({
        "compliance": ["HIPAA"], "phi": true, "clinical_impact": "critical_impact",
        "rules": [{"id": "r", "when": {"all": [{"attr": "patient.ward", "op": "eq", "values": ["icu"]},
                                                {"attr": "provider.ssn", "op": "exists"}]},
                   "serve": {"variant": "on"}}]
    }));
    let a = check(&phi);
    assert_eq!(
        policies(&a),
        [
            "continuous-oversight-on-call",
            "hipaa-evaluation-audit",
            "hipaa-minimum-necessary",
            "hipaa-private-attributes"
        ]
        .into()
    );
    let minimum = a
        .violations
        .iter()
        .find(|v| v.policy == "hipaa-minimum-necessary")
        .unwrap();
    assert!(
        minimum.message.contains("patient.ward") && minimum.message.contains("provider.ssn"),
        "{}",
        minimum.message
    );
    assert_eq!(a.oversight_level, Some(3));
    // Critical clinical impact derives a critical risk, whatever `risk` says.
    assert_eq!(
        roles(&a),
        [
            "CLINICAL_OVERSIGHT",
            "PRODUCT_OWNER",
            "SECURITY",
            "TECH_LEAD"
        ]
    );

    let mut fixed = phi.clone();
    fixed["audit_evaluations"] = json!("all");
    fixed["private_attributes"] = json!(["patient"]);
    fixed["attributes"] = json!(["provider.ssn"]);
    // Continuous oversight names who is on call: distinct, non-empty names.
    for bad in [
        json!([]),
        json!(["dr-oz", "dr-oz"]),
        json!(["dr-oz", " "]),
        json!(["dr-oz", 7]),
    ] {
        fixed["on_call"] = bad.clone();
        assert_eq!(
            policies(&check(&fixed)),
            ["continuous-oversight-on-call"].into(),
            "{bad}"
        );
    }
    fixed["on_call"] = json!(["dr-oz", "dr-who"]);
    let a = check(&fixed);
    assert!(a.allowed(), "{:?}", a.violations);
    // Only they give the clinical oversight approval.
    let oversight = a
        .approvals
        .iter()
        .find(|r| r.role == "CLINICAL_OVERSIGHT")
        .unwrap();
    assert_eq!(oversight.policy, "continuous-oversight-on-call");
    assert_eq!(oversight.approvers, ["dr-oz", "dr-who"]);
    // Periodic oversight (level 2) names nobody: anyone holding the role approves.
    fixed["clinical_impact"] = json!("high");
    fixed.as_object_mut().unwrap().remove("on_call");
    let a = check(&fixed);
    assert!(a.allowed(), "{:?}", a.violations);
    assert!(a.approvals.iter().all(|r| r.approvers.is_empty()));
}

#[test]
fn device_and_irb_approvals() {
    let a = check(&with(
        json!({"medical_device_integration": true, "irb_approval_required": true}),
    ));
    // Device integration also derives a high risk: the product owner approves too.
    assert_eq!(roles(&a), ["CLINICAL_ENGINEERING", "IRB", "PRODUCT_OWNER"]);
}

#[test]
fn a_document_that_is_not_a_flag_is_refused() {
    let a = check(&json!({"key": "x"}));
    assert_eq!(policies(&a), ["flag-document"].into());
}

#[test]
fn every_reported_policy_is_listed() {
    let listed: BTreeSet<_> = POLICIES.iter().map(|p| p.id).collect();
    let (flags, segments) = example("finance-flags.json");
    let mut seen = BTreeSet::new();
    for f in &flags {
        let a = assess(
            f,
            &segments,
            Change::Create,
            now(),
            &GovernanceConfig::default(),
        );
        seen.extend(a.approvals.iter().map(|r| r.policy));
        seen.extend(a.violations.iter().map(|v| v.policy));
    }
    assert!(seen.is_subset(&listed), "{seen:?}");
}
