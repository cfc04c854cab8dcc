//! The tables the JS glue shares with the engine (reasons, error codes, the packed
//! outcome, the record layout), written as the ES module `pkg/tables.js`. The file
//! is generated from these constants, never edited: `tests/js_tables.rs` fails when
//! it differs and rewrites it with `VEXIL_WRITE_TABLES=1`.

use super::records::{kind, Record, NO_LOWER, SAME_LOWER};
use super::{ERROR_SHIFT, NO_RULE, NO_VARIANT, REASON_SHIFT, RULE_ASK, RULE_SHIFT};
use crate::engine::context::NO_LITERAL;
use crate::engine::{ErrorCode, Reason};
use std::fmt::Write;

/// The text of `pkg/tables.js`.
pub fn js_tables() -> String {
    let mut out = String::from(
        "// Generated from the Rust engine by `VEXIL_WRITE_TABLES=1 cargo test --test js_tables`\n\
         // (src/session/js_tables.rs); do not edit.\n\n",
    );
    let reasons = quoted(Reason::ALL.iter().map(|r| r.as_str()));
    let errors = quoted(ErrorCode::ALL.iter().map(|e| e.as_str()));
    let _ = writeln!(
        out,
        "/** Reasons, by their index in a packed outcome (Rust `Reason::ALL`). */"
    );
    let _ = writeln!(out, "export const REASONS = Object.freeze([{reasons}]);");
    let _ = writeln!(
        out,
        "/** Error codes, by their index in a packed outcome minus one (Rust `ErrorCode::ALL`). */"
    );
    let _ = writeln!(
        out,
        "export const ERROR_CODES = Object.freeze([{errors}]);\n"
    );
    let _ = writeln!(
        out,
        "// The packed outcome (Rust `session::pack`): variant, reason, error + 1, rule + 1."
    );
    let constants: [(&str, u32); 6] = [
        ("NO_VARIANT", NO_VARIANT),
        ("REASON_SHIFT", REASON_SHIFT),
        ("ERROR_SHIFT", ERROR_SHIFT),
        ("RULE_SHIFT", RULE_SHIFT),
        ("RULE_ASK", RULE_ASK),
        ("NO_RULE", NO_RULE),
    ];
    for (name, value) in constants {
        let _ = writeln!(out, "export const {name} = {value};");
    }
    let _ = writeln!(out, "\n// Context records (Rust `session::records`).");
    let size = std::mem::size_of::<Record>();
    let layout: [(&str, u32); 5] = [
        ("RECORD_U32", (size / 4) as u32),
        ("RECORD_F64", (size / 8) as u32),
        ("NO_LITERAL", NO_LITERAL),
        ("SAME_LOWER", SAME_LOWER),
        ("NO_LOWER", NO_LOWER),
    ];
    for (name, value) in layout {
        let _ = writeln!(out, "export const {name} = {value};");
    }
    let kinds: [(&str, u32); 9] = [
        ("STR", kind::STR),
        ("STR_TEXT", kind::STR_TEXT),
        ("NUM", kind::NUM),
        ("NUM_TEXT", kind::NUM_TEXT),
        ("TRUE", kind::TRUE),
        ("FALSE", kind::FALSE),
        ("OTHER", kind::OTHER),
        ("LIST", kind::LIST),
        ("DIMENSION", kind::DIMENSION),
    ];
    let _ = writeln!(out, "/** Record kinds. */");
    let kinds = kinds
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(out, "export const KIND = Object.freeze({{ {kinds} }});");
    out
}

/// `"A", "B"`: names as JS string literals (they are plain upper-case words).
fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
