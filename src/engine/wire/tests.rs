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
    if let Cond::Test(t) = &mut s.flags[0].rules[0].when {
        if let Pred::Matches(regexes, _) = &mut t.pred {
            regexes[0].1 = "(".into();
        }
    }
    refused(&s, "does not compile");

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
