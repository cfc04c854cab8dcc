//! Statistical and property tests of bucketing and evaluation.
//!
//! The χ² tests run over fixed, deterministic unit sets (they cannot flake: they
//! either always pass or always fail for a given hash function). `proptest` is used
//! only for properties that hold for every input (monotonic rollouts, no panics).

use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};
use vexil::engine::{bucket, FlagsDocument, Snapshot, ValueType, BUCKETS};

// ------------------------------------------------------------------- uniformity

/// Pearson's χ² statistic of observed counts against equal expected counts.
fn chi_squared(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// χ² critical value for 19 degrees of freedom at p = 0.001.
const CHI2_19DF_P001: f64 = 43.82;
/// χ² critical value for 81 degrees of freedom at p = 0.001.
const CHI2_81DF_P001: f64 = 126.3;

const UNITS: u32 = 100_000;

/// Unit id styles seen in practice: prefixed counters, bare numbers, UUID-like ids.
fn unit_sets() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("user-N", (0..UNITS).map(|i| format!("user-{i}")).collect()),
        ("N", (0..UNITS).map(|i| i.to_string()).collect()),
        (
            "uuid-like",
            (0..UNITS)
                .map(|i| {
                    let x = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    format!(
                        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                        x >> 32,
                        (x >> 16) & 0xffff,
                        i & 0xfff,
                        (x >> 4) & 0xfff,
                        x & 0xffff_ffff_ffff
                    )
                })
                .collect(),
        ),
    ]
}

#[test]
fn buckets_are_uniform() {
    for salt in [
        "enhanced-order-routing-v2",
        "enhanced-clinical-alerts-v2",
        "routing-2026",
        "f",
        "",
    ] {
        for (style, units) in unit_sets() {
            let mut bins = [0u64; 20];
            for unit in &units {
                let b = bucket(salt, unit);
                assert!(b < BUCKETS);
                bins[(b / (BUCKETS / 20)) as usize] += 1;
            }
            let chi2 = chi_squared(&bins);
            assert!(
                chi2 < CHI2_19DF_P001,
                "salt {salt:?}, units {style}: χ² = {chi2:.1} over 20 bins ({bins:?})"
            );
        }
    }
}

#[test]
fn small_rollouts_get_their_share() {
    // 1 %, 5 % and 0.5 % of 100 000 units, within 5 standard deviations.
    for (salt, pct_thousandths) in [
        ("a", 1_000u32),
        ("enhanced-order-routing-v2", 5_000),
        ("c", 500),
    ] {
        let on = (0..UNITS)
            .filter(|i| bucket(salt, &format!("user-{i}")) < pct_thousandths)
            .count() as f64;
        let p = f64::from(pct_thousandths) / f64::from(BUCKETS);
        let mean = p * f64::from(UNITS);
        let sd = (mean * (1.0 - p)).sqrt();
        assert!(
            (on - mean).abs() < 5.0 * sd,
            "salt {salt}: {on} on, expected {mean}"
        );
    }
}

// ------------------------------------------------------------------- independence

/// χ² test of independence on a contingency table.
fn contingency_chi_squared(table: &[Vec<u64>]) -> f64 {
    let rows: Vec<f64> = table.iter().map(|r| r.iter().sum::<u64>() as f64).collect();
    let cols: Vec<f64> = (0..table[0].len())
        .map(|j| table.iter().map(|r| r[j]).sum::<u64>() as f64)
        .collect();
    let total: f64 = rows.iter().sum();
    let mut chi2 = 0.0;
    for (i, row) in table.iter().enumerate() {
        for (j, &observed) in row.iter().enumerate() {
            let expected = rows[i] * cols[j] / total;
            chi2 += (observed as f64 - expected).powi(2) / expected;
        }
    }
    chi2
}

#[test]
fn flags_bucket_independently() {
    let pairs = [
        ("enhanced-order-routing-v2", "routing-2026"),
        ("checkout-v2", "checkout-v3"),
        ("flag-a", "flag-b"),
        ("enhanced-clinical-alerts-v2", "clinical-alert-channel"),
    ];
    for (a, b) in pairs {
        for (style, units) in unit_sets() {
            let mut table = vec![vec![0u64; 10]; 10];
            for unit in &units {
                let i = (bucket(a, unit) / (BUCKETS / 10)) as usize;
                let j = (bucket(b, unit) / (BUCKETS / 10)) as usize;
                table[i][j] += 1;
            }
            let chi2 = contingency_chi_squared(&table);
            assert!(
                chi2 < CHI2_81DF_P001,
                "salts {a:?} and {b:?}, units {style}: χ² = {chi2:.1} (81 df)"
            );
        }
    }
}

