//! Vexil: feature flags evaluated where the request is.
//!
//! - [`engine`]: the pure evaluation core (model, compilation, evaluation).
//! - [`snapshot`]: the signed snapshot envelope, keyring and last-known-good store.
//! - [`metrics`]: edge-side aggregation of evaluations and tracked outcomes.
//! - [`ofrep`]: OFREP answers and rate limits, shared by the origin and the edge.
//! - `origin` (feature `origin`): the origin server.
//! - `import` (feature `import`): migration from Unleash and flagd.
//!
//! Feature `authoring` adds the JSON flag model, its compiler and snapshot encoding
//! to the engine; the wasm module is built without any feature. The wasm-bindgen
//! surface is its own crate, `crates/vexil-wasm`, built for speed while this one is
//! built for size; the CLI is in `src/bin` (feature `cli`).
#![warn(missing_docs)]

pub mod engine;
pub mod jsontext;
pub mod metrics;
pub mod ofrep;
pub mod session;
pub mod snapshot;

#[cfg(feature = "origin")]
pub mod origin;

#[cfg(feature = "origin")]
pub mod url_path;

#[cfg(feature = "import")]
pub mod import;
