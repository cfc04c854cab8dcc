//! The evaluation core: flag model, validation and compilation, context resolution,
//! bucketing and evaluation.
//!
//! Pure: no I/O, no clock (the evaluation time is a parameter), no wasm or server
//! dependencies. Used by the wasm module, the origin, the CLI and the benchmarks.

mod bucket;
pub mod clause;
pub mod compile;
pub mod context;
mod de;
pub mod eval;
pub mod hash;
pub mod lenient;
pub mod model;
pub mod time;

pub use compile::{
    parse_document, Flag, FlagId, Issue, LoadError, Snapshot, SnapshotMeta, ValueType, Variant,
    VariantId,
};
pub use context::{ContextError, ResolvedContext};
pub use eval::{Details, ErrorCode, Outcome, Reason};
pub use hash::{bucket, murmur3_x86_32, BUCKETS};
pub use model::FlagsDocument;
