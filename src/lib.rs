//! Vexil: feature flags evaluated where the request is.
//!
//! - [`engine`]: the pure evaluation core (model, compilation, evaluation).
//! - [`snapshot`]: the signed snapshot envelope, keyring and last-known-good store.
//! - [`metrics`]: edge-side aggregation of evaluations and tracked outcomes.
//! - `origin` (native only): governance policies; the origin server builds on them.
//!
//! The wasm-bindgen surface lives in `wasm` (wasm32 only); the CLI in `src/bin`.
#![warn(missing_docs)]

pub mod engine;
pub mod metrics;
pub mod snapshot;

#[cfg(not(target_arch = "wasm32"))]
pub mod origin;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
