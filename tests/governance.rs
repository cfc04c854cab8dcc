//! Governance policies: the seed's approval and compliance rules.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use vexil::engine::model::{Clause, Risk};
use vexil::engine::time::parse_rfc3339_ms;
use vexil::origin::governance::{
    assess, assess_change, oversight_level, Change, GovernanceConfig, TradingHours, TriggeredBy,
    POLICIES,
};

/// A Tuesday, 10:00 UTC.
const NOW: &str = "2026-11-24T10:00:00Z";

fn now() -> i64 {
    parse_rfc3339_ms(NOW).unwrap()
}

fn example(file: &str) -> (Vec<Value>, BTreeMap<String, Clause>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(file);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let segments = serde_json::from_value(doc["segments"].clone()).unwrap_or_default();
    (doc["flags"].as_array().unwrap().clone(), segments)
}

fn flag<'a>(flags: &'a [Value], key: &str) -> &'a Value {
    flags.iter().find(|f| f["key"] == key).unwrap()
}

fn roles(a: &vexil::origin::governance::Assessment) -> Vec<&'static str> {
    a.roles().into_iter().collect()
}

fn policies(a: &vexil::origin::governance::Assessment) -> BTreeSet<&'static str> {
    a.violations.iter().map(|v| v.policy).collect()
}

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

fn base() -> Value {
    json!({"key": "new-checkout", "risk": "low", "expires_at": "2027-03-01T00:00:00Z",
           "variants": {"on": true, "off": false}, "off_variant": "off", "fallthrough": {"variant": "off"}})
}

fn with(changes: Value) -> Value {
    let mut flag = base();
    for (k, v) in changes.as_object().unwrap() {
        flag[k] = v.clone();
    }
    flag
}

