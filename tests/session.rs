//! The evaluation session natively: a slot filled from a JSON context evaluates as
//! the snapshot does, and its unit and dimensions reach the metrics batch.

use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use vexil::engine::time::parse_rfc3339_ms;
use vexil::engine::{ErrorCode, Snapshot};
use vexil::session::{Session, SessionConfig};
use vexil::snapshot::{sign, Keyring, StalePolicy};

fn now() -> i64 {
    parse_rfc3339_ms("2026-11-24T12:00:00Z").unwrap()
}

fn document() -> Value {
    json!({
        "environment": "production", "version": 1,
        "issued_at": "2026-11-24T00:00:00Z", "expires_at": "2026-11-25T00:00:00Z",
        "flags": [
            {"key": "beta", "variants": {"off": false, "on": true}, "off_variant": "off",
             "rules": [{"id": "pro", "when": {"attr": "plan", "op": "eq", "values": ["pro"]},
                        "serve": {"variant": "on"}}],
             "fallthrough": {"rollout": {"weights": {"on": 50, "off": 50}}}}
        ]
    })
}

fn session() -> (Session, Snapshot) {
    let doc = document();
    let snapshot = Snapshot::from_json(doc.to_string().as_bytes()).expect("valid");
    let key = SigningKey::from_bytes(&[7; 32]);
    let mut keyring = Keyring::default();
    keyring.insert("k1", key.verifying_key());
    let mut session = Session::new(SessionConfig {
        environment: "production".into(),
        keyring,
        stale_policy: StalePolicy::ServeStale,
        dimensions: vec!["geo.country".into()],
        audit_key: b"k".to_vec(),
        metrics: true,
    });
    let envelope = sign(&snapshot.encode("production", 1), "k1", &key).to_json();
    session.load(envelope.as_bytes(), now()).expect("loads");
    (session, snapshot)
}

#[test]
fn a_slot_filled_from_json_evaluates_as_the_snapshot_and_counts_its_unit_and_dimension() {
    let (mut s, snapshot) = session();
    let slot = s.open();
    for (i, ctx) in [
        json!({"targetingKey": "u1", "plan": "pro", "geo": {"country": "FR"}}),
        json!({"targetingKey": "u2", "plan": "free", "geo": {"country": "DE"}}),
        json!({"targetingKey": "u3"}),
    ]
    .iter()
    .enumerate()
    {
        s.fill_json(slot, ctx).expect("an object");
        let expected = snapshot.evaluate(0, &snapshot.resolve_context(ctx).unwrap(), now());
        assert_eq!(s.evaluate(0, slot, now()), expected, "context {i}");
    }
    let batch: Value = serde_json::from_str(
        &s.take_batch("b1".into(), "test".into(), now(), &mut |out, f| {
            out.push_str(&f.to_string())
        })
        .expect("evaluations were counted"),
    )
    .unwrap();
    let flag = &batch["flags"]["beta"];
    // Each unit is one register of its variant's sketch (three units, far apart).
    let units: usize = flag["variants"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["units"]["sparse"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(units, 3, "{flag}");
    let text = flag.to_string();
    assert!(text.contains("\"FR\"") && text.contains("\"DE\""), "{text}");
}

#[test]
fn a_context_that_is_not_an_object_is_refused_and_the_slot_stays_unfilled() {
    let (mut s, _) = session();
    let slot = s.open();
    assert!(s.fill_json(slot, &json!(["not", "an", "object"])).is_err());
    assert_eq!(
        s.evaluate(0, slot, now()).error,
        Some(ErrorCode::InvalidContext)
    );
}
