//! The aggregator attributes tracked outcomes only to flags served to the unit,
//! withholds private and unit-id dimensions per flag, and never overflows its
//! counters (issue 11, items 3, 8 and 9).

use vexil::engine::{Reason, Snapshot};
use vexil::metrics::{unit_hash, Aggregator, Batch, BatchMeta, MetricsConfig, VariantStats};

fn meta(id: &str) -> BatchMeta {
    BatchMeta {
        batch_id: id.into(),
        sdk: "test/0".into(),
        environment: "production".into(),
        snapshot_version: Some(1),
        window_start_ms: 1_000,
        window_end_ms: 2_000,
    }
}

/// Two rolled-out flags and one served the same to everyone.
fn snapshot(extra: &str) -> Snapshot {
    let text = format!(
        r#"{{"flags": [
        {{"key": "checkout", "variants": {{"on": true, "off": false}}, "off_variant": "off",
          "fallthrough": {{"rollout": {{"weights": {{"on": 50, "off": 50}}}}}}}},
        {{"key": "search", "variants": {{"on": true, "off": false}}, "off_variant": "off",
          "fallthrough": {{"rollout": {{"weights": {{"on": 50, "off": 50}}}}}}}},
        {{"key": "banner", "variants": {{"on": true, "off": false}}, "off_variant": "off",
          "fallthrough": {{"variant": "on"}}}}
        {extra}
    ]}}"#
    );
    Snapshot::from_json(text.as_bytes()).unwrap()
}

fn aggregator(dimensions: &[&str], snapshot: &Snapshot) -> Aggregator {
    let mut agg = Aggregator::new(MetricsConfig {
        dimensions: dimensions.iter().map(|d| d.to_string()).collect(),
        ..MetricsConfig::default()
    });
    agg.set_snapshot(&std::sync::Arc::new(snapshot.clone()));
    agg
}

#[test]
fn an_outcome_counts_only_for_the_flags_its_unit_was_served() {
    let snap = snapshot("");
    let mut agg = aggregator(&[], &snap);
    let alice = unit_hash("alice");
    let bob = unit_hash("bob");
    // Variants are indexed by name (`off` 0, `on` 1). Alice saw `checkout` on; Bob
    // saw `search` off. Nobody saw `banner` by targeting or a split.
    agg.record(0, Some(1), Reason::Split, None, Some(alice), &[]);
    agg.record(1, Some(0), Reason::Split, None, Some(bob), &[]);
    agg.record(2, Some(1), Reason::Static, None, Some(bob), &[]);
    for _ in 0..3 {
        agg.track_served("request", Some(bob), None, Some(20.0), Some(false));
    }
    agg.track_served("request", Some(alice), None, Some(10.0), Some(true));
    // A unit never evaluated, and a context without a unit.
    agg.track_served("request", Some(unit_hash("carol")), None, None, Some(false));
    agg.track_served("request", None, None, None, Some(false));
    let batch = agg.take_batch(meta("a")).unwrap();
    let request = &batch.events["request"];
    assert_eq!(request.count, 6);
    assert_eq!(request.unattributed, 2, "not spread over every flag");
    // Bob's failures are `search`'s alone: `checkout` keeps its one success.
    let search = &request.attributions["search"]["off"];
    assert_eq!((search.count, search.failure), (3, 3));
    let checkout = &request.attributions["checkout"];
    assert_eq!(checkout.len(), 1, "{checkout:?}");
    assert_eq!(
        (
            checkout["on"].count,
            checkout["on"].success,
            checkout["on"].failure
        ),
        (1, 1, 0)
    );
    assert!(!request.attributions.contains_key("banner"));
    // The wire form carries the unattributed count, and reads back.
    let text = serde_json::to_string(&batch).unwrap();
    assert!(text.contains("\"unattributed\":2"), "{text}");
    assert_eq!(serde_json::from_str::<Batch>(&text).unwrap(), batch);
}

