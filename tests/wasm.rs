//! The wasm-bindgen surface, run under Node by `wasm-bindgen-test-runner`
//! (`cargo test --target wasm32-unknown-unknown --test wasm`).
#![cfg(target_arch = "wasm32")]

use ed25519_dalek::SigningKey;
use vexil::snapshot::sign;
use vexil::wasm::Engine;
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: f64 = 1_790_000_000_000.0;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn keys_json() -> String {
    use base64::Engine as _;
    let public = base64::engine::general_purpose::STANDARD.encode(key().verifying_key().as_bytes());
    format!(r#"{{"keys": {{"k1": "{public}"}}, "environment": "production"}}"#)
}

fn envelope(version: u64, fallthrough: &str) -> Vec<u8> {
    let payload = format!(
        r#"{{"environment":"production","version":{version},
            "issued_at":"2026-09-21T00:00:00Z","expires_at":"2026-09-23T00:00:00Z",
            "flags":[
              {{"key":"checkout","variants":{{"on":true,"off":false}},"off_variant":"off",
                "rules":[{{"id":"beta","when":{{"attr":"plan","op":"eq","values":["beta"]}},"serve":{{"variant":"on"}}}},
                         {{"id":"split","when":{{"attr":"plan","op":"eq","values":["pro"]}},"serve":{{"rollout":{{"weights":{{"on":50,"off":50}}}}}}}}],
                "fallthrough":{{"variant":"{fallthrough}"}}}}
            ]}}"#
    );
    sign(payload.as_bytes(), "k1", &key())
        .to_json()
        .into_bytes()
}

fn variant(packed: u32) -> u32 {
    packed & 0xFFFF
}
fn reason(packed: u32) -> u32 {
    (packed >> 16) & 0xF
}
fn error(packed: u32) -> u32 {
    (packed >> 20) & 0xF
}

#[wasm_bindgen_test]
fn loads_and_evaluates_with_packed_outcomes() {
    let mut engine = Engine::new(&keys_json()).expect("engine");
    // Before a snapshot: PROVIDER_NOT_READY (error index 0 + 1).
    let mut ctx = engine.context(r#"{"targetingKey":"u1","plan":"beta"}"#);
    assert_eq!(error(engine.eval(0, &mut ctx, NOW)), 1);

    let info = engine.load(&envelope(1, "off"), NOW).expect("load");
    assert!(info.contains("\"version\":1"));
    assert_eq!(engine.flag_index("checkout"), 0);
    assert_eq!(engine.flag_index("missing"), -1);

    let packed = engine.eval(0, &mut ctx, NOW);
    assert_eq!(error(packed), 0);
    assert_eq!(variant(packed), 1, "variants sort by name: off=0, on=1");
    assert_eq!(reason(packed), 1, "TARGETING_MATCH");
    assert_eq!(packed >> 24, 1, "rule index 0, plus one");
    assert_eq!(engine.last_rule(), 0);

    let mut other = engine.context(r#"{"targetingKey":"u1","plan":"free"}"#);
    let packed = engine.eval(0, &mut other, NOW);
    assert_eq!((variant(packed), reason(packed)), (0, 3), "off by DEFAULT");
    assert_eq!(packed >> 24, 0, "no rule");
    assert_eq!(engine.last_rule(), -1);

    let mut no_key = engine.context(r#"{"plan":"pro"}"#);
    let packed = engine.eval(0, &mut no_key, NOW);
    assert_eq!(variant(packed), 0xFFFF);
    assert_eq!(error(packed), 5, "TARGETING_KEY_MISSING");

    let mut bad = engine.context("[1,2]");
    assert!(!bad.valid());
    assert_eq!(error(engine.eval(0, &mut bad, NOW)), 6, "INVALID_CONTEXT");

    // The glue's one-crossing fill gives the same answers as JSON.
    let table = engine.attribute_table();
    let plan = serde_json::from_str::<Vec<String>>(&table)
        .expect("table")
        .iter()
        .position(|p| p == "plan")
        .expect("plan is read");
    let mut filled = engine.new_context();
    engine.fill(&mut filled, &format!("s0:2:u1s{plan}:4:beta"));
    assert_eq!(
        engine.eval(0, &mut filled, NOW),
        engine.eval(0, &mut ctx, NOW)
    );
    // A malformed encoding (a length past the end) makes the context invalid.
    engine.fill(&mut filled, "s0:99:u1");
    assert!(!filled.valid());
    assert_eq!(
        error(engine.eval(0, &mut filled, NOW)),
        6,
        "INVALID_CONTEXT"
    );
    // A filled context is tied to its snapshot: after a new one it must be filled again.
    engine.fill(&mut filled, &format!("s0:2:u1s{plan}:4:beta"));
    engine.load(&envelope(2, "off"), NOW).expect("load v2");
    assert_eq!(
        error(engine.eval(0, &mut filled, NOW)),
        6,
        "stale fill is INVALID_CONTEXT"
    );
}

#[wasm_bindgen_test]
fn rejections_keep_the_last_good_snapshot_and_contexts_follow_new_ones() {
    let mut engine = Engine::new(&keys_json()).expect("engine");
    engine.load(&envelope(2, "off"), NOW).expect("load");
    let mut ctx = engine.context(r#"{"targetingKey":"u1"}"#);
    assert_eq!(variant(engine.eval(0, &mut ctx, NOW)), 0);

    assert!(
        engine.load(&envelope(1, "on"), NOW).is_err(),
        "rollback refused"
    );
    let mut tampered = envelope(3, "on");
    let n = tampered.len();
    tampered[n / 2] ^= 1;
    assert!(engine.load(&tampered, NOW).is_err());
    assert_eq!(engine.version(), Some(2.0));
    assert_eq!(variant(engine.eval(0, &mut ctx, NOW)), 0);

    engine.load(&envelope(3, "on"), NOW).expect("newer version");
    assert_eq!(
        variant(engine.eval(0, &mut ctx, NOW)),
        1,
        "re-resolved for v3"
    );
}

#[wasm_bindgen_test]
fn eval_all_and_metrics_batches() {
    let mut engine = Engine::new(&keys_json()).expect("engine");
    engine.load(&envelope(1, "off"), NOW).expect("load");
    let mut ctx = engine.context(r#"{"targetingKey":"user-secret-1","plan":"beta"}"#);
    let all = engine.eval_all(&mut ctx, NOW);
    assert_eq!(all.len(), 2);
    assert_eq!(variant(all[0]), 1);
    assert_eq!(all[1], 0, "rule index 0");

    let batch = engine
        .take_metrics("b1".into(), "test".into(), NOW)
        .expect("a batch");
    assert!(batch.contains("\"checkout\""));
    assert!(!batch.contains("user-secret-1"));
    assert!(engine
        .take_metrics("b2".into(), "test".into(), NOW)
        .is_none());
}
