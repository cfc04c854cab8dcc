//! One flag's insights report through the API and `vexil flag insights`: edge
//! metrics posted as batches become performance, adoption and business impact per
//! variant against the control, with the lifecycle and the recommendations.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::json;
use support::*;

const FLAGS: &str = "/api/v1/environments/production/flags";

#[test]
fn a_flags_insights_report_performance_adoption_impact_lifecycle_and_advice() {
    let (data, admin) = DataDir::init("flag-insights");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    split_flag_with_metrics(&s, &editor, &sdk, "checkout");

    let r = s
        .get(&format!("{FLAGS}/checkout/insights?days=7"), &editor)
        .expect(200)
        .json;
    assert_eq!(r["performance"]["evaluations"], 400, "{r}");
    assert_eq!(r["performance"]["evaluations_per_day"], 57.0);
    let on = &r["adoption"]["by_variant"]["on"];
    assert_eq!(on["share_percent"], 75.0, "{r}");
    let units = r["adoption"]["unique_units"].as_f64().unwrap();
    assert!((380.0..=400.0).contains(&units), "{units}");
    let impact = &r["business_impact"];
    assert_eq!(impact["control"], "off");
    let placed = &impact["events"]["order.placed"];
    assert_eq!(placed["on"]["value_mean"], 12.0, "{impact}");
    assert_eq!(placed["on"]["vs_control"]["value_mean"], 2.0, "{impact}");
    // 27 of 30 against 8 of 10.
    assert_eq!(placed["on"]["vs_control"]["success_rate"], 10.0, "{impact}");
    assert!(
        placed["off"].get("vs_control").is_none(),
        "the control is not compared with itself"
    );
    let life = &r["lifecycle"];
    assert_eq!(
        (life["state"].as_str(), life["revision"].as_i64()),
        (Some("active"), Some(1))
    );
    assert_eq!(life["last_changed_by"], "eve");
    assert!(
        life["expires_in_days"]
            .as_i64()
            .is_some_and(|d| (28..=30).contains(&d)),
        "{life}"
    );
    assert!(r["recommendations"].as_array().unwrap().is_empty(), "{r}");

    // An expired flag gets advice, with its reason.
    let mut old = simple_flag("old-banner");
    old["expires_at"] = json!(vexil::engine::time::format_rfc3339_ms(now_ms() + 1000));
    s.post(FLAGS, &editor, json!({ "flag": old })).expect(201);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = s
        .get(&format!("{FLAGS}/old-banner/insights"), &editor)
        .expect(200)
        .json;
    assert_eq!(r["days"], 7);
    assert_eq!(r["lifecycle"]["state"], "expired");
    let advice = &r["recommendations"][0];
    assert_eq!(advice["kind"], "expired", "{r}");
    assert!(
        advice["reason"].as_str().unwrap().contains("expired"),
        "{advice}"
    );

    // Bad windows and unknown flags are refused, saying why.
    let bad = s
        .get(&format!("{FLAGS}/checkout/insights?days=0"), &editor)
        .expect(400);
    assert!(bad.text.contains("1 to 90"), "{}", bad.text);
    s.get(&format!("{FLAGS}/nope/insights"), &editor)
        .expect(404);

    // The CLI prints each part.
    let out = vexil_as(
        &s,
        &editor,
        &[
            "flag",
            "insights",
            "checkout",
            "--env",
            "production",
            "--days",
            "7",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for part in [
        "performance: 400 evaluations",
        "  on: 300 evaluations (75 %)",
        "business impact: order.placed (control off)",
        "vs control: value 2",
        "lifecycle: active",
        "recommendations: none",
    ] {
        assert!(stdout.contains(part), "{part} missing from:\n{stdout}");
    }
}
