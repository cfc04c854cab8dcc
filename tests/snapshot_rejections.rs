//! The adversarial corpus: every way a snapshot can be wrong is rejected with its
//! own code and a precise message, and the last known good snapshot keeps serving.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use vexil::engine::time::parse_rfc3339_ms;
use vexil::engine::Snapshot;
use vexil::snapshot::{sign, verify, Keyring, PrivateKeyFile, RejectCode, StalePolicy, Store};

const NOW: &str = "2026-11-24T12:00:00Z";

fn now() -> i64 {
    parse_rfc3339_ms(NOW).unwrap()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn keyring(keys: &[(&str, u8)]) -> Keyring {
    let mut ring = Keyring::default();
    for (id, seed) in keys {
        ring.insert(*id, key(*seed).verifying_key());
    }
    ring
}

/// A payload whose one flag serves `value`.
fn payload(env: &str, version: u64, value: &str) -> Value {
    json!({
        "environment": env, "version": version,
        "issued_at": "2026-11-24T00:00:00Z", "expires_at": "2026-11-25T00:00:00Z",
        "flags": [{"key": "banner", "variants": {"a": "old", "b": "new"}, "off_variant": "a",
                   "fallthrough": {"variant": value}}]
    })
}

/// The format-2 payload of a flags document, as the origin and the CLI write it.
fn encoded(doc: &Value) -> Vec<u8> {
    let snap = Snapshot::from_json(doc.to_string().as_bytes()).expect("a valid document");
    let env = doc["environment"].as_str().unwrap_or("production");
    snap.encode(env, doc["version"].as_u64().unwrap_or(1))
}

fn envelope(doc: &Value, key_id: &str, seed: u8) -> Vec<u8> {
    sign(&encoded(doc), key_id, &key(seed))
        .to_json()
        .into_bytes()
}

/// A store serving version 1 (`banner` = "old").
fn serving() -> Store {
    let mut store = Store::new(
        keyring(&[("k1", 1)]),
        "production".into(),
        StalePolicy::ServeStale,
    );
    store
        .load(&envelope(&payload("production", 1, "a"), "k1", 1), now())
        .expect("v1 loads");
    store
}

fn banner(store: &Store) -> Value {
    let snapshot = store.snapshot().expect("a snapshot");
    let ctx = snapshot.resolve_context(&json!({})).unwrap();
    snapshot
        .details("banner", &ctx, json!("default"), None, now())
        .value
}

/// Asserts `bytes` is rejected with `code`, a message containing `fragment`, and that
/// version 1 keeps serving.
fn rejects(bytes: &[u8], code: RejectCode, fragment: &str) {
    let mut store = serving();
    let err = store.load(bytes, now()).expect_err("must be rejected");
    assert_eq!(err.code, code, "{err}");
    assert!(
        err.message.contains(fragment),
        "`{}` should mention `{fragment}`",
        err.message
    );
    assert_eq!(store.version(), Some(1));
    assert_eq!(
        banner(&store),
        json!("old"),
        "last known good keeps serving"
    );
}

fn with_payload_bytes(bytes: &[u8], seed: u8) -> Vec<u8> {
    sign(bytes, "k1", &key(seed)).to_json().into_bytes()
}

fn edit_envelope(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut env: Value =
        serde_json::from_slice(&envelope(&payload("production", 2, "b"), "k1", 1)).unwrap();
    f(env.as_object_mut().unwrap());
    env.to_string().into_bytes()
}

#[test]
fn tampered_payload_byte() {
    rejects(
        &edit_envelope(|env| {
            let mut bytes = BASE64.decode(env["payload"].as_str().unwrap()).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x01;
            env.insert("payload".into(), json!(BASE64.encode(bytes)));
        }),
        RejectCode::BadSignature,
        "does not verify",
    );
}

#[test]
fn tampered_signature() {
    rejects(
        &edit_envelope(|env| {
            let mut sig = BASE64.decode(env["signature"].as_str().unwrap()).unwrap();
            sig[0] ^= 0x80;
            env.insert("signature".into(), json!(BASE64.encode(sig)));
        }),
        RejectCode::BadSignature,
        "key `k1`",
    );
}

#[test]
fn unknown_key_id() {
    rejects(
        &envelope(&payload("production", 2, "b"), "k9", 9),
        RejectCode::UnknownKey,
        "`k9`",
    );
}

#[test]
fn right_id_wrong_key() {
    rejects(
        &envelope(&payload("production", 2, "b"), "k1", 2),
        RejectCode::BadSignature,
        "does not verify",
    );
}

#[test]
fn wrong_environment() {
    rejects(
        &envelope(&payload("staging", 2, "b"), "k1", 1),
        RejectCode::WrongEnvironment,
        "`staging`",
    );
}

#[test]
fn replayed_older_and_same_version() {
    let mut store = serving();
    store
        .load(&envelope(&payload("production", 5, "b"), "k1", 1), now())
        .unwrap();
    for version in [4, 5] {
        let err = store
            .load(
                &envelope(&payload("production", version, "a"), "k1", 1),
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code, RejectCode::VersionRollback);
        assert!(
            err.message.contains(&format!(
                "version {version} is not newer than the loaded version 5"
            )),
            "{err}"
        );
        assert_eq!(banner(&store), json!("new"));
    }
}

#[test]
fn expired_on_arrival() {
    let mut doc = payload("production", 2, "b");
    doc["expires_at"] = json!("2026-11-24T11:00:00Z");
    rejects(
        &envelope(&doc, "k1", 1),
        RejectCode::Expired,
        "expired at 2026-11-24T11:00:00Z",
    );
}

#[test]
fn malformed_envelopes() {
    rejects(
        b"{not json",
        RejectCode::BadFormat,
        "not a snapshot envelope",
    );
    rejects(b"[]", RejectCode::BadFormat, "not a snapshot envelope");
    rejects(
        &edit_envelope(|env| {
            env.remove("signature");
        }),
        RejectCode::BadFormat,
        "signature",
    );
    rejects(
        &edit_envelope(|env| {
            env.insert("format".into(), json!("vexil-snapshot/3"));
        }),
        RejectCode::BadFormat,
        "unknown envelope format `vexil-snapshot/3`",
    );
    rejects(
        &edit_envelope(|env| {
            env.insert("payload".into(), json!("%%% not base64 %%%"));
        }),
        RejectCode::BadFormat,
        "payload is not base64",
    );
    rejects(
        &edit_envelope(|env| {
            env.insert("signature".into(), json!("***"));
        }),
        RejectCode::BadFormat,
        "signature is not base64",
    );
    rejects(
        &edit_envelope(|env| {
            env.insert("signature".into(), json!(BASE64.encode([1u8; 10])));
        }),
        RejectCode::BadFormat,
        "Ed25519 signatures are 64",
    );
}

#[test]
fn oversized() {
    let bytes = envelope(&payload("production", 2, "b"), "k1", 1);
    let mut store = serving().with_max_bytes(bytes.len() - 1);
    let err = store.load(&bytes, now()).unwrap_err();
    assert_eq!(err.code, RejectCode::TooLarge);
    assert!(err.message.contains("the limit is"), "{err}");
    assert_eq!(banner(&store), json!("old"));

    let mut huge = payload("production", 2, "b");
    huge["flags"][0]["metadata"] = json!({"padding": "x".repeat(17 * 1024 * 1024)});
    rejects(&envelope(&huge, "k1", 1), RejectCode::TooLarge, "16777216");
}

#[test]
fn deeply_nested_payloads_are_refused_without_crashing() {
    // JSON nesting far past any parser's comfort inside a value the engine keeps.
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let metadata = format!("{{\"deep\":{nested}}}");
    rejects(
        &with_payload_bytes(
            &writer::payload(&[writer::flag("banner", &metadata, &[])], &[]),
            1,
        ),
        RejectCode::InvalidFlags,
        "metadata is not a JSON object (flag `banner`)",
    );
    // Clause nesting past the engine's limit.
    let mut clause = writer::test_exists(1);
    for _ in 0..40 {
        clause = [&[writer::NOT][..], &clause].concat();
    }
    let rule = writer::rule("deep", &clause, &writer::fixed(1));
    rejects(
        &with_payload_bytes(
            &writer::payload(&[writer::flag("banner", "{}", &[rule])], &["plan"]),
            1,
        ),
        RejectCode::InvalidFlags,
        "clauses nest too deep",
    );
    // The independent writer's payloads load when nothing is wrong with them.
    let rule = writer::rule("ok", &writer::test_exists(1), &writer::fixed(1));
    let mut store = serving();
    let ok = with_payload_bytes(
        &writer::payload(&[writer::flag("banner", "{}", &[rule])], &["plan"]),
        1,
    );
    assert_eq!(store.load(&ok, now()).unwrap().version, 2);
}

#[test]
fn payloads_that_are_not_flags() {
    rejects(
        &with_payload_bytes(b"\x00\x01 signed garbage", 1),
        RejectCode::BadPayload,
        "not a format-2 snapshot payload",
    );
    rejects(
        &with_payload_bytes(payload("production", 2, "b").to_string().as_bytes(), 1),
        RejectCode::BadPayload,
        "a JSON payload (format 1)",
    );
    rejects(
        &with_payload_bytes(b"VXP\x04 a newer payload", 1),
        RejectCode::BadPayload,
        "a newer payload version than this engine reads",
    );
    let good = encoded(&payload("production", 2, "b"));
    rejects(
        &with_payload_bytes(&good[..good.len() - 3], 1),
        RejectCode::BadPayload,
        "malformed snapshot payload: truncated",
    );
}

#[test]
fn invalid_flags() {
    let prereq = |flag: u8| vec![1, flag, 1, 0];
    let a = writer::flag_with("a", "{}", &prereq(1), &[], &writer::fixed(0));
    let b = writer::flag_with("b", "{}", &prereq(0), &[], &writer::fixed(0));
    rejects(
        &with_payload_bytes(&writer::payload(&[a, b], &[]), 1),
        RejectCode::InvalidFlags,
        "prerequisites form a cycle or exceed the limits (flag `a`)",
    );
    let banner = writer::flag_with("banner", "{}", &[0], &[], &writer::fixed(2));
    rejects(
        &with_payload_bytes(&writer::payload(&[banner], &[]), 1),
        RejectCode::InvalidFlags,
        "unknown variant (flag `banner`)",
    );
}

/// An independent writer of format-2 payloads (docs/snapshot-format.md), for
/// payloads the origin would never sign.
mod writer {
    pub const NOT: u8 = 2;

    pub fn uv(out: &mut Vec<u8>, mut n: u64) {
        while n >= 0x80 {
            out.push(n as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    pub fn text(out: &mut Vec<u8>, s: &str) {
        uv(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    /// `exists` on attribute id `attr` (ids shift by one in tests: 0 is `$now`).
    pub fn test_exists(attr: u8) -> Vec<u8> {
        vec![4, attr + 1, 19, 0]
    }

    pub fn fixed(variant: u8) -> Vec<u8> {
        vec![0, variant]
    }

    pub fn rule(id: &str, when: &[u8], serve: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        text(&mut out, id);
        out.extend_from_slice(when);
        out.extend_from_slice(serve);
        out
    }

    /// A string flag with variants `a` = "old", `b` = "new", off variant `a`,
    /// serving `b`.
    pub fn flag(key: &str, metadata: &str, rules: &[Vec<u8>]) -> Vec<u8> {
        flag_with(key, metadata, &[0], rules, &fixed(1))
    }

    /// `prerequisites` is the encoded list (count first).
    pub fn flag_with(
        key: &str,
        metadata: &str,
        prerequisites: &[u8],
        rules: &[Vec<u8>],
        fallthrough: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        text(&mut out, key);
        out.push(1); // string values
        uv(&mut out, 2);
        for (name, value) in [("a", "\"old\""), ("b", "\"new\"")] {
            text(&mut out, name);
            text(&mut out, value);
        }
        out.push(1); // off variant a (id + 1)
        out.push(1); // enabled, no evaluation audit
        out.push(0); // no private attributes
        text(&mut out, metadata);
        out.extend_from_slice(prerequisites);
        out.push(0); // no exclusion
        out.push(0); // no access
        uv(&mut out, rules.len() as u64);
        for r in rules {
            out.extend_from_slice(r);
        }
        out.extend_from_slice(fallthrough);
        out
    }

    /// A `production` payload, version 2, valid for the test day.
    pub fn payload(flags: &[Vec<u8>], attrs: &[&str]) -> Vec<u8> {
        let mut out = b"VXP\x02".to_vec();
        text(&mut out, "production");
        uv(&mut out, 2);
        for ms in [1_795_996_800_000i64, 1_796_083_200_000] {
            out.push(1);
            uv(&mut out, (ms << 1) as u64);
        }
        uv(&mut out, attrs.len() as u64 + 1);
        text(&mut out, "targetingKey");
        for a in attrs {
            text(&mut out, a);
        }
        out.push(0); // no segments
        out.push(0); // no exclusion groups
        uv(&mut out, flags.len() as u64);
        for f in flags {
            out.extend_from_slice(f);
        }
        out
    }
}

#[test]
fn newer_versions_load_and_bump_the_generation() {
    let mut store = serving();
    let generation = store.generation();
    let info = store
        .load(&envelope(&payload("production", 2, "b"), "k1", 1), now())
        .unwrap();
    assert_eq!(
        (info.version, info.flags, info.key_id.as_str()),
        (2, 1, "k1")
    );
    assert_eq!(store.generation(), generation + 1);
    assert_eq!(banner(&store), json!("new"));
}

#[test]
fn key_rotation() {
    let mut store = Store::new(
        keyring(&[("old", 1), ("new", 2)]),
        "production".into(),
        StalePolicy::ServeStale,
    );
    store
        .load(&envelope(&payload("production", 1, "a"), "old", 1), now())
        .unwrap();
    store
        .load(&envelope(&payload("production", 2, "b"), "new", 2), now())
        .unwrap();
    store.set_keyring(keyring(&[("new", 2)]));
    let err = store
        .load(&envelope(&payload("production", 3, "a"), "old", 1), now())
        .unwrap_err();
    assert_eq!(err.code, RejectCode::UnknownKey);
    assert_eq!(store.version(), Some(2));
}

#[test]
fn stale_policies() {
    let expires = parse_rfc3339_ms("2026-11-25T00:00:00Z").unwrap();
    for (policy, defaults) in [
        (StalePolicy::ServeStale, false),
        (StalePolicy::ServeDefaults, true),
    ] {
        let mut store = Store::new(keyring(&[("k1", 1)]), "production".into(), policy);
        store
            .load(&envelope(&payload("production", 1, "b"), "k1", 1), now())
            .unwrap();
        assert!(!store.is_stale(expires));
        assert!(store.is_stale(expires + 1));
        assert_eq!(store.serving_defaults(expires + 1), defaults);
        assert!(
            store.snapshot().is_some(),
            "a stale snapshot is kept either way"
        );
    }
}

#[test]
fn signature_covers_the_format_line_and_exact_payload_bytes() {
    // Built without `sign`: an independent reading of the format.
    let signer = key(1);
    let payload = encoded(&payload("production", 1, "b"));
    let mut message = b"vexil-snapshot/2\n".to_vec();
    message.extend_from_slice(&payload);
    let env = json!({
        "format": "vexil-snapshot/2", "key_id": "k1",
        "payload": BASE64.encode(&payload),
        "signature": BASE64.encode(signer.sign(&message).to_bytes()),
    });
    let verified = verify(env.to_string().as_bytes(), &keyring(&[("k1", 1)]), 1 << 20).unwrap();
    assert_eq!(
        (verified.version, verified.environment.as_str()),
        (1, "production")
    );

    // The same signature over the format-1 line does not verify format 2, and a
    // format-1 envelope is refused by name.
    let mut old = b"vexil-snapshot/1\n".to_vec();
    old.extend_from_slice(&payload);
    let env = json!({
        "format": "vexil-snapshot/2", "key_id": "k1",
        "payload": BASE64.encode(&payload),
        "signature": BASE64.encode(signer.sign(&old).to_bytes()),
    });
    let err = verify(env.to_string().as_bytes(), &keyring(&[("k1", 1)]), 1 << 20).unwrap_err();
    assert_eq!(err.code, RejectCode::BadSignature);
    let env = json!({
        "format": "vexil-snapshot/1", "key_id": "k1",
        "payload": BASE64.encode(&payload),
        "signature": BASE64.encode(signer.sign(&old).to_bytes()),
    });
    let err = verify(env.to_string().as_bytes(), &keyring(&[("k1", 1)]), 1 << 20).unwrap_err();
    assert_eq!(err.code, RejectCode::BadFormat);
    assert!(err.message.contains("is no longer read"), "{err}");
}

#[test]
fn key_files_round_trip_and_bad_keys_are_explained() {
    let file = PrivateKeyFile::new("k1", &key(3));
    let parsed = PrivateKeyFile::from_json(&serde_json::to_string(&file).unwrap()).unwrap();
    assert_eq!(parsed.signing_key().unwrap().to_bytes(), key(3).to_bytes());
    let ring = Keyring::from_json(&file.keyring().unwrap().to_json()).unwrap();
    assert!(ring.get("k1").is_some());

    let err = Keyring::from_json(r#"{"k1": "bm90IGEga2V5"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key `k1`") && err.contains("Ed25519 keys are 32"),
        "{err}"
    );
    let err = Keyring::from_json("{}").unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
    let err = Keyring::from_json("[1]").unwrap_err().to_string();
    assert!(err.contains("not a key file"), "{err}");
}
