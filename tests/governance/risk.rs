//! Declared risk is raised to what the flag touches.

use super::*;

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
