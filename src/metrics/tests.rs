use super::*;

fn meta(id: &str) -> BatchMeta {
    BatchMeta {
        batch_id: id.into(),
        sdk: "vexil-test/0".into(),
        environment: "production".into(),
        snapshot_version: Some(3),
        window_start_ms: 1_000,
        window_end_ms: 2_000,
    }
}

fn flags(spec: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    spec.iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

#[test]
fn table_indices_follow_all_order() {
    for (i, r) in Reason::ALL.iter().enumerate() {
        assert_eq!(*r as usize, i);
    }
    for (i, c) in ErrorCode::ALL.iter().enumerate() {
        assert_eq!(*c as usize, i);
    }
}

#[test]
fn counts_by_name_across_a_snapshot_swap() {
    let mut agg = Aggregator::new(MetricsConfig::default());
    assert!(agg.is_empty());
    assert!(agg.take_batch(meta("empty")).is_none());
    agg.set_flags(flags(&[("a", &["on", "off"]), ("b", &["x", "y", "z"])]));
    agg.record(0, Some(0), Reason::Split, None, Some(unit_hash("u1")), &[]);
    agg.record(0, Some(0), Reason::Split, None, Some(unit_hash("u2")), &[]);
    agg.record(0, Some(1), Reason::Default, None, None, &[]);
    agg.record(
        1,
        Some(2),
        Reason::TargetingMatch,
        None,
        Some(unit_hash("u1")),
        &[],
    );
    agg.record(
        1,
        None,
        Reason::Error,
        Some(ErrorCode::TargetingKeyMissing),
        None,
        &[],
    );
    agg.record(1, None, Reason::Error, None, None, &[]);
    // Out of range: ignored.
    agg.record(7, Some(0), Reason::Split, None, None, &[]);
    agg.record(0, Some(9), Reason::Split, None, None, &[]);
    assert!(!agg.is_empty());

    // New snapshot: flags reordered, "a" loses "off", "c" appears.
    agg.set_flags(flags(&[
        ("c", &["v"]),
        ("b", &["z", "y", "x"]),
        ("a", &["on"]),
    ]));
    agg.record(2, Some(0), Reason::Split, None, Some(unit_hash("u3")), &[]);
    agg.record(
        1,
        Some(0),
        Reason::TargetingMatch,
        None,
        Some(unit_hash("u1")),
        &[],
    );
    agg.record(0, Some(0), Reason::Static, None, None, &[]);

    let batch = agg.take_batch(meta("b1")).unwrap();
    assert!(agg.is_empty());
    assert!(agg.take_batch(meta("b2")).is_none());
    let a = &batch.flags["a"];
    assert_eq!(a.variants["on"].count, 3);
    assert_eq!(a.variants["on"].reasons["SPLIT"], 3);
    assert_eq!(a.variants["on"].units.estimate().round(), 3.0);
    assert_eq!(a.variants["off"].count, 1);
    assert_eq!(a.variants["off"].reasons["DEFAULT"], 1);
    assert!(a.variants["off"].units.is_empty());
    assert!(a.errors.is_empty());
    let b = &batch.flags["b"];
    assert_eq!(b.variants.len(), 1);
    assert_eq!(b.variants["z"].count, 2);
    assert_eq!(b.variants["z"].reasons["TARGETING_MATCH"], 2);
    // The same unit twice, across the swap: one distinct unit.
    assert_eq!(b.variants["z"].units.estimate().round(), 1.0);
    assert_eq!(b.errors["TARGETING_KEY_MISSING"], 1);
    assert_eq!(b.errors["GENERAL"], 1);
    assert_eq!(batch.flags["c"].variants["v"].reasons["STATIC"], 1);
    assert_eq!(batch.flags.len(), 3);

    // Counters were reset by the take.
    agg.record(0, Some(0), Reason::Split, None, None, &[]);
    let next = agg.take_batch(meta("b3")).unwrap();
    assert_eq!(next.flags["c"].variants["v"].count, 1);
    assert_eq!(next.flags.len(), 1);
}

#[test]
fn dimensions_are_capped_into_other() {
    let mut agg = Aggregator::new(MetricsConfig {
        dimensions: vec!["geo.country".into(), "device".into()],
        max_dimension_values: 3,
        ..MetricsConfig::default()
    });
    agg.set_flags(flags(&[("f", &["on"])]));
    let de = agg.dimension_value(0, "DE");
    let fr = agg.dimension_value(0, "FR");
    let us = agg.dimension_value(0, "US");
    let other = agg.dimension_value(0, "JP");
    assert_eq!((de, fr, us), (0, 1, 2));
    assert_eq!(other, 3);
    assert_eq!(agg.dimension_value(0, "BR"), other);
    assert_eq!(agg.dimension_value(0, "DE"), de);
    assert_eq!(agg.dimension_value(1, &"x".repeat(65)), 3);
    assert_eq!(agg.dimension_value(2, "nope"), NO_DIMENSION_VALUE);
    let mobile = agg.dimension_value(1, "mobile");
    assert_eq!(mobile, 0);

    agg.record(0, Some(0), Reason::Static, None, None, &[de, mobile]);
    agg.record(
        0,
        Some(0),
        Reason::Static,
        None,
        None,
        &[de, NO_DIMENSION_VALUE],
    );
    agg.record(0, Some(0), Reason::Static, None, None, &[other]);
    let cn = agg.dimension_value(0, "CN");
    agg.record(0, Some(0), Reason::Static, None, None, &[cn]);
    // Garbage ids and extra entries are ignored.
    agg.record(0, Some(0), Reason::Static, None, None, &[999, 999, 5]);
    let batch = agg.take_batch(meta("d")).unwrap();
    let dims = &batch.flags["f"].variants["on"].dimensions;
    assert_eq!(dims["geo.country"].len(), 2);
    assert_eq!(dims["geo.country"]["DE"], 2);
    assert_eq!(dims["geo.country"][OTHER], 2);
    assert_eq!(dims["device"].len(), 1);
    assert_eq!(dims["device"]["mobile"], 1);
    assert_eq!(batch.flags["f"].variants["on"].count, 5);
}

#[test]
fn unknown_flags_are_bounded() {
    let mut agg = Aggregator::new(MetricsConfig {
        max_unknown_flags: 2,
        ..MetricsConfig::default()
    });
    agg.record_unknown("typo-a");
    agg.record_unknown("typo-b");
    agg.record_unknown("typo-a");
    agg.record_unknown("typo-c");
    agg.record_unknown("typo-c");
    let batch = agg.take_batch(meta("u")).unwrap();
    assert_eq!(batch.unknown_flags.len(), 2);
    assert_eq!(batch.unknown_flags["typo-a"], 2);
    assert_eq!(batch.unknown_flags["typo-b"], 1);
    assert_eq!(batch.dropped.unknown_flags, 2);
    // The bound is per batch.
    agg.record_unknown("typo-c");
    agg.record_unknown(&"k".repeat(MAX_NAME_LEN + 1));
    let batch = agg.take_batch(meta("u2")).unwrap();
    assert_eq!(batch.unknown_flags["typo-c"], 1);
    assert_eq!(batch.dropped.unknown_flags, 1);
}

#[test]
fn events_are_attributed_and_bounded() {
    let mut agg = Aggregator::new(MetricsConfig {
        max_event_names: 2,
        ..MetricsConfig::default()
    });
    agg.set_flags(flags(&[("a", &["on", "off"]), ("b", &["x"])]));
    agg.track(
        "checkout",
        &[(0, 0), (1, 0)],
        Some(10.0),
        Some(30.0),
        Some(true),
    );
    agg.track(
        "checkout",
        &[(0, 0)],
        Some(f64::NAN),
        Some(300.0),
        Some(false),
    );
    agg.track("checkout", &[(0, 1), (9, 0), (1, 4)], None, None, None);
    agg.track("signup", &[], None, None, None);
    agg.track("third", &[(0, 0)], None, None, None);
    agg.track("third", &[(0, 0)], None, None, None);
    let batch = agg.take_batch(meta("e")).unwrap();
    assert_eq!(batch.events.len(), 2);
    assert_eq!(batch.dropped.events, 2);
    let checkout = &batch.events["checkout"];
    assert_eq!(checkout.count, 3);
    let on = &checkout.attributions["a"]["on"];
    assert_eq!((on.count, on.value_sum, on.value_count), (2, 10.0, 1));
    assert_eq!(on.value_sq_sum, Some(100.0), "the NaN value is left out");
    assert_eq!((on.success, on.failure), (1, 1));
    assert_eq!(on.latency.count(), 2);
    assert_eq!(on.latency.mean(), Some(165.0));
    assert_eq!(checkout.attributions["a"]["off"].count, 1);
    assert!(checkout.attributions["a"]["off"].latency.is_empty());
    assert_eq!(checkout.attributions["b"]["x"].count, 1);
    assert_eq!(checkout.attributions["b"].len(), 1);
    assert_eq!(batch.events["signup"].count, 1);
    assert!(batch.events["signup"].attributions.is_empty());
}

#[test]
fn audit_is_bounded_and_takes_only_pseudonyms() {
    let mut agg = Aggregator::new(MetricsConfig {
        max_audit_events: 2,
        ..MetricsConfig::default()
    });
    agg.set_flags(flags(&[("alerts", &["on", "off"])]));
    let p = pseudonym(b"secret", "patient-7");
    agg.audit(0, Some(0), Reason::Split, Some(p.clone()), 5);
    agg.audit(0, None, Reason::Error, Some("patient-7".into()), 6);
    agg.audit(0, Some(1), Reason::Denied, None, 7);
    agg.audit(3, Some(1), Reason::Denied, None, 7);
    let batch = agg.take_batch(meta("a")).unwrap();
    assert_eq!(batch.audit.len(), 2);
    assert_eq!(batch.dropped.audit, 1);
    assert_eq!(
        batch.audit[0],
        AuditEvent {
            flag: "alerts".into(),
            variant: Some("on".into()),
            reason: "SPLIT".into(),
            unit: Some(p),
            at_ms: 5,
        }
    );
    assert_eq!(batch.audit[1].variant, None);
    assert_eq!(batch.audit[1].unit, None, "raw ids never reach a batch");
}

#[test]
fn restore_folds_a_failed_batch_back_within_bounds() {
    let mut agg = Aggregator::new(MetricsConfig {
        max_event_names: 1,
        max_audit_events: 1,
        ..MetricsConfig::default()
    });
    agg.set_flags(flags(&[("a", &["on"])]));
    agg.record(0, Some(0), Reason::Split, None, Some(unit_hash("u1")), &[]);
    agg.track("e1", &[(0, 0)], None, None, None);
    agg.audit(0, Some(0), Reason::Split, None, 1);
    let failed = agg.take_batch(meta("first")).unwrap();

    agg.record(0, Some(0), Reason::Split, None, Some(unit_hash("u2")), &[]);
    agg.track("e2", &[(0, 0)], None, None, None);
    agg.audit(0, Some(0), Reason::Split, None, 2);
    agg.restore(failed);
    let mut m = meta("second");
    m.window_start_ms = 2_000;
    m.window_end_ms = 3_000;
    let batch = agg.take_batch(m).unwrap();
    assert_eq!(batch.batch_id, "second");
    assert_eq!(
        batch.window,
        Window {
            start_ms: 1_000,
            end_ms: 3_000
        }
    );
    assert_eq!(batch.flags["a"].variants["on"].count, 2);
    assert_eq!(
        batch.flags["a"].variants["on"].units.estimate().round(),
        2.0
    );
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.dropped.events, 1);
    assert_eq!(batch.audit.len(), 1);
    assert_eq!(batch.dropped.audit, 1);
}

