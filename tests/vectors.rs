//! Golden vectors: the contract between engine versions.
//!
//! `tests/vectors/buckets.json` pins the hash and bucketing function (computed by
//! independent implementations); `tests/vectors/evaluations.json` pins full
//! evaluations: a flags document, a context, the evaluation time and the caller's
//! default, and the exact OpenFeature-shaped result.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use vexil::engine::time::parse_rfc3339_ms;
use vexil::engine::{
    bucket, murmur3_x86_32, Details, ErrorCode, FlagsDocument, Reason, Snapshot, ValueType,
};

fn read(name: &str) -> String {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(name: &str) -> Value {
    serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One evaluation vector. `flags` is deserialised straight into the model (never via
/// `serde_json::Value`, whose maps are sorted and would reorder rollout weights).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    flags: FlagsDocument,
    context: Value,
    now: String,
    flag: String,
    default: Value,
    #[serde(default)]
    expected_type: Option<String>,
    expected: Expected,
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    value: Value,
    variant: Option<String>,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
}

#[derive(Deserialize)]
struct Vectors {
    #[allow(dead_code)]
    description: String,
    cases: Vec<Case>,
}

fn load_cases() -> Vec<Case> {
    let text = read("evaluations.json");
    let mut de = serde_json::Deserializer::from_str(&text);
    let vectors: Vectors = serde_path_to_error::deserialize(&mut de)
        .unwrap_or_else(|e| panic!("evaluations.json: {}: {}", e.path(), e.inner()));
    vectors.cases
}

#[test]
fn murmur3_vectors() {
    let doc = load("buckets.json");
    let cases = doc["murmur3_x86_32"].as_array().unwrap();
    assert!(cases.len() >= 3);
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let expected = case["hash"].as_u64().unwrap();
        assert_eq!(
            u64::from(murmur3_x86_32(input.as_bytes(), 0)),
            expected,
            "murmur3_x86_32({input:?})"
        );
    }
}

#[test]
fn bucket_vectors() {
    let doc = load("buckets.json");
    let cases = doc["buckets"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let salt = case["salt"].as_str().unwrap();
        let unit = case["unit"].as_str().unwrap();
        let hash = case["hash"].as_u64().unwrap();
        let expected = case["bucket"].as_u64().unwrap();
        let input = format!("{salt}.{unit}");
        assert_eq!(
            u64::from(murmur3_x86_32(input.as_bytes(), 0)),
            hash,
            "hash of ({salt:?}, {unit:?})"
        );
        assert_eq!(
            hash % 100_000,
            expected,
            "vector ({salt:?}, {unit:?}) is inconsistent"
        );
        assert_eq!(
            u64::from(bucket(salt, unit)),
            expected,
            "bucket({salt:?}, {unit:?})"
        );
    }
}

/// The required cases of the design, computed by an independent implementation.
#[test]
fn bucket_vectors_include_the_independent_cases() {
    let doc = load("buckets.json");
    let have: BTreeSet<(String, String, u64, u64)> = doc["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["salt"].as_str().unwrap().to_string(),
                c["unit"].as_str().unwrap().to_string(),
                c["hash"].as_u64().unwrap(),
                c["bucket"].as_u64().unwrap(),
            )
        })
        .collect();
    let required: [(&str, &str, u64, u64); 10] = [
        ("", "", 2_941_713_443, 13_443),
        ("flag", "user-1", 3_653_648_881, 48_881),
        (
            "enhanced-order-routing-v2",
            "user-12345",
            352_470_590,
            70_590,
        ),
        (
            "enhanced-clinical-alerts-v2",
            "provider_12345",
            1_172_051_466,
            51_466,
        ),
        ("b25", "user-0", 2_900_560_916, 60_916),
        ("b25", "user-1999", 3_682_395_160, 95_160),
        ("gsalt", "u1", 2_446_181_151, 81_151),
        ("checkout-v2", "Ünïcødé-用户", 3_065_436_038, 36_038),
        ("x", "a.b.c", 389_292_105, 92_105),
        ("routing-2026", "acct-42", 3_923_803_845, 3_845),
    ];
    for (salt, unit, hash, b) in required {
        assert!(
            have.contains(&(salt.to_string(), unit.to_string(), hash, b)),
            "buckets.json lacks ({salt:?}, {unit:?})"
        );
        assert_eq!(u64::from(bucket(salt, unit)), b);
    }
}

