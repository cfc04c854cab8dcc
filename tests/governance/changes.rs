//! A change needs the approvals of the stricter of the current and proposed versions.

use super::*;

#[test]
fn a_change_needs_the_approvals_of_the_stricter_version() {
    let critical = with(json!({"risk": "critical", "medical_device_integration": true}));
    let low = base();
    let a = change(&critical, &low, Change::Update);
    assert!(a.allowed(), "{:?}", a.violations);
    assert_eq!(
        roles(&a),
        [
            "CLINICAL_ENGINEERING",
            "PRODUCT_OWNER",
            "SECURITY",
            "TECH_LEAD"
        ]
    );
    assert!(a
        .approvals
        .iter()
        .all(|r| r.triggered_by == TriggeredBy::Current));
    let tech = a.approvals.iter().find(|r| r.role == "TECH_LEAD").unwrap();
    assert_eq!(
        tech.note.as_deref(),
        Some(r#"lowered: risk "critical" → "low", medical_device_integration true → unset"#)
    );
    let device = a
        .approvals
        .iter()
        .find(|r| r.role == "CLINICAL_ENGINEERING")
        .unwrap();
    assert_eq!(
        device.note.as_deref(),
        Some("lowered: medical_device_integration true → unset")
    );

    // Raising: the proposed version's; unchanged: both.
    let raised = change(&low, &critical, Change::Update);
    assert!(raised
        .approvals
        .iter()
        .all(|r| r.triggered_by == TriggeredBy::Proposed && r.note.is_none()));
    let same = change(&critical, &critical, Change::Enable);
    assert!(same
        .approvals
        .iter()
        .all(|r| r.triggered_by == TriggeredBy::Both));
    // A new flag has no current version.
    let new = assess_change(
        None,
        &low,
        &BTreeMap::new(),
        Change::Create,
        now(),
        &GovernanceConfig::default(),
    );
    assert!(new.approvals.is_empty());
    // The kill switch never waits, whatever it replaces.
    assert!(change(&critical, &critical, Change::Disable)
        .approvals
        .is_empty());
}

#[test]
fn dropping_hipaa_keeps_the_oversight_level_and_approvals_of_the_current_version() {
    let (flags, _) = example("healthcare-flags.json");
    let current = flag(&flags, "enhanced-clinical-alerts-v2").clone();
    let mut stripped = current.clone();
    for field in [
        "compliance",
        "phi",
        "audit_evaluations",
        "access",
        "clinical_impact",
        "medical_device_integration",
        "risk",
    ] {
        stripped.as_object_mut().unwrap().remove(field);
    }
    stripped["expires_at"] = json!("2027-03-01T00:00:00Z");
    let a = change(&current, &stripped, Change::Update);
    assert!(a.allowed(), "{:?}", a.violations);
    assert_eq!(
        roles(&a),
        [
            "CLINICAL_ENGINEERING",
            "CLINICAL_OVERSIGHT",
            "PRODUCT_OWNER"
        ]
    );
    assert_eq!(a.oversight_level, Some(2));
    // Violations are the proposed version's: the current one's PHI rules do not
    // apply to a flag that no longer touches PHI.
    let mut phi = current.clone();
    phi["audit_evaluations"] = json!("denied");
    phi["expires_at"] = json!("2027-03-01T00:00:00Z");
    assert!(change(&phi, &stripped, Change::Update).allowed());
    assert_eq!(
        policies(&change(&stripped, &phi, Change::Update)),
        ["hipaa-evaluation-audit"].into()
    );
}

#[test]
fn dropping_mifid2_during_trading_hours_is_frozen_too() {
    let config = GovernanceConfig {
        trading_hours: Some(TradingHours {
            weekdays: vec![1, 2, 3, 4, 5],
            open_minute: 8 * 60,
            close_minute: 16 * 60 + 30,
        }),
        ..GovernanceConfig::default()
    };
    let mifid = with(json!({"compliance": ["MiFID_II"]}));
    let plain = base();
    let a = assess_change(
        Some(&mifid),
        &plain,
        &BTreeMap::new(),
        Change::Update,
        now(),
        &config,
    );
    assert_eq!(policies(&a), ["mifid2-trading-hours-freeze"].into());
    let both = assess_change(
        Some(&mifid),
        &mifid,
        &BTreeMap::new(),
        Change::Update,
        now(),
        &config,
    );
    assert_eq!(
        both.violations.len(),
        1,
        "reported once: {:?}",
        both.violations
    );
    let kill = assess_change(
        Some(&mifid),
        &plain,
        &BTreeMap::new(),
        Change::Disable,
        now(),
        &config,
    );
    assert!(kill.allowed());
}
