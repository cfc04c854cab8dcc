//! The healthcare descriptive fields against what the rules target.

use super::*;

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