#[test]
fn being_in_one_rollout_says_nothing_about_another() {
    // 10 % of units in flag A; of those, still ~20 % in a 20 % rollout of flag B.
    let in_a: Vec<String> = (0..UNITS * 2)
        .map(|i| format!("user-{i}"))
        .filter(|u| bucket("flag-a", u) < 10_000)
        .collect();
    let both = in_a.iter().filter(|u| bucket("flag-b", u) < 20_000).count() as f64;
    let n = in_a.len() as f64;
    let sd = (n * 0.2 * 0.8).sqrt();
    assert!((both - 0.2 * n).abs() < 5.0 * sd, "{both} of {n}");
}

// ------------------------------------------------------------------- monotonic rollouts

/// Two flags sharing a salt, rolled out to `p` and `q` thousandths of a percent.
/// Built as text so `on` is written first (weights fill buckets in written order).
fn rollout_pair(p: u32, q: u32) -> Snapshot {
    let weights = |t: u32| {
        let pct = |t: u32| format!("{}.{:03}", t / 1000, t % 1000);
        format!(r#"{{"on": {}, "off": {}}}"#, pct(t), pct(BUCKETS - t))
    };
    let flag = |key: &str, t: u32| {
        format!(
            r#"{{"key": "{key}", "variants": {{"on": true, "off": false}}, "off_variant": "off",
                "fallthrough": {{"rollout": {{"salt": "mono", "weights": {}}}}}}}"#,
            weights(t)
        )
    };
    let text = format!(r#"{{"flags": [{}, {}]}}"#, flag("p", p), flag("q", q));
    Snapshot::from_json(text.as_bytes()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Raising a rollout percentage never removes a unit: on at p ⇒ on at q ≥ p.
    #[test]
    fn raising_a_rollout_never_removes_a_unit(
        a in 0u32..=BUCKETS,
        b in 0u32..=BUCKETS,
        units in proptest::collection::vec(any::<String>(), 1..16),
    ) {
        let (p, q) = (a.min(b), a.max(b));
        let snap = rollout_pair(p, q);
        for unit in units {
            let ctx = snap.resolve_context(&json!({ "targetingKey": unit })).unwrap();
            let at_p = snap.details("p", &ctx, json!(false), None, 0);
            let at_q = snap.details("q", &ctx, json!(false), None, 0);
            if unit.is_empty() {
                prop_assert_eq!(at_p.error_code.map(|c| c.as_str()), Some("TARGETING_KEY_MISSING"));
                continue;
            }
            let on_p = at_p.value == json!(true);
            let on_q = at_q.value == json!(true);
            prop_assert!(!on_p || on_q, "unit {:?} on at {} but off at {}", unit, p, q);
            // And exactly the units whose bucket is below the percentage are on.
            prop_assert_eq!(on_p, bucket("mono", &unit) < p);
            prop_assert_eq!(on_q, bucket("mono", &unit) < q);
        }
    }
}

// ------------------------------------------------------------------- no panics

fn example_snapshots() -> Vec<(String, Snapshot)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut out = Vec::new();
    for name in ["finance-flags.json", "healthcare-flags.json"] {
        let bytes = std::fs::read(format!("{dir}/{name}")).unwrap();
        out.push((name.to_string(), Snapshot::from_json(&bytes).unwrap()));
    }
    let yaml = std::fs::read_to_string(format!("{dir}/flags.yaml")).unwrap();
    let doc: FlagsDocument = serde_yaml_ng::from_str(&yaml).unwrap();
    out.push(("flags.yaml".to_string(), Snapshot::compile(&doc).unwrap()));
    out
}

/// Keys the example flags read, so generated contexts actually reach their clauses.
const KEYS: &[&str] = &[
    "targetingKey",
    "segments",
    "account_tier",
    "experience_level",
    "risk_tolerance",
    "market_data",
    "gateway_version",
    "market_data.gateway_version",
    "provider",
    "id",
    "authorized",
    "phi_access",
    "type",
    "department",
    "shift",
    "patient",
    "population",
    "provider.id",
    "email",
    "geo",
    "country",
    "plan",
    "screen",
    "width",
    "app",
    "version",
    "$now",
    "",
];

/// Strings the example clauses compare with, and awkward ones.
const STRINGS: &[&str] = &[
    "high_risk",
    "professional_trader",
    "institutional",
    "premium",
    "expert",
    "low",
    "3.0.0",
    "v3.0.0",
    "2.9.9",
    "1.2.3-beta.1",
    "physician",
    "nurse",
    "icu",
    "ICU",
    "day",
    "night",
    "intensive_care",
    "cardiac_care",
    "provider_10000",
    "acct-27",
    "user-1",
    "a@example.com",
    "12",
    "12.0",
    "-0",
    "1e308",
    "1e309",
    "NaN",
    "inf",
    "2026-06-01T00:00:00Z",
    "2026-13-45T99:99:99Z",
    "",
    " ",
    "Ünïcødé-用户",
    "\u{0}",
    "🚩",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-z_.$]{0,10}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        (0u32..100_000).prop_map(|n| json!(n)),
        proptest::sample::select(STRINGS).prop_map(|s| json!(s)),
        any::<String>().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Mostly objects (contexts), sometimes anything at all.
