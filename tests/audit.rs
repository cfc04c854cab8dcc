//! The audit hash chain: verifiable, and any edit, removal, insertion or reordering
//! is detected at the entry where it happened.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::json;
use vexil::origin::audit::{append, canonical_json, verify, Entry, Link, GENESIS};

fn entry(action: &str, details: serde_json::Value) -> Entry {
    Entry {
        seq: 0,
        at: "2026-11-24T10:00:00Z".into(),
        actor: "alice".into(),
        action: action.into(),
        subject: "production/new-checkout".into(),
        details,
    }
}

fn chain(n: usize) -> Vec<Link> {
    let mut links: Vec<Link> = Vec::new();
    for i in 0..n {
        let link = append(links.last(), entry("change.applied", json!({"change": i})));
        links.push(link);
    }
    links
}

#[test]
fn known_answer_from_an_independent_implementation() {
    // sha256("0"*64 + json.dumps(entry, sort_keys=True, separators=(",", ":"))) in Python.
    let link = append(
        None,
        entry("change.applied", json!({"z": 1, "a": [{"y": 2, "b": 3}]})),
    );
    assert_eq!(link.prev_hash, GENESIS);
    assert_eq!(link.entry.seq, 1);
    assert_eq!(
        link.hash,
        "2cc02e7db698ea05c372f308f541c41be1f63c34e37af4b3faf4f194acd0762f"
    );
}

#[test]
fn canonical_json_ignores_key_order() {
    let a = json!({"b": 1, "a": {"d": [1, {"y": 1, "x": 2}], "c": null}});
    let b: serde_json::Value =
        serde_json::from_str(r#"{"a": {"c": null, "d": [1, {"x": 2, "y": 1}]}, "b": 1}"#).unwrap();
    assert_eq!(canonical_json(&a), canonical_json(&b));
    assert_eq!(
        canonical_json(&a),
        r#"{"a":{"c":null,"d":[1,{"x":2,"y":1}]},"b":1}"#
    );
}

#[test]
fn an_untouched_chain_verifies() {
    let links = chain(5);
    assert_eq!(verify(&links), Ok(5));
    assert_eq!(links[4].entry.seq, 5);
    assert_eq!(links[3].hash, links[4].prev_hash);
    assert_eq!(verify(&[]), Ok(0));
}

#[test]
fn an_edited_entry_is_found() {
    let mut links = chain(5);
    links[2].entry.details = json!({"change": 99});
    let err = verify(&links).unwrap_err();
    assert_eq!(err.seq, 3);
    assert!(err.to_string().contains("modified"), "{err}");
}

#[test]
fn an_edited_entry_with_a_recomputed_hash_breaks_the_next_link() {
    let mut links = chain(5);
    links[2].entry.actor = "mallory".into();
    links[2].hash = vexil::origin::audit::link_hash(&links[2].prev_hash, &links[2].entry);
    let err = verify(&links).unwrap_err();
    assert_eq!(err.seq, 4);
    assert!(err.reason.contains("does not chain"), "{err}");
}

#[test]
fn removed_inserted_and_reordered_entries_are_found() {
    let mut removed = chain(5);
    removed.remove(1);
    assert_eq!(verify(&removed).unwrap_err().seq, 3);

    let mut reordered = chain(5);
    reordered.swap(1, 2);
    assert_eq!(verify(&reordered).unwrap_err().seq, 3);

    let mut truncated_head = chain(5);
    truncated_head.remove(0);
    assert!(verify(&truncated_head)
        .unwrap_err()
        .reason
        .contains("removed or inserted"));
}

#[test]
fn links_round_trip_through_json() {
    let links = chain(3);
    let text = serde_json::to_string(&links).unwrap();
    let back: Vec<Link> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, links);
    assert_eq!(verify(&back), Ok(3));
}