/// A flag that serves the caller's default by design (no off variant, a
/// `caller_default` serve) is counted under `defaults` by reason, not as an error,
/// so rollout guards on error rates do not see it.
#[test]
fn callers_defaults_served_by_design_are_not_errors() {
    let mut agg = Aggregator::new(MetricsConfig::default());
    agg.set_flags(flags(&[("a", &["on", "off"])]));
    agg.record(0, None, Reason::Disabled, None, None, &[]);
    agg.record(0, None, Reason::Default, None, None, &[]);
    agg.record(0, None, Reason::Default, None, None, &[]);
    agg.record(
        0,
        None,
        Reason::Error,
        Some(ErrorCode::TypeMismatch),
        None,
        &[],
    );
    let batch = agg.take_batch(meta("d")).expect("a batch");
    let a = &batch.flags["a"];
    assert_eq!(a.defaults.get("DEFAULT"), Some(&2));
    assert_eq!(a.defaults.get("DISABLED"), Some(&1));
    assert_eq!(a.errors.get("TYPE_MISMATCH"), Some(&1));
    assert_eq!(a.errors.len(), 1);
    assert_eq!(a.evaluations(), 4);
    let mut merged = batch.clone();
    merged.merge(batch);
    assert_eq!(merged.flags["a"].defaults.get("DEFAULT"), Some(&4));
}

