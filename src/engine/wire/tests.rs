use super::decode::DecodeErrorKind;
use crate::engine::Snapshot;

fn sample() -> Vec<u8> {
    let doc = br#"{"environment": "production", "version": 7, "issued_at": "2026-12-01T00:00:00Z",
      "flags": [{"key": "a", "variants": {"on": true, "off": false}, "off_variant": "off",
        "rules": [{"id": "r", "when": {"attr": "plan", "op": "in", "values": ["pro", 3, true]},
                   "serve": {"rollout": {"weights": {"on": 25, "off": 75}}}}],
        "fallthrough": {"variant": "off"}}],
      "segments": {}, "exclusion_groups": {}}"#;
    Snapshot::from_json(doc).unwrap().encode("production", 7)
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample();
    assert!(Snapshot::decode(&bytes).is_ok());
    for end in 0..bytes.len() {
        let err = Snapshot::decode(&bytes[..end]).unwrap_err();
        assert_ne!(err.kind, DecodeErrorKind::Invalid, "cut at {end}: {err}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        Snapshot::decode(&longer).unwrap_err().what,
        "bytes after the last flag"
    );
}

#[test]
fn json_payloads_are_another_format() {
    let err = Snapshot::decode(b"{\"flags\": []}").unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::UnknownFormat);
    assert!(err.message().contains("format 1"), "{err}");
}

#[test]
fn meta_round_trips() {
    let s = Snapshot::decode(&sample()).unwrap();
    assert_eq!(s.meta.environment.as_deref(), Some("production"));
    assert_eq!(s.meta.version, Some(7));
    assert_eq!(s.meta.issued_at_ms, Some(1_796_083_200_000));
    assert_eq!(s.meta.expires_at_ms, None);
}

use crate::engine::clause::{Cond, Pred};
use crate::engine::compiled::{Prereq, Serve};

fn compiled(doc: &str) -> Snapshot {
    Snapshot::from_json(doc.as_bytes()).unwrap()
}

const TWO_FLAGS: &str = r#"{"flags": [
  {"key": "a", "variants": {"on": true, "off": false}, "off_variant": "off",
   "prerequisites": [{"flag": "b", "variants": ["on"]}],
   "rules": [{"id": "r", "when": {"attr": "email", "op": "matches", "values": ["@x\\.com$"]},
              "serve": {"rollout": {"weights": {"on": 50, "off": 50}}}}],
   "fallthrough": {"variant": "off"}},
  {"key": "b", "variants": {"on": true, "off": false}, "off_variant": "off",
   "rules": [{"id": "s", "when": {"segment": "beta"}, "serve": {"variant": "on"}}],
   "fallthrough": {"variant": "on"}}],
  "segments": {"beta": {"attr": "plan", "op": "in", "values": ["beta"]}}}"#;

fn refused(snap: &Snapshot, what: &str) {
    let err = Snapshot::decode(&snap.encode("e", 1)).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Invalid, "{err}");
    assert!(err.message().contains(what), "`{err}` should say `{what}`");
}

#[test]
fn corrupt_pattern_automata_are_refused() {
    let payload = compiled(TWO_FLAGS).encode("e", 1);
    let source = br"@x\.com$";
    let at = payload
        .windows(source.len())
        .position(|w| w == source)
        .expect("the pattern's source is in the payload")
        + source.len();
    // Then: states, classes and start (one byte each here), the class map, the
    // transitions (the dead state's first), the state flags.
    let (states, classes) = (usize::from(payload[at]), usize::from(payload[at + 1]));
    let map = at + 3;
    let cases: [(usize, u8, &str); 5] = [
        (at, 0, "too large"),
        (at + 2, states as u8, "names a state it lacks"),
        (map, classes as u8, "byte classes are out of range"),
        (map + 256, 1, "dead state is not dead"),
        (map + 256 + classes, states as u8, "names a state it lacks"),
    ];
    for (offset, byte, what) in cases {
        let mut bad = payload.clone();
        bad[offset] = byte;
        let err = Snapshot::decode(&bad).unwrap_err();
        assert!(err.message().contains(what), "`{err}` should say `{what}`");
    }
    assert!(Snapshot::decode(&payload).is_ok());
}

