//! Contract captures: an answer compared, byte for byte after normalising times (and
//! hashes), with the JSON captured in `tests/origin_api/contract/` before its handler
//! was typed, and a capture read back as its type. Shared by the `origin_api` and
//! `origin_rollouts` suites.
//!
//! `VEXIL_CAPTURE_CONTRACT=1` rewrites the captures; use it only on a server whose
//! answers are known to be right.

use super::Reply;
use serde_json::Value;
use std::path::PathBuf;

/// Times (RFC 3339 strings) replaced by `<time>` and hashes (64 hex digits, which
/// chain times) by `<hash>`, so captures do not age.
fn normalise(v: &mut Value) {
    match v {
        Value::String(s) if looks_like_time(s) => *s = "<time>".into(),
        Value::String(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            *s = "<hash>".into()
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        Value::Object(map) => map.values_mut().for_each(normalise),
        _ => {}
    }
}

fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

/// Compares `reply` (order of fields included) with capture `name`, or writes it.
pub fn check(name: &str, reply: &Reply) {
    let got: Value = serde_json::from_str(&reply.text)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", reply.text));
    check_value(name, got);
}

/// [`check`] for an answer already read (and with its secrets masked).
pub fn check_value(name: &str, mut got: Value) {
    normalise(&mut got);
    let got = serde_json::to_string_pretty(&got).unwrap() + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/origin_api/contract")
        .join(format!("{name}.json"));
    if std::env::var_os("VEXIL_CAPTURE_CONTRACT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        got == want,
        "{name} differs from its capture {}:\n--- got\n{got}\n--- captured\n{want}",
        path.display()
    );
}

/// Capture `name` read as `T` and written again: the same JSON, so the CLI reads
/// every field the server sends and `--json` loses nothing.
pub fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/origin_api/contract")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let typed: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{name} does not read as its type: {e}"));
    let again = serde_json::to_string_pretty(&typed).unwrap() + "\n";
    assert_eq!(
        again, text,
        "{name} changed in a round trip through its type"
    );
}