#[test]
fn a_unit_seen_again_is_counted_once_per_window_and_again_in_the_next() {
    let mut agg = Aggregator::new(MetricsConfig::default());
    agg.set_flags(flags(&[("a", &["on", "off"])]));
    let units = |agg: &mut Aggregator, id: &str| {
        let batch = agg.take_batch(meta(id)).expect("a batch");
        batch.flags["a"].variants["on"].units.estimate().round()
    };
    for _ in 0..3 {
        agg.record(0, Some(0), Reason::Split, None, Some(unit_hash("u1")), &[]);
    }
    agg.record(0, Some(1), Reason::Split, None, Some(unit_hash("u1")), &[]);
    agg.record(0, Some(0), Reason::Split, None, Some(unit_hash("u1")), &[]);
    assert_eq!(units(&mut agg, "b1"), 1.0);
    // A new window: the same unit is a unit of this window too.
    agg.record(0, Some(0), Reason::Split, None, Some(unit_hash("u1")), &[]);
    assert_eq!(units(&mut agg, "b2"), 1.0);
}

/// Sums of squared values fold back with the values; an older SDK's outcome (no
/// `value_sq_sum`) still parses, and once its values are folded in the sum of
/// squares is unknown rather than wrong.
#[test]
fn squared_values_fold_and_an_older_batch_leaves_them_unknown() {
    let mut agg = Aggregator::new(MetricsConfig::default());
    agg.set_flags(flags(&[("a", &["on"])]));
    agg.record(0, Some(0), Reason::Split, None, None, &[]);
    agg.track("fill", &[(0, 0)], Some(3.0), None, None);
    let failed = agg.take_batch(meta("first")).unwrap();
    agg.record(0, Some(0), Reason::Split, None, None, &[]);
    agg.track("fill", &[(0, 0)], Some(-2.0), None, None);
    agg.restore(failed);
    let batch = agg.take_batch(meta("second")).unwrap();
    let o = &batch.events["fill"].attributions["a"]["on"];
    assert_eq!(
        (o.value_sum, o.value_sq_sum, o.value_count),
        (1.0, Some(13.0), 2)
    );

    let old: OutcomeStats =
        serde_json::from_str(r#"{"count":1,"value_sum":5,"value_count":1}"#).unwrap();
    assert_eq!(old.value_sq_sum, None);
    let mut merged = o.clone();
    merged.merge(&old);
    assert_eq!((merged.value_sq_sum, merged.value_count), (None, 3));
    let mut none_valued = o.clone();
    none_valued.merge(&OutcomeStats {
        count: 4,
        ..OutcomeStats::default()
    });
    assert_eq!(
        none_valued.value_sq_sum,
        Some(13.0),
        "outcomes without values change nothing"
    );
}
