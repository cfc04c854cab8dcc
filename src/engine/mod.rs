//! The evaluation core: flag model, validation and compilation, context resolution,
//! bucketing and evaluation; with `authoring`, the one typed reader and editor of flag
//! documents as written (`edit`).
//!
//! Pure: no I/O, no clock (the evaluation time is a parameter), no wasm or server
//! dependencies. Used by the wasm module, the origin, the CLI and the benchmarks.

mod bucket;
pub mod clause;
#[cfg(feature = "authoring")]
pub mod compile;
pub mod compiled;
pub mod context;
#[cfg(feature = "authoring")]
mod de;
#[cfg(feature = "authoring")]
pub mod details;
pub mod dfa;
#[cfg(feature = "authoring")]
pub mod dfa_build;
#[cfg(feature = "authoring")]
pub mod edit;
pub mod eval;
mod graph;
pub mod hash;
pub mod kinds;
pub mod lenient;
mod messages;
#[cfg(feature = "authoring")]
pub mod model;
mod search;
pub mod semver;
pub(crate) mod sort;
pub mod split;
pub mod time;
pub mod trace;
pub mod wire;

#[cfg(feature = "authoring")]
pub use compile::{parse_document, thousandths, Issue, LoadError};
pub use compiled::{Flag, FlagId, Snapshot, SnapshotMeta, ValueType, Variant, VariantId};
pub use context::{ContextError, ResolvedContext};
#[cfg(feature = "authoring")]
pub use details::Details;
pub use eval::{ErrorCode, Outcome, Reason};
pub use hash::{bucket, murmur3_x86_32, BUCKETS};
pub use messages::error_code_message;
#[cfg(feature = "authoring")]
pub use model::FlagsDocument;