#[test]
fn served_variants_survive_a_snapshot_swap_and_follow_the_new_indexing() {
    let mut agg = aggregator(&[], &snapshot(""));
    let alice = unit_hash("alice");
    agg.record(1, Some(0), Reason::Split, None, Some(alice), &[]);
    // The new snapshot puts a flag before `search`: its index moves from 1 to 2.
    let text = r#"{"flags": [
        {"key": "new-flag", "variants": {"a": 1, "b": 2}, "off_variant": "a", "fallthrough": {"variant": "a"}},
        {"key": "checkout", "variants": {"on": true, "off": false}, "off_variant": "off",
         "fallthrough": {"variant": "off"}},
        {"key": "search", "variants": {"on": true, "off": false}, "off_variant": "off",
         "fallthrough": {"variant": "off"}}
    ]}"#;
    agg.set_snapshot(&std::sync::Arc::new(
        Snapshot::from_json(text.as_bytes()).unwrap(),
    ));
    agg.track_served("request", Some(alice), None, None, Some(true));
    let batch = agg.take_batch(meta("b")).unwrap();
    let request = &batch.events["request"];
    assert_eq!(request.attributions.keys().collect::<Vec<_>>(), ["search"]);
    assert_eq!(request.attributions["search"]["off"].success, 1);
}

#[test]
fn private_dimensions_and_unit_ids_are_never_counted_for_a_flag() {
    let extra = r#",
        {"key": "phi-alerts", "variants": {"on": true, "off": false}, "off_variant": "off",
         "private_attributes": ["patient"],
         "fallthrough": {"rollout": {"by": "account.id", "weights": {"on": 50, "off": 50}}}}"#;
    let snap = snapshot(extra);
    let dims = [
        "patient.population",
        "targetingKey",
        "account.id",
        "geo.country",
    ];
    let mut agg = aggregator(&dims, &snap);
    let ids: Vec<u16> = ["oncology", "alice", "acct-9", "DE"]
        .iter()
        .enumerate()
        .map(|(i, v)| agg.dimension_value(i, v))
        .collect();
    // Variants are indexed by name: `off` is 0, `on` is 1.
    agg.record(0, Some(1), Reason::Split, None, Some(1), &ids);
    agg.record(3, Some(1), Reason::Split, None, Some(1), &ids);
    let batch = agg.take_batch(meta("p")).unwrap();
    let dims_of = |flag: &str| -> Vec<String> {
        let v: &VariantStats = &batch.flags[flag].variants["on"];
        v.dimensions.keys().cloned().collect()
    };
    // Unit ids are withheld for every flag; `patient.*` only where it is private.
    assert_eq!(dims_of("checkout"), ["geo.country", "patient.population"]);
    assert_eq!(dims_of("phi-alerts"), ["geo.country"]);
    let text = serde_json::to_string(&batch).unwrap();
    for secret in ["alice", "acct-9"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(batch.flags["phi-alerts"].variants["on"].count, 1);
}

#[test]
fn merging_saturates_instead_of_overflowing() {
    let huge = |id: &str| {
        let text = format!(
            r#"{{"schema": 1, "batch_id": "{id}", "sdk": "x", "environment": "production",
                "window": {{"start_ms": 0, "end_ms": 1}},
                "flags": {{"f": {{"variants": {{"on": {{"count": 18446744073709551615,
                    "reasons": {{"SPLIT": 18446744073709551615}}}}}},
                    "errors": {{"GENERAL": 18446744073709551615}}}}}},
                "events": {{"e": {{"count": 18446744073709551615,
                    "attributions": {{"f": {{"on": {{"count": 18446744073709551615,
                    "success": 18446744073709551615}}}}}}}}}}}}"#
        );
        serde_json::from_str::<Batch>(&text).unwrap()
    };
    let mut total = huge("a");
    total.merge(huge("b"));
    let on = &total.flags["f"].variants["on"];
    assert_eq!((on.count, on.reasons["SPLIT"]), (u64::MAX, u64::MAX));
    assert_eq!(total.flags["f"].errors["GENERAL"], u64::MAX);
    let e = &total.events["e"];
    assert_eq!(e.count, u64::MAX);
    assert_eq!(e.attributions["f"]["on"].success, u64::MAX);
}

