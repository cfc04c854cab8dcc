//! The healthcare example (`examples/healthcare-flags.json`): the seed's clinical alerts.

use super::*;

const ALERTS: &str = "enhanced-clinical-alerts-v2";
const CHANNEL: &str = "clinical-alert-channel";
/// Providers inside and outside the 10 % (bucket by `provider.id`).
pub(super) const PROVIDER_IN: &str = "provider_10000";
const PROVIDER_OUT: &str = "provider_10001";
/// The seed's own example provider.
const SEED_PROVIDER: &str = "provider_12345";

/// The seed's example evaluation: an authorised physician with PHI access, on the day
/// shift in the ICU, with an intensive-care patient.
pub(super) fn physician(id: &str) -> Value {
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
