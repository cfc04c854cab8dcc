//! Metrics batches: ingested once, reported per flag, and audited for HIPAA flags.

use super::*;

#[test]
fn metrics_are_ingested_once_reported_per_flag_and_audited_for_hipaa() {
    let (data, admin, mut clock) = setup("metrics");
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let staging_sdk = s.sdk_key(&admin, "staging");
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("banner") }))
        .expect(201);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("quiet-flag") }))
        .expect(201);

    let mut b = batch("m1", clock.now(), "banner", "on", (300, 100, 2, 50.0));
    b["audit"] = json!([{ "flag": "banner", "variant": "on", "reason": "SPLIT", "unit": "0123456789abcdef0123456789abcdef", "at_ms": clock.now() },
                        { "flag": "banner", "reason": "DENIED", "at_ms": clock.now() }]);
    let r = s.post("/api/v1/metrics", &sdk, b.clone()).expect(200).json;
    assert_eq!(
        (r["accepted"].as_bool(), r["audit_events"].as_u64()),
        (Some(true), Some(2))
    );
    // A retried batch is acknowledged and not counted twice.
    assert_eq!(
        s.post("/api/v1/metrics", &sdk, b.clone()).expect(200).json["duplicate"],
        true
    );
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("m2", clock.now(), "banner", "off", (100, 50, 0, 10.0)),
    )
    .expect(200);
    // Another environment's key, a token without the SDK role, bad batches.
    s.post(
        "/api/v1/metrics",
        &staging_sdk,
        batch("m3", clock.now(), "banner", "on", (1, 0, 0, 1.0)),
    )
    .expect(403);
    s.post(
        "/api/v1/metrics",
        &editor,
        batch("m4", clock.now(), "banner", "on", (1, 0, 0, 1.0)),
    )
    .expect(403);
    let mut wrong = batch("m5", clock.now(), "banner", "on", (1, 0, 0, 1.0));
    wrong["schema"] = json!(9);
    let r = s.post("/api/v1/metrics", &sdk, wrong).expect(400);
    assert!(r.text.contains("schema"), "{}", r.text);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch(
            "m6",
            clock.now() + 3_600_000,
            "banner",
            "on",
            (1, 0, 0, 1.0),
        ),
    )
    .expect(422);

    let m = s
        .get("/api/v1/flags/banner/metrics?env=production", &editor)
        .expect(200)
        .json;
    assert_eq!(m["total_evaluations"], 400);
    assert_eq!(m["variants"]["on"]["count"], 300);
    assert_eq!(m["success_rate"], 98.667);
    assert_eq!(m["outcomes"]["request"]["on"]["failure"], 2);
    assert_eq!(m["geography"]["DE"], 400);
    let units = m["unique_units"].as_f64().unwrap();
    assert!(
        (280.0..=320.0).contains(&units),
        "about 300 distinct units: {units}"
    );
    s.get("/api/v1/flags/banner/metrics", &editor).expect(400);
    s.get(
        "/api/v1/flags/banner/metrics?env=production&from=yesterday",
        &editor,
    )
    .expect(400);
    s.get("/api/v1/flags/banner/metrics?env=production", &sdk)
        .expect(403);

    // The seed's analytics recommendations from the same figures.
    let insights = s
        .get("/api/v1/insights?environment=production", &editor)
        .expect(200)
        .json;
    let kinds: Vec<(String, String)> = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["flag"].as_str().unwrap().to_string(),
                i["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("banner".into(), "variant_errors".into())),
        "{kinds:?}"
    );
    assert!(
        !kinds.iter().any(|(_, k)| k == "no_evaluations"),
        "new flags are not stale: {kinds:?}"
    );

    // HIPAA evaluation audit events are in the audit log, pseudonymised.
    let audit = s
        .get(
            "/api/v1/audit?flag=banner&action=evaluation.audited",
            &editor,
        )
        .json;
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor"], "edge:edge-production");
    assert_eq!(entry["details"]["unit"], "0123456789abcdef0123456789abcdef");
    assert_eq!(
        s.get("/api/v1/audit?action=evaluation.denied", &editor)
            .json["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The audit report and the CLI read the same figures.
    let report = s.get(&format!("{FLAGS}/banner/audit-report"), &editor).json;
    assert_eq!(report["audit_summary"]["total_evaluations"], 400);
    let out = vexil_as(
        &s,
        &editor,
        &["flag", "metrics", "banner", "--env", "production"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("evaluations        400") && text.contains("DE 400"),
        "{text}"
    );
    // Two weeks later, only `banner` is still evaluated.
    clock.advance(15 * 86_400_000);
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch("m7", clock.now(), "banner", "on", (10, 0, 0, 5.0)),
    )
    .expect(200);
    let insights = s
        .get("/api/v1/insights?environment=production", &editor)
        .expect(200)
        .json;
    let stale: Vec<&str> = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "no_evaluations")
        .map(|i| i["flag"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["quiet-flag"], "{insights}");
}
