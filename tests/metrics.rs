//! The metrics batch as the origin sees it: JSON shape, round trip, merging across
//! batches, privacy (no unit ids), and an allocation-free hot path.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use vexil::engine::{ErrorCode, Reason};
use vexil::metrics::{
    pseudonym, unit_hash, Aggregator, Batch, BatchMeta, MetricsConfig, BATCH_SCHEMA,
};

/// Counts allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn meta(id: &str, start: i64, end: i64) -> BatchMeta {
    BatchMeta {
        batch_id: id.into(),
        sdk: "vexil-js/0.1.0".into(),
        environment: "production".into(),
        snapshot_version: Some(12),
        window_start_ms: start,
        window_end_ms: end,
    }
}

fn config() -> MetricsConfig {
    MetricsConfig {
        dimensions: vec!["geo.country".into()],
        ..MetricsConfig::default()
    }
}

fn flags() -> Vec<(String, Vec<String>)> {
    vec![
        ("new-checkout".into(), vec!["on".into(), "off".into()]),
        ("clinical-alerts".into(), vec!["on".into(), "off".into()]),
    ]
}

/// A recorded edge: units `user-0..users`, countries, errors, events, audit.
fn recorded(users: u32, id: &str) -> Batch {
    let mut agg = Aggregator::new(config());
    agg.set_flags(flags());
    let countries = ["DE", "FR"].map(|c| agg.dimension_value(0, c));
    let key = b"audit-key-of-at-least-32-bytes!!";
    for i in 0..users {
        let unit = format!("user-{}", 12345 + i);
        let variant = (i % 4 != 0) as u16;
        let dims = [countries[(i % 2) as usize]];
        agg.record(
            0,
            Some(variant),
            Reason::Split,
            None,
            Some(unit_hash(&unit)),
            &dims,
        );
        agg.record(
            1,
            Some(1),
            Reason::Denied,
            None,
            Some(unit_hash(&unit)),
            &dims,
        );
        agg.audit(
            1,
            Some(1),
            Reason::Denied,
            Some(pseudonym(key, &unit)),
            1_700_000_000_000,
        );
        agg.track(
            "checkout",
            &[(0, variant)],
            Some(20.0),
            Some(42.0),
            Some(i % 10 != 0),
        );
    }
    agg.record(
        0,
        None,
        Reason::Error,
        Some(ErrorCode::TargetingKeyMissing),
        None,
        &[u16::MAX],
    );
    agg.record_unknown("typo-flag");
    agg.take_batch(meta(id, 1_000, 2_000))
        .expect("something was recorded")
}