fn context() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::collection::btree_map(key(), json_value(), 0..12)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => json_value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Evaluation never panics, whatever the context, and always answers in shape:
    /// a served variant's value, or the caller's default with an error code.
    #[test]
    fn evaluation_never_panics(ctx in context(), now in any::<i64>(), default in leaf()) {
        for (file, snap) in example_snapshots() {
            let resolved = match snap.resolve_context(&ctx) {
                Ok(r) => r,
                Err(_) => {
                    prop_assert!(!ctx.is_object(), "{}: an object context was refused", file);
                    continue;
                }
            };
            for _ in snap.evaluate_all(&resolved, now) {}
            for flag in snap.flags() {
                for expected in [None, Some(ValueType::Bool), Some(ValueType::String), Some(ValueType::Number), Some(ValueType::Object)] {
                    let d = snap.details(&flag.key, &resolved, default.clone(), expected, now);
                    match d.error_code {
                        None => {
                            let name = d.variant.as_deref().expect("a served variant");
                            let variant = flag.variants.iter().find(|v| &*v.name == name).expect("known variant");
                            prop_assert_eq!(d.value.to_string(), variant.value.to_string());
                        }
                        Some(_) => {
                            prop_assert_eq!(&d.value, &default);
                            prop_assert!(d.variant.is_none());
                            prop_assert!(d.error_message.is_some());
                        }
                    }
                }
            }
            let missing = snap.details("no-such-flag", &resolved, default.clone(), None, now);
            prop_assert_eq!(missing.error_code.map(|c| c.as_str()), Some("FLAG_NOT_FOUND"));
        }
    }

    /// The binary payload an edge receives evaluates exactly as the document it was
    /// compiled from, whatever the context.
    #[test]
    fn the_binary_payload_evaluates_as_the_document(ctx in context(), now in any::<i64>()) {
        for (file, snap) in example_snapshots() {
            let decoded = Snapshot::decode(&snap.encode("examples", 1)).unwrap();
            if let (Ok(a), Ok(b)) = (snap.resolve_context(&ctx), decoded.resolve_context(&ctx)) {
                let x: Vec<_> = snap.evaluate_all(&a, now).collect();
                let y: Vec<_> = decoded.evaluate_all(&b, now).collect();
                prop_assert_eq!(x, y, "{}", file);
            }
        }
    }

    /// Resolving the same context twice gives the same evaluations (no hidden state).
    #[test]
    fn evaluation_is_deterministic(ctx in context(), now in any::<i64>()) {
        for (_, snap) in example_snapshots() {
            if let (Ok(a), Ok(b)) = (snap.resolve_context(&ctx), snap.resolve_context(&ctx.clone())) {
                let x: Vec<_> = snap.evaluate_all(&a, now).collect();
                let y: Vec<_> = snap.evaluate_all(&b, now).collect();
                prop_assert_eq!(x, y);
            }
        }
    }
}

/// Arbitrary JSON as a flags document never panics the loader either.
#[test]
fn loading_arbitrary_json_never_panics() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    runner
        .run(&json_value(), |doc| {
            let _ = Snapshot::from_json(&serde_json::to_vec(&doc).unwrap());
            let _ = Snapshot::from_json(&serde_json::to_vec(&json!({ "flags": [doc] })).unwrap());
            Ok(())
        })
        .unwrap();
}

/// Damaged binary payloads (bytes flipped, inserted, dropped) are refused or decode
/// to a valid snapshot; decoding never panics, and a decoded snapshot evaluates.
#[test]
fn damaged_payloads_never_panic() {
    let payloads: Vec<Vec<u8>> = example_snapshots()
        .iter()
        .map(|(_, s)| s.encode("examples", 1))
        .collect();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 2048,
        ..ProptestConfig::default()
    });
    let edits =
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6);
    runner
        .run(&(0..payloads.len(), edits), |(which, edits)| {
            let mut bytes = payloads[which].clone();
            for (at, byte, kind) in edits {
                let i = at.index(bytes.len().max(1));
                match kind {
                    0 if !bytes.is_empty() => bytes[i] = byte,
                    1 => bytes.insert(i.min(bytes.len()), byte),
                    _ if !bytes.is_empty() => {
                        bytes.remove(i);
                    }
                    _ => {}
                }
            }
            if let Ok(snap) = Snapshot::decode(&bytes) {
                let ctx = snap
                    .resolve_context(&json!({"targetingKey": "u-1"}))
                    .unwrap();
                for _ in snap.evaluate_all(&ctx, 0) {}
            }
            Ok(())
        })
        .unwrap();
}