fn check(flag: &Value) -> vexil::origin::governance::Assessment {
    assess(
        flag,
        &BTreeMap::new(),
        Change::Update,
        now(),
        &GovernanceConfig::default(),
    )
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

fn change(
    current: &Value,
    proposed: &Value,
    kind: Change,
) -> vexil::origin::governance::Assessment {
    assess_change(
        Some(current),
        proposed,
        &BTreeMap::new(),
        kind,
        now(),
        &GovernanceConfig::default(),
    )
}

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

#[test]
fn declared_risk_is_raised_to_what_the_flag_touches() {
    // A MiFID II order-routing flag declared low needs the critical-risk approvals.
    let routing = with(json!({
        "risk": "low", "compliance": ["MiFID_II"], "affected_systems": ["order_routing", "market_data"]
    }));
    let a = check(&routing);
    assert!(a.allowed(), "{:?}", a.violations);
    assert_eq!(
        roles(&a),
        ["COMPLIANCE", "PRODUCT_OWNER", "SECURITY", "TECH_LEAD"]
    );
    let risk = a.risk.as_ref().expect("a raised risk is reported");
    assert_eq!(
        (risk.declared, risk.derived, risk.effective),
        (Risk::Low, Risk::Critical, Risk::Critical)
    );
    assert_eq!(
        risk.reasons[0].because,
        "MiFID_II flag affecting order_routing"
    );
    let tech = a.approvals.iter().find(|r| r.role == "TECH_LEAD").unwrap();
    assert_eq!(
        tech.note.as_deref(),
        Some("risk derived critical, declared low: MiFID_II flag affecting order_routing")
    );

    // Other trading systems: high; a financial pack alone, or HIPAA: medium.
    let data = check(&with(
        json!({"compliance": ["Dodd_Frank"], "affected_systems": ["market_data"],
                                   "record_retention_days": 2555}),
    ));
    assert_eq!(data.risk.as_ref().unwrap().derived, Risk::High);
    assert!(roles(&data).contains(&"PRODUCT_OWNER"));
    let hipaa = check(&with(json!({"compliance": ["HIPAA"]})));
    assert_eq!(hipaa.risk.as_ref().unwrap().derived, Risk::Medium);
    assert!(roles(&hipaa).is_empty());
    // PHI: high.
    let phi = check(&with(
        json!({"phi": true, "audit_evaluations": "all", "private_attributes": ["patient"]}),
    ));
    assert_eq!(phi.risk.as_ref().unwrap().derived, Risk::High);

    // Declared at or above the derived risk: nothing to report.
    let declared = check(&with(json!({
        "risk": "critical", "compliance": ["MiFID_II"], "affected_systems": ["order_routing"]
    })));
    assert!(declared.risk.is_none());
    assert!(declared.approvals.iter().all(|r| r.note.is_none()));
}

#[test]
fn dropping_what_derives_the_risk_needs_the_current_versions_approvals() {
    let current = with(json!({
        "risk": "low", "compliance": ["MiFID_II"], "affected_systems": ["order_routing"]
    }));
    let proposed = base();
    let a = change(&current, &proposed, Change::Update);
    assert_eq!(
        roles(&a),
        ["COMPLIANCE", "PRODUCT_OWNER", "SECURITY", "TECH_LEAD"]
    );
    let tech = a.approvals.iter().find(|r| r.role == "TECH_LEAD").unwrap();
    assert_eq!(tech.triggered_by, TriggeredBy::Current);
    let note = tech.note.as_deref().unwrap();
    assert!(
        note.contains("compliance") && note.contains("affected_systems"),
        "{note}"
    );
    assert_eq!(a.risk.as_ref().unwrap().effective, Risk::Critical);
}

#[test]
fn healthcare_fields_are_checked_against_what_the_rules_target() {
    let (flags, segments) = example("healthcare-flags.json");
    let alerts = flag(&flags, "enhanced-clinical-alerts-v2").clone();
    let assess_with = |f: &Value, segs: &BTreeMap<String, Clause>| {
        assess(f, segs, Change::Create, now(), &GovernanceConfig::default())
    };
    let declared = |a: &vexil::origin::governance::Assessment| -> Vec<String> {
        a.violations
            .iter()
            .filter(|v| v.policy == "hipaa-declared-targeting")
            .map(|v| v.message.clone())
            .collect()
    };
    assert!(declared(&assess_with(&alerts, &segments)).is_empty());

    // A rule serving a provider type the flag does not list.
    let mut wider = alerts.clone();
    wider["provider_types_targeted"] = json!(["physician", "nurse"]);
    assert_eq!(
        declared(&assess_with(&wider, &segments)),
        ["the rules target provider.type not listed in `provider_types_targeted`: clinical_pharmacist (rule `icu-cardiac`)"]
    );
    // Through a segment, and for patient populations.
    let mut segs = segments.clone();
    segs.insert(
        "paediatrics".into(),
        serde_json::from_value(
            json!({"attr": "patient.population", "op": "eq", "values": ["paediatric_icu"]}),
        )
        .unwrap(),
    );
    let mut more = alerts.clone();
    more["rules"][0]["when"]["all"]
        .as_array_mut()
        .unwrap()
        .push(json!({"any": [{"segment": "paediatrics"}, {"not": {"attr": "provider.type", "op": "eq", "values": ["surgeon"]}}]}));
    assert_eq!(
        declared(&assess_with(&more, &segs)),
        ["the rules target patient.population not listed in `patient_populations_affected`: paediatric_icu (rule `icu-cardiac`)"],
        "a negated test targets nobody"
    );
    // A HIPAA flag that lists nothing but targets provider types.
    let mut silent = alerts.clone();
    silent
        .as_object_mut()
        .unwrap()
        .remove("provider_types_targeted");
    assert_eq!(declared(&assess_with(&silent, &segments)).len(), 1);

    // The fields themselves.
    let mut bad = alerts.clone();
    bad["healthcare_strategy"] = json!("move_fast");
    bad["patient_populations_affected"] = json!(["intensive_care", "intensive_care"]);
    let messages = declared(&assess_with(&bad, &segments));
    assert!(
        messages[0].starts_with(
            "`healthcare_strategy` \"move_fast\" is not one of patient_safety_priority"
        ),
        "{messages:?}"
    );
    assert_eq!(
        messages[1],
        "`patient_populations_affected` lists `intensive_care` twice"
    );
    let mut bad = alerts.clone();
    bad["provider_types_targeted"] = json!("physician");
    assert_eq!(
        declared(&assess_with(&bad, &segments)),
        [r#"`provider_types_targeted` is a list of non-empty names, not "physician""#]
    );

    // Not a healthcare flag and no lists: nothing to check.
    let plain = with(
        json!({"rules": [{"id": "docs", "when": {"attr": "provider.type", "op": "in", "values": ["physician"]}, "serve": {"variant": "on"}}]}),
    );
    assert!(declared(&check(&plain)).is_empty());
}
