//! The engine compiled to wasm, run under Node by `wasm-bindgen-test-runner`
//! (`cargo test -p vexil-wasm --target wasm32-unknown-unknown --test wasm`): the session behind the
//! bindings, and the bindings' staging buffers. (The golden vectors run in wasm
//! through the JS package: `pkg/test/vectors.test.js`.)
#![cfg(target_arch = "wasm32")]

use ed25519_dalek::SigningKey;
use vexil::session::records::{kind, Record, NO_LOWER};
use vexil::session::{Session, SessionConfig, TrackData};
use vexil::snapshot::{sign, Keyring, StalePolicy};
use vexil_wasm::Engine;
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: i64 = 1_790_000_000_000;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn uv(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn text(out: &mut Vec<u8>, s: &str) {
    uv(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// `plan eq VALUE` (attribute 1, shifted by one; operator 2 is `eq`).
fn plan_is(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&[4, 2, 2, 0, 1, 0]);
    text(out, value);
}

/// A format-2 payload written by hand (docs/snapshot-format.md): flag `checkout`,
/// `plan` beta → on, pro → a 50/50 rollout, else `fallthrough` (0 off, 1 on).
fn payload(version: u64, fallthrough: u8) -> Vec<u8> {
    let mut p = b"VXP\x02".to_vec();
    text(&mut p, "production");
    uv(&mut p, version);
    for ms in [NOW - 3_600_000, NOW + 86_400_000] {
        p.push(1);
        uv(&mut p, (ms << 1) as u64);
    }
    uv(&mut p, 2);
    text(&mut p, "targetingKey");
    text(&mut p, "plan");
    p.extend_from_slice(&[0, 0, 1]); // no segments, no groups, one flag
    text(&mut p, "checkout");
    p.extend_from_slice(&[0, 2]); // boolean, two variants
    for (name, value) in [("off", "false"), ("on", "true")] {
        text(&mut p, name);
        text(&mut p, value);
    }
    p.extend_from_slice(&[1, 1, 0]); // off variant 0 (+1), enabled, no private attributes
    text(&mut p, "{}");
    p.extend_from_slice(&[0, 0, 0, 2]); // no prerequisites, exclusion, access; 2 rules
    text(&mut p, "beta");
    plan_is(&mut p, "beta");
    p.extend_from_slice(&[0, 1]);
    text(&mut p, "split");
    plan_is(&mut p, "pro");
    p.extend_from_slice(&[1, 0]); // a rollout, vexil bucketing
    text(&mut p, "checkout.");
    p.extend_from_slice(&[1, 0, 2]); // unit: targetingKey; two cuts
    uv(&mut p, 50_000);
    p.push(1);
    uv(&mut p, 100_000);
    p.push(0);
    p.extend_from_slice(&[0, 0]); // does not fall through; no weight total
    p.extend_from_slice(&[0, fallthrough]);
    p
}

fn envelope(version: u64, fallthrough: u8) -> Vec<u8> {
    sign(&payload(version, fallthrough), "k1", &key())
        .to_json()
        .into_bytes()
}

fn session() -> Session {
    let mut keyring = Keyring::default();
    keyring.insert("k1", key().verifying_key());
    Session::new(SessionConfig {
        environment: "production".into(),
        keyring,
        stale_policy: StalePolicy::ServeStale,
        dimensions: Vec::new(),
        audit_key: b"k".to_vec(),
        metrics: true,
    })
}

/// Records for `targetingKey` (text) and `plan` (literal id: beta 0, pro 1).
fn records(unit: &str, plan: Option<u32>) -> (Vec<Record>, Vec<u8>) {
    let mut out = vec![Record {
        attr: 0,
        kind_len: kind::STR_TEXT | (unit.len() as u32) << 8,
        lit: u32::MAX,
        offset: 0,
        folded: u32::MAX,
        lower_len: NO_LOWER,
        num: f64::NAN,
        js_num: f64::NAN,
    }];
    if let Some(lit) = plan {
        out.push(Record {
            attr: 1,
            kind_len: kind::STR,
            lit,
            offset: 0,
            folded: u32::MAX,
            lower_len: NO_LOWER,
            num: f64::NAN,
            js_num: f64::NAN,
        });
    }
    (out, unit.as_bytes().to_vec())
}

#[wasm_bindgen_test]
fn a_session_evaluates_filled_slots_and_keeps_the_last_good_snapshot() {
    let mut s = session();
    let slot = s.open();
    assert!(s.evaluate(0, slot, NOW).error.is_some(), "no snapshot yet");
    s.load(&envelope(1, 0), NOW).expect("load");
    let (r, t) = records("u1", Some(0));
    s.fill(slot, true, &r, &t);
    let o = s.evaluate(0, slot, NOW);
    assert_eq!(
        (o.variant, o.rule),
        (Some(1), Some(0)),
        "beta is on by rule 0"
    );

    let (r, t) = records("u1", None);
    s.fill(slot, true, &r, &t);
    assert_eq!(s.evaluate(0, slot, NOW).variant, Some(0), "fallthrough off");

    // Rejections keep version 1; a newer one loads and the slot must be refilled.
    assert!(s.load(&envelope(1, 1), NOW).is_err(), "rollback refused");
    let mut tampered = envelope(2, 1);
    let n = tampered.len();
    tampered[n / 2] ^= 1;
    assert!(s.load(&tampered, NOW).is_err(), "tampered refused");
    assert_eq!(s.store().version(), Some(1));
    s.load(&envelope(2, 1), NOW).expect("v2");
    assert!(
        s.evaluate(0, slot, NOW).error.is_some(),
        "a stale fill is invalid"
    );
    s.fill(slot, true, &r, &t);
    assert_eq!(
        s.evaluate(0, slot, NOW).variant,
        Some(1),
        "fallthrough on in v2"
    );

    let mut all = Vec::new();
    s.evaluate_all(slot, NOW, &mut all);
    assert_eq!(all.len(), 2);
    s.track("checkout", slot, &TrackData::default(), NOW);
    let mut floats = Vec::new();
    let batch = s
        .take_batch("b1".into(), "test".into(), NOW, &mut |out, n| {
            out.push('0');
            floats.push(n);
        })
        .expect("a batch");
    assert!(batch.contains("\"checkout\""), "{batch}");
    assert!(!batch.contains("u1"), "no unit ids: {batch}");
}

/// A version-2 pattern is source only: the wasm module has no regex compiler, so it
/// refuses the snapshot with a reason (an upgraded origin re-signs in version 3).
#[wasm_bindgen_test]
fn a_version_2_pattern_is_refused_with_a_reason() {
    let mut p = payload(1, 0);
    let mut pro = vec![4, 2, 2, 0, 1, 0];
    text(&mut pro, "pro");
    let at = p
        .windows(pro.len())
        .position(|w| w == pro)
        .expect("the pro test");
    let mut matches = vec![4, 2, 7, 0, 1]; // `plan matches ["^b"]`
    text(&mut matches, "^b");
    p.splice(at..at + pro.len(), matches);
    let mut s = session();
    let err = s
        .load(&sign(&p, "k1", &key()).to_json().into_bytes(), NOW)
        .expect_err("refused");
    assert!(err.message.contains("re-sign"), "{}", err.message);
    assert!(
        s.load(&envelope(1, 0), NOW).is_ok(),
        "without a pattern it loads"
    );
}

#[wasm_bindgen_test]
fn the_bindings_read_records_from_their_staging_buffers() {
    use base64::Engine as _;
    let public = base64::engine::general_purpose::STANDARD.encode(key().verifying_key().as_bytes());
    let mut engine = Engine::new(
        "production".into(),
        &format!("k1\n{public}"),
        false,
        "",
        b"k",
        true,
    )
    .expect("engine");
    engine.load(&envelope(1, 0), NOW as f64).expect("load");
    let (r, t) = records("u1", Some(0));
    let at = engine.staging(r.len() as u32, t.len() as u32) as *mut Record;
    let text_at = engine.staging_text() as *mut u8;
    // The host writes straight into the engine's memory, as pkg/context.js does.
    unsafe {
        std::ptr::copy_nonoverlapping(r.as_ptr(), at, r.len());
        std::ptr::copy_nonoverlapping(t.as_ptr(), text_at, t.len());
    }
    let slot = engine.open();
    let packed = engine.fill_eval(0, slot, NOW as f64, true, r.len() as u32);
    assert_eq!(packed & 0xFFFF, 1, "on");
    assert_eq!(packed >> 24, 1, "rule 0, plus one");
    assert!(engine.flag_row(0).expect("a row").contains("\"checkout\""));
    assert!(engine.attribute_table().contains("\"plan\""));
}

/// `Session::trace`: the count of what follows, the packed outcome and its rule, then
/// three codes a step (`engine::trace::codes`); traced evaluations are not counted.
#[wasm_bindgen_test]
fn a_trace_is_the_outcome_then_three_codes_a_step_and_is_not_counted() {
    use vexil::engine::trace::codes::{MATCHED, NOT_MATCHED, ROLLOUT, RULE};
    use vexil::session::{pack, NO_RULE};
    let mut s = session();
    let slot = s.open();
    let mut out = Vec::new();
    s.trace(0, slot, NOW, &mut out);
    let not_ready = s.evaluate(0, slot, NOW);
    assert_eq!(out, [2, pack(&not_ready), NO_RULE], "no snapshot: no steps");
    s.load(&envelope(1, 0), NOW).expect("load");
    s.take_batch("b0".into(), "test".into(), NOW, &mut |_, _| {});
    let (r, t) = records("u1", Some(1));
    s.fill(slot, true, &r, &t);
    out.clear();
    s.trace(0, slot, NOW, &mut out);
    assert_eq!(out.len(), 12, "{out:?}");
    assert_eq!(out[0], 11);
    assert_eq!(out[2], 1, "served by rule 1");
    assert_eq!(out[3..9], [RULE, 0, NOT_MATCHED, RULE, 1, MATCHED]);
    assert_eq!(out[9..11], [ROLLOUT, 0], "bucketed by targetingKey");
    assert!(out[11] < 100_000);
    let o = s.evaluate(0, slot, NOW);
    assert_eq!(out[1], pack(&o), "the trace's outcome is the evaluation's");
    assert_eq!(
        o.variant,
        Some(u16::from(out[11] < 50_000)),
        "on below 50 000"
    );
    let batch = s
        .take_batch("b1".into(), "test".into(), NOW, &mut |out, _| out.push('0'))
        .expect("a batch");
    assert!(
        batch.contains("\"count\":1"),
        "one evaluation, the untraced one: {batch}"
    );
}