#[test]
fn a_latency_histogram_whose_counts_overflow_is_refused_not_a_panic() {
    let counts = format!("[{}, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", u64::MAX);
    let text = format!(
        r#"{{"bounds_ms": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
            "counts": {counts}, "sum_ms": 1, "count": 0}}"#
    );
    let err = serde_json::from_str::<vexil::metrics::LatencyHistogram>(&text).unwrap_err();
    assert!(err.to_string().contains("overflow"), "{err}");
    let negative = r#"{"bounds_ms": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
        "counts": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "sum_ms": -5, "count": 1}"#;
    assert!(serde_json::from_str::<vexil::metrics::LatencyHistogram>(negative).is_err());
}

/// `n` on/off flags `{prefix}0`, `{prefix}1`, ..., each serving `on`.
fn numbered(prefix: &str, n: usize) -> std::sync::Arc<Snapshot> {
    let flags: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"key": "{prefix}{i}", "variants": {{"on": true, "off": false}},
                  "off_variant": "off", "fallthrough": {{"variant": "on"}}}}"#
            )
        })
        .collect();
    let text = format!(r#"{{"flags": [{}]}}"#, flags.join(","));
    std::sync::Arc::new(Snapshot::from_json(text.as_bytes()).unwrap())
}

#[test]
fn flags_new_to_the_registry_count_from_their_first_use_at_their_own_index() {
    let mut agg = Aggregator::new(MetricsConfig::default());
    agg.set_snapshot(&numbered("old", 200));
    for i in 0..200 {
        agg.record(i, Some(1), Reason::Static, None, None, &[]);
    }
    assert_eq!(agg.take_batch(meta("old")).unwrap().flags.len(), 200);
    // A snapshot of new flags only, first reached out of order and through every
    // door: an evaluation, a tracked outcome, an audit event. Its take drops the
    // 200 old flags from the registry (compaction) while flags 0..=2 are still unused.
    agg.set_snapshot(&numbered("new", 10));
    agg.record(7, Some(1), Reason::Static, None, None, &[]);
    agg.track("done", &[(3, 0)], Some(1.0), None, None);
    let pseudonym = "0123456789abcdef0123456789abcdef".to_string();
    agg.audit(5, Some(1), Reason::Static, Some(pseudonym.clone()), 1_500);
    let batch = agg.take_batch(meta("new")).unwrap();
    assert_eq!(batch.flags.keys().collect::<Vec<_>>(), ["new7"]);
    assert_eq!(batch.flags["new7"].variants["on"].count, 1);
    assert_eq!(batch.events["done"].attributions["new3"]["off"].count, 1);
    assert_eq!(batch.events["done"].unattributed, 0);
    assert_eq!(batch.audit.len(), 1);
    assert_eq!(
        (
            batch.audit[0].flag.as_str(),
            batch.audit[0].variant.as_deref()
        ),
        ("new5", Some("on"))
    );
    assert_eq!(batch.audit[0].unit.as_ref(), Some(&pseudonym));
    // After the compaction, used and unused flags alike still count at their index.
    agg.record(7, Some(0), Reason::Static, None, None, &[]);
    agg.record(0, Some(1), Reason::Static, None, None, &[]);
    agg.record(9, Some(0), Reason::Static, None, None, &[]);
    let batch = agg.take_batch(meta("after")).unwrap();
    assert_eq!(
        batch.flags.keys().collect::<Vec<_>>(),
        ["new0", "new7", "new9"]
    );
    assert_eq!(batch.flags["new7"].variants["off"].count, 1);
    assert_eq!(batch.flags["new0"].variants["on"].count, 1);
    assert_eq!(batch.flags["new9"].variants["off"].count, 1);
    assert!(batch.flags.values().all(|f| f.variants.len() == 1));
}