#[test]
fn batch_json_has_the_wire_shape() {
    let batch = recorded(8, "b-1");
    let json: serde_json::Value = serde_json::to_value(&batch).unwrap();
    assert_eq!(json["schema"], BATCH_SCHEMA);
    assert_eq!(json["batch_id"], "b-1");
    assert_eq!(json["sdk"], "vexil-js/0.1.0");
    assert_eq!(json["environment"], "production");
    assert_eq!(json["snapshot_version"], 12);
    assert_eq!(
        json["window"],
        serde_json::json!({"start_ms": 1000, "end_ms": 2000})
    );
    let on = &json["flags"]["new-checkout"]["variants"]["on"];
    assert_eq!(on["count"], 2);
    assert_eq!(on["reasons"], serde_json::json!({"SPLIT": 2}));
    assert_eq!(on["units"]["p"], 10);
    assert_eq!(on["units"]["sparse"].as_array().unwrap().len(), 2);
    assert_eq!(
        on["dimensions"],
        serde_json::json!({"geo.country": {"DE": 2}})
    );
    assert_eq!(
        json["flags"]["new-checkout"]["errors"],
        serde_json::json!({"TARGETING_KEY_MISSING": 1})
    );
    assert!(json["flags"]["clinical-alerts"].get("errors").is_none());
    assert_eq!(json["unknown_flags"], serde_json::json!({"typo-flag": 1}));
    let attributed = &json["events"]["checkout"]["attributions"]["new-checkout"]["off"];
    assert_eq!(json["events"]["checkout"]["count"], 8);
    assert_eq!(attributed["count"], 6);
    assert_eq!(attributed["value_sum"], 120.0);
    assert_eq!(attributed["value_count"], 6);
    assert_eq!(attributed["success"], 6);
    assert_eq!(attributed["failure"], 0);
    let on_outcome = &json["events"]["checkout"]["attributions"]["new-checkout"]["on"];
    assert_eq!(
        (&on_outcome["success"], &on_outcome["failure"]),
        (&1.into(), &1.into())
    );
    assert_eq!(
        attributed["latency"]["bounds_ms"].as_array().unwrap().len(),
        13
    );
    assert_eq!(
        attributed["latency"]["counts"].as_array().unwrap().len(),
        14
    );
    assert_eq!(attributed["latency"]["counts"][5], 6);
    assert_eq!(attributed["latency"]["sum_ms"], 252.0);
    assert_eq!(attributed["latency"]["count"], 6);
    let audit = json["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 8);
    assert_eq!(audit[0]["flag"], "clinical-alerts");
    assert_eq!(audit[0]["variant"], "off");
    assert_eq!(audit[0]["reason"], "DENIED");
    assert_eq!(audit[0]["unit"].as_str().unwrap().len(), 32);
    assert_eq!(
        json["dropped"],
        serde_json::json!({"audit": 0, "events": 0, "unknown_flags": 0})
    );
    // Enough units switch the sketch to the dense form.
    let big = serde_json::to_value(recorded(2_000, "b-2")).unwrap();
    let dense = big["flags"]["clinical-alerts"]["variants"]["off"]["units"]["dense"]
        .as_str()
        .unwrap();
    assert_eq!(dense.len(), 1368);
}

#[test]
fn batch_json_round_trips() {
    let batch = recorded(500, "b-1");
    let text = serde_json::to_string(&batch).unwrap();
    let back: Batch = serde_json::from_str(&text).unwrap();
    assert_eq!(back, batch);
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    let wrong_schema = text.replacen("\"schema\":1", "\"schema\":2", 1);
    assert!(serde_json::from_str::<Batch>(&wrong_schema).is_err());
}

#[test]
fn batches_merge_counts_and_union_units() {
    // Two edges saw overlapping units: 0..3000 and 2000..5000.
    let mut a = recorded(3_000, "a");
    a.merge(other_batch());
    assert_eq!(a.batch_id, "a");
    assert_eq!((a.window.start_ms, a.window.end_ms), (500, 3_000));
    let off = &a.flags["clinical-alerts"].variants["off"];
    assert_eq!(off.count, 6_000);
    assert_eq!(off.reasons["DENIED"], 6_000);
    // Merge is union: exactly the sketch of units 0..5000 seen by one edge.
    let mut direct = vexil::metrics::HyperLogLog::new();
    for i in 0..5_000u32 {
        direct.insert(unit_hash(&format!("user-{}", 12345 + i)));
    }
    assert_eq!(off.units, direct);
    let estimate = off.units.estimate();
    assert!((estimate - 5_000.0).abs() / 5_000.0 < 0.1, "{estimate}");
    assert_eq!(a.unknown_flags["typo-flag"], 2);
    assert_eq!(a.audit.len(), 1_000);
    assert_eq!(a.dropped.audit, 2_000);
    assert_eq!(a.events["checkout"].count, 3_000);
    // Merging through JSON (as the origin does) gives the same result.
    let mut c = recorded(3_000, "a");
    let text = serde_json::to_string(&other_batch()).unwrap();
    c.merge(serde_json::from_str(&text).unwrap());
    assert_eq!(c.flags, a.flags);
}

fn other_batch() -> Batch {
    let mut other = Aggregator::new(config());
    other.set_flags(flags());
    for i in 2_000..5_000u32 {
        let h = unit_hash(&format!("user-{}", 12345 + i));
        other.record(1, Some(1), Reason::Denied, None, Some(h), &[]);
    }
    other.record_unknown("typo-flag");
    other.take_batch(meta("b", 500, 3_000)).unwrap()
}

#[test]
fn unit_ids_never_appear_in_a_batch() {
    let units = [
        "user-12345",
        "user-12346",
        "patient-0042",
        "alice@example.com",
    ];
    let mut agg = Aggregator::new(config());
    agg.set_flags(flags());
    let de = agg.dimension_value(0, "DE");
    for unit in units {
        agg.record(
            0,
            Some(0),
            Reason::Split,
            None,
            Some(unit_hash(unit)),
            &[de],
        );
        agg.audit(1, Some(0), Reason::Split, Some(pseudonym(b"k", unit)), 1);
        // A caller passing a raw id by mistake: it is left out.
        agg.audit(1, Some(0), Reason::Split, Some(unit.to_string()), 2);
        agg.track("checkout", &[(0, 0)], Some(1.0), None, Some(true));
    }
    let json = serde_json::to_string(&agg.take_batch(meta("p", 0, 1)).unwrap()).unwrap();
    for unit in units {
        assert!(!json.contains(unit), "{unit} leaked into {json}");
    }
    assert!(!json.contains("user-1234"));
    assert!(!json.contains("12345"));
    assert!(json.contains("\"DE\""));
}

#[test]
fn record_allocates_nothing_in_the_common_case() {
    let mut agg = Aggregator::new(config());
    agg.set_flags(flags());
    let de = agg.dimension_value(0, "DE");
    let fr = agg.dimension_value(0, "FR");
    // Warm up: the first unit and dimension values of each cell allocate once (unit
    // inserts are applied in batches of a few hundred, so warm up past one, with
    // distinct units: the same unit again is not queued).
    for i in 0..1_000u16 {
        let unit = unit_hash(&format!("warm-{i}"));
        agg.record(0, Some(i % 2), Reason::Split, None, Some(unit), &[fr]);
    }
    let hashes: Vec<u64> = (0..10_000).map(|i| unit_hash(&format!("u{i}"))).collect();
    let before = allocations();
    for (i, &h) in hashes.iter().enumerate() {
        let dims = [if i % 2 == 0 { de } else { fr }];
        agg.record(0, Some((i % 2) as u16), Reason::Split, None, Some(h), &dims);
        agg.record(
            0,
            None,
            Reason::Error,
            Some(ErrorCode::TypeMismatch),
            Some(h),
            &dims,
        );
        agg.record(1, Some(0), Reason::Static, None, None, &[u16::MAX]);
    }
    assert_eq!(allocations() - before, 0);
    let batch = agg.take_batch(meta("x", 0, 1)).unwrap();
    assert_eq!(batch.flags["new-checkout"].variants["on"].count, 5_500);
    assert_eq!(batch.flags["new-checkout"].errors["TYPE_MISMATCH"], 10_000);
}
