//! Latency quantiles from the mergeable histogram: within the latencies recorded and
//! ordered (`min ≤ p50 ≤ p95 ≤ max`), exact for constant latencies (p95 = mean, never
//! below it), through merging and the batch's JSON alike; and the origin's metrics
//! report shows them so.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use serde_json::json;
use support::*;
use vexil::metrics::{
    Batch, BatchMeta, EventStats, FlagStats, LatencyHistogram, OutcomeStats, VariantStats,
};

fn latency() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..25_000.0f64,
        (0u32..30_000).prop_map(f64::from),
        (1u32..1_000_000, 1u32..1000).prop_map(|(a, b)| f64::from(a) / f64::from(b)),
        prop::sample::select(vec![
            0.0, 1.0, 2.0, 5.0, 10.0, 19.8, 20.0, 10_000.0, 10_000.5
        ]),
    ]
}

fn histogram(latencies: &[f64]) -> LatencyHistogram {
    let mut h = LatencyHistogram::default();
    for &ms in latencies {
        h.record(ms);
    }
    h
}

/// Checks `min ≤ q(a) ≤ q(b) ≤ max` for a ladder of quantiles.
fn ordered(h: &LatencyHistogram, min: f64, max: f64) -> Result<(), TestCaseError> {
    let mut previous = min;
    for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0] {
        let v = h.quantile(q).expect("not empty");
        prop_assert!(v >= previous, "q{q} = {v} below {previous} (min {min})");
        prop_assert!(v <= max, "q{q} = {v} above the max {max}");
        previous = v;
    }
    let mean = h.mean().expect("not empty");
    prop_assert!(
        min <= mean && mean <= max,
        "mean {mean} outside [{min}, {max}]"
    );
    Ok(())
}

fn bounds(latencies: &[f64]) -> (f64, f64) {
    latencies
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn quantiles_lie_within_the_latencies_and_in_order(
        a in prop::collection::vec(latency(), 1..200),
        b in prop::collection::vec(latency(), 0..200),
    ) {
        let (min, max) = bounds(&a);
        ordered(&histogram(&a), min, max)?;
        // Merged (as across edges and batches) and sent through a batch's JSON.
        let mut merged = histogram(&a);
        merged.merge(&histogram(&b));
        let merged: LatencyHistogram =
            serde_json::from_str(&serde_json::to_string(&merged).unwrap()).unwrap();
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let (min, max) = bounds(&all);
        ordered(&merged, min, max)?;
    }

    #[test]
    fn constant_latencies_have_p95_equal_to_their_mean(
        ms in latency(),
        n in 1usize..500,
        batches in 1usize..4,
    ) {
        let mut h = LatencyHistogram::default();
        for _ in 0..batches {
            h.merge(&histogram(&vec![ms; n]));
        }
        let mean = h.mean().unwrap();
        prop_assert_eq!(mean, ms);
        for q in [0.5, 0.95, 0.99] {
            prop_assert_eq!(h.quantile(q), Some(mean), "q{}", q);
        }
    }
}

/// What an edge reports: `n` outcomes of `flag`'s `on` variant, each taking `ms`.
fn batch(end_ms: i64, flag: &str, n: u64, ms: f64) -> serde_json::Value {
    let mut b = Batch::new(BatchMeta {
        batch_id: format!("b-{end_ms}"),
        sdk: "test/1".into(),
        environment: "production".into(),
        snapshot_version: Some(1),
        window_start_ms: end_ms - 1000,
        window_end_ms: end_ms,
    });
    b.flags.insert(
        flag.into(),
        FlagStats {
            variants: [(
                "on".to_string(),
                VariantStats {
                    count: n,
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        },
    );
    let mut o = OutcomeStats {
        count: n,
        success: n,
        ..Default::default()
    };
    for _ in 0..n {
        o.latency.record(ms);
    }
    let mut e = EventStats {
        count: n,
        ..Default::default()
    };
    e.attributions
        .insert(flag.into(), [("on".to_string(), o)].into_iter().collect());
    b.events.insert("request".into(), e);
    serde_json::to_value(&b).unwrap()
}

#[test]
fn the_metrics_report_never_shows_p95_below_the_mean() {
    let (data, admin) = DataDir::init("quantiles");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    s.post(
        "/api/v1/environments/production/flags",
        &editor,
        json!({ "flag": simple_flag("search") }),
    )
    .expect(201);
    // 19.8 ms every time: the (10, 20] bucket interpolated alone said p95 = 19.5.
    s.post(
        "/api/v1/metrics",
        &sdk,
        batch(now_ms(), "search", 200, 19.8),
    )
    .expect(200);
    let m = s
        .get("/api/v1/flags/search/metrics?env=production", &editor)
        .expect(200)
        .json;
    assert_eq!(m["avg_response_time_ms"], 19.8, "{m}");
    assert_eq!(m["p95_response_time_ms"], 19.8, "{m}");
    let report = s
        .get(
            "/api/v1/environments/production/flags/search/audit-report",
            &editor,
        )
        .expect(200)
        .json;
    assert_eq!(
        report["performance_metrics"]["p95_response_time_ms"], 19.8,
        "{report}"
    );
}