/// A version-2 payload (patterns as source only) still loads where patterns can be
/// compiled, and its pattern matches as the version-3 automaton does.
#[test]
fn version_2_patterns_are_compiled_natively() {
    let v3 = compiled(TWO_FLAGS).encode("e", 1);
    let source = br"@x\.com$";
    let at = v3.windows(source.len()).position(|w| w == source).unwrap() + source.len();
    // The automaton that follows, read as the decoder reads it.
    let mut r = super::reader::Reader { bytes: &v3, at };
    r.dfa().unwrap();
    let end = r.at;
    let mut v2 = v3[..at].to_vec();
    v2.extend_from_slice(&v3[end..]);
    v2[3] = 2;
    let old = Snapshot::decode(&v2).expect("a version-2 payload loads natively");
    let new = Snapshot::decode(&v3).unwrap();
    assert_eq!(old.meta.schema, 2);
    let (Cond::Test(a), Cond::Test(b)) = (&old.flags[0].rules[0].when, &new.flags[0].rules[0].when)
    else {
        panic!("a test");
    };
    let (Pred::Matches(a, _), Pred::Matches(b, _)) = (&a.pred, &b.pred) else {
        panic!("a pattern");
    };
    assert_eq!(a[0], b[0], "the same automaton, compiled at load");
}

#[test]
fn invalid_flags_are_refused() {
    assert!(Snapshot::decode(&compiled(TWO_FLAGS).encode("e", 1)).is_ok());

    let mut s = compiled(TWO_FLAGS);
    s.flags[0].off_variant = Some(2);
    refused(&s, "unknown off variant");

    let mut s = compiled(TWO_FLAGS);
    s.flags[1].prerequisites = vec![Prereq {
        flag: 0,
        variants: Box::new([0]),
    }]
    .into();
    refused(&s, "prerequisites form a cycle");

    let mut s = compiled(TWO_FLAGS);
    s.flags[1].key = "a".into();
    refused(&s, "defined more than once");

    let mut s = compiled(TWO_FLAGS);
    if let Serve::Rollout(r) = &mut s.flags[0].rules[0].serve {
        r.cuts[1].0 = 90_000;
    }
    refused(&s, "do not sum to 100");

    let mut s = compiled(TWO_FLAGS);
    s.flags[0].variants[0].value = "{".into();
    refused(&s, "not JSON");

    let mut s = compiled(TWO_FLAGS);
    s.flags[0].metadata = "[1]".into();
    refused(&s, "metadata");

    let mut s = compiled(TWO_FLAGS);
    s.segments[0] = Cond::Segment(0);
    refused(&s, "segments form a cycle");
}

#[test]
fn counts_are_bounded_by_the_payload() {
    let mut bytes = super::MAGIC.to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 0]); // environment "", version 0, no times
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    let err = Snapshot::decode(&bytes).unwrap_err();
    assert_eq!(err.what, "count larger than the payload");
}

/// Digests tell a changed flag from an unchanged one across two payloads.
#[test]
fn digests_change_with_the_flag_only() {
    let before = Snapshot::decode(&compiled(TWO_FLAGS).encode("e", 1)).unwrap();
    let edited = TWO_FLAGS.replace(
        r#""fallthrough": {"variant": "off"}}"#,
        r#""fallthrough": {"variant": "on"}}"#,
    );
    assert_ne!(edited, TWO_FLAGS);
    let after = Snapshot::decode(&compiled(&edited).encode("e", 2)).unwrap();
    assert_ne!(
        before.flag_digest(0),
        after.flag_digest(0),
        "flag a changed"
    );
    assert_eq!(
        before.flag_digest(1),
        after.flag_digest(1),
        "flag b did not"
    );
    assert_ne!(before.flag_digest(0), before.flag_digest(1));
}
