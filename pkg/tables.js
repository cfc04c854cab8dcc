// Generated from the Rust engine by `VEXIL_WRITE_TABLES=1 cargo test --test js_tables`
// (src/session/js_tables.rs); do not edit.

/** Reasons, by their index in a packed outcome (Rust `Reason::ALL`). */
export const REASONS = Object.freeze(["STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED", "EXCLUDED", "DENIED", "PREREQUISITE_FAILED", "ERROR"]);
/** Error codes, by their index in a packed outcome minus one (Rust `ErrorCode::ALL`). */
export const ERROR_CODES = Object.freeze(["PROVIDER_NOT_READY", "FLAG_NOT_FOUND", "TYPE_MISMATCH", "PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL"]);

// The packed outcome (Rust `session::pack`): variant, reason, error + 1, rule + 1.
export const NO_VARIANT = 65535;
export const REASON_SHIFT = 16;
export const ERROR_SHIFT = 20;
export const RULE_SHIFT = 24;
export const RULE_ASK = 255;
export const NO_RULE = 4294967295;

// Context records (Rust `session::records`).
export const RECORD_U32 = 10;
export const RECORD_F64 = 5;
export const NO_LITERAL = 4294967295;
export const SAME_LOWER = 4294967294;
export const NO_LOWER = 4294967295;
/** Record kinds. */
export const KIND = Object.freeze({ STR: 1, STR_TEXT: 2, NUM: 3, NUM_TEXT: 4, TRUE: 5, FALSE: 6, OTHER: 7, LIST: 8, DIMENSION: 9 });
