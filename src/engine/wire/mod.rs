//! The binary snapshot payload (envelope format 2, payload version 3): a compiled
//! snapshot, written by the
//! origin and the CLI ([`Snapshot::encode`], native) and read by every engine
//! ([`Snapshot::decode`]) without a JSON parser.
//!
//! The layout is documented byte by byte in `docs/snapshot-format.md`. Decoding
//! trusts nothing: a payload with a valid signature may still come from a stolen
//! key, so every count is bounded by the bytes left, every index is checked, every
//! value is validated as the compiler validates it (pattern automata are whole, versions are
//! strict SemVer, weights fill the bucket scale), graphs are acyclic and bounded,
//! and any problem is a [`DecodeError`], never a panic or an unbounded allocation.

mod across;
mod decode;
#[cfg(feature = "authoring")]
mod encode;
#[cfg(feature = "authoring")]
mod inspect;
mod reader;

pub use decode::{DecodeError, DecodeErrorKind};

/// The first bytes of every payload this engine writes: `VXP` and the payload
/// version, 3 (patterns carry their automata). Version 2 payloads are read too.
pub const MAGIC: [u8; 4] = *b"VXP\x03";

/// The oldest payload version engines read: 2, whose patterns are source only (an
/// engine built for authoring compiles them; the wasm module refuses them).
pub const OLDEST_READ: u8 = 2;

/// Serve tags.
pub(crate) mod serve_tag {
    pub const FIXED: u8 = 0;
    pub const ROLLOUT: u8 = 1;
    pub const CALLER_DEFAULT: u8 = 2;
}

/// Clause tags.
pub(crate) mod cond_tag {
    pub const ALL: u8 = 0;
    pub const ANY: u8 = 1;
    pub const NOT: u8 = 2;
    pub const SEGMENT: u8 = 3;
    pub const TEST: u8 = 4;
    pub const BUCKET: u8 = 5;
}

/// Bits of an attribute test's option byte.
pub(crate) mod test_bits {
    pub const IGNORE_CASE: u8 = 1;
    pub const LENIENT: u8 = 2;
}

/// Tags of the values of equality-style operators.
pub(crate) mod scalar_tag {
    pub const STRING: u8 = 0;
    pub const NUMBER: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const TRUE: u8 = 3;
}

use super::kinds::{AuditEvaluations, Bucketing, Op};
use super::ValueType;

/// Operators by their number in the format (never reorder: append).
pub(crate) const OPS: [Op; 21] = [
    Op::In,
    Op::NotIn,
    Op::Eq,
    Op::Neq,
    Op::Contains,
    Op::StartsWith,
    Op::EndsWith,
    Op::Matches,
    Op::Lt,
    Op::Lte,
    Op::Gt,
    Op::Gte,
    Op::SemverLt,
    Op::SemverLte,
    Op::SemverEq,
    Op::SemverGte,
    Op::SemverGt,
    Op::Before,
    Op::After,
    Op::Exists,
    Op::InCidr,
];

/// Bucketing schemes by their number in the format.
pub(crate) const BUCKETINGS: [Bucketing; 4] = [
    Bucketing::Vexil,
    Bucketing::Unleash,
    Bucketing::UnleashVariants,
    Bucketing::Flagd,
];

/// Variant value types by their number in the format.
pub(crate) const VALUE_TYPES: [ValueType; 4] = [
    ValueType::Bool,
    ValueType::String,
    ValueType::Number,
    ValueType::Object,
];

/// Evaluation audit policies by their number in the format.
pub(crate) const AUDITS: [AuditEvaluations; 3] = [
    AuditEvaluations::None,
    AuditEvaluations::Denied,
    AuditEvaluations::All,
];

/// The number of `item` in `table`.
#[cfg(feature = "authoring")]
pub(crate) fn number_of<T: PartialEq>(table: &[T], item: &T) -> u8 {
    table.iter().position(|t| t == item).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests;