fn value_type(name: &str) -> ValueType {
    match name {
        "boolean" => ValueType::Bool,
        "string" => ValueType::String,
        "number" => ValueType::Number,
        "object" => ValueType::Object,
        other => panic!("unknown expected_type {other:?}"),
    }
}

/// Evaluates like an adapter does: resolve the context once, then `details`; a context
/// that cannot be resolved gives the caller's default with `INVALID_CONTEXT`.
fn evaluate(
    snap: &Snapshot,
    flag: &str,
    ctx: &Value,
    default: Value,
    expected: Option<ValueType>,
    now_ms: i64,
) -> Details {
    snap.details_for_context(flag, ctx, default, expected, now_ms)
}

#[test]
fn evaluation_vectors() {
    let cases = load_cases();
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let mut names = BTreeSet::new();
    let mut reasons = BTreeSet::new();
    let mut codes = BTreeSet::new();
    let mut failures = Vec::new();
    for case in cases {
        let name = case.name.as_str();
        assert!(
            names.insert(name.to_string()),
            "duplicate case name {name:?}"
        );
        let compiled = Snapshot::compile(&case.flags)
            .unwrap_or_else(|e| panic!("case {name:?}: flags do not load: {e}"));
        // Edges read the binary payload: the case must hold through it too.
        let decoded = Snapshot::decode(&compiled.encode("vectors", 1))
            .unwrap_or_else(|e| panic!("case {name:?}: payload does not decode: {e}"));
        let now_ms =
            parse_rfc3339_ms(&case.now).unwrap_or_else(|| panic!("case {name:?}: bad now"));
        let expected_type = case.expected_type.as_deref().map(value_type);
        // What `vexil snapshot inspect` prints compiles back to the same evaluations.
        let inspected = Snapshot::from_json(decoded.to_document().to_string().as_bytes())
            .unwrap_or_else(|e| panic!("case {name:?}: the inspected document does not load: {e}"));
        let results = [&compiled, &decoded, &inspected].map(|snap| {
            evaluate(
                snap,
                &case.flag,
                &case.context,
                case.default.clone(),
                expected_type,
                now_ms,
            )
        });
        assert_eq!(
            results[0], results[1],
            "case {name:?}: the payload evaluates differently"
        );
        assert_eq!(
            results[0], results[2],
            "case {name:?}: the inspected document evaluates differently"
        );
        let got = results[0].clone();
        let exp = &case.expected;
        reasons.insert(exp.reason.clone());
        if let Some(code) = &exp.error_code {
            codes.insert(code.clone());
        }
        let ok = got.value == exp.value
            && got.variant == exp.variant
            && got.reason.as_str() == exp.reason
            && got.rule_id == exp.rule_id
            && got.error_code.map(ErrorCode::as_str) == exp.error_code.as_deref()
            && (got.error_code.is_some() == got.error_message.is_some());
        if !ok {
            failures.push(format!(
                "{name}:\n    expected {}\n    got      {}",
                serde_json::to_string(exp).unwrap(),
                serde_json::to_string(&got).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vectors failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    // The vectors cover every reason and the error codes an evaluation can produce.
    for r in Reason::ALL {
        assert!(reasons.contains(r.as_str()), "no vector with reason {r}");
    }
    for c in [
        ErrorCode::FlagNotFound,
        ErrorCode::TypeMismatch,
        ErrorCode::TargetingKeyMissing,
        ErrorCode::InvalidContext,
    ] {
        assert!(codes.contains(c.as_str()), "no vector with error code {c}");
    }
}

/// Loading a case's flags from JSON bytes (as a snapshot payload arrives) compiles to
/// the same evaluation as the typed document: rollout weights keep their written order.
#[test]
fn evaluation_vectors_survive_a_json_round_trip() {
    for case in load_cases() {
        let bytes = serde_json::to_vec(&case.flags).unwrap();
        let snap = Snapshot::from_json(&bytes).unwrap();
        let direct = Snapshot::compile(&case.flags).unwrap();
        let now_ms = parse_rfc3339_ms(&case.now).unwrap();
        if let (Ok(a), Ok(b)) = (
            snap.resolve_context(&case.context),
            direct.resolve_context(&case.context),
        ) {
            let x = snap.details(&case.flag, &a, case.default.clone(), None, now_ms);
            let y = direct.details(&case.flag, &b, case.default.clone(), None, now_ms);
            assert_eq!(x, y, "case {:?}", case.name);
        }
    }
}

/// Every operator of the model appears in at least one vector.
#[test]
fn evaluation_vectors_cover_every_operator() {
    fn walk(v: &Value, ops: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if let (Some(Value::String(op)), true) = (map.get("op"), map.contains_key("attr")) {
                    ops.insert(op.clone());
                }
                map.values().for_each(|v| walk(v, ops));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, ops)),
            _ => {}
        }
    }
    let doc = load("evaluations.json");
    let mut ops = BTreeSet::new();
    for case in doc["cases"].as_array().unwrap() {
        walk(&case["flags"], &mut ops);
    }
    let all = [
        "in",
        "not_in",
        "eq",
        "neq",
        "contains",
        "starts_with",
        "ends_with",
        "matches",
        "lt",
        "lte",
        "gt",
        "gte",
        "semver_lt",
        "semver_lte",
        "semver_eq",
        "semver_gte",
        "semver_gt",
        "before",
        "after",
        "exists",
        "in_cidr",
    ];
    for op in all {
        assert!(ops.contains(op), "no vector uses operator `{op}`");
    }
}

/// Rollouts migrated from Unleash and flagd keep every unit's variant: the expected
/// variants come from the real `unleash-client` and `@openfeature/flagd-core`
/// (`tests/vectors/generate-compat.mjs`).
#[test]
fn bucketing_compatible_with_unleash_and_flagd() {
    let doc = load("bucketing-compat.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 6);
    for case in cases {
        let key = case["flag_key"].as_str().unwrap_or("migrated");
        let weights = case["rollout"]["weights"].as_object().expect("weights");
        let variants: serde_json::Map<String, Value> = weights
            .keys()
            .map(|v| (v.clone(), Value::String(v.clone())))
            .collect();
        let flags = serde_json::json!({ "flags": [{
            "key": key, "variants": variants, "off_variant": weights.keys().next().unwrap(),
            "fallthrough": { "rollout": case["rollout"] },
        }]});
        let compiled = vexil::engine::Snapshot::from_json(flags.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        let snapshot = Snapshot::decode(&compiled.encode("compat", 1)).unwrap();
        let mut wrong = Vec::new();
        for pair in case["expected"].as_array().expect("expected") {
            let (unit, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            let ctx = serde_json::json!({ "targetingKey": unit });
            let got = snapshot.details_for_context(key, &ctx, Value::Null, None, 0);
            if got.variant.as_deref() != Some(want) {
                wrong.push(format!("{unit}: {:?} instead of {want}", got.variant));
            }
        }
        assert!(
            wrong.is_empty(),
            "{}: {} of {} differ: {:?}",
            case["name"],
            wrong.len(),
            case["expected"].as_array().unwrap().len(),
            &wrong[..wrong.len().min(5)]
        );
    }
}

#[test]
fn coarse_schemes_refuse_finer_weights() {
    let flags = serde_json::json!({ "flags": [{
        "key": "f", "variants": { "on": true, "off": false }, "off_variant": "off",
        "fallthrough": { "rollout": { "bucketing": "unleash", "weights": { "on": 12.5, "off": 87.5 } } },
    }]});
    let err = vexil::engine::Snapshot::from_json(flags.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("whole percentages"), "{err}");
}
