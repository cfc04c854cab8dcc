//! Vexil: feature flags evaluated where the request is.
//!
//! - [`engine`]: the pure evaluation core (model, compilation, evaluation).
//! - [`snapshot`]: the signed snapshot envelope, keyring and last-known-good store.
//! - [`metrics`]: edge-side aggregation of evaluations and tracked outcomes.
//! - `origin` (native only): the origin server.
//! - `import` (native only): migration from Unleash and flagd.
//!
//! The wasm-bindgen surface lives in `wasm` (wasm32 only); the CLI in `src/bin`.
#![warn(missing_docs)]

pub mod engine;
pub mod jsontext;
pub mod metrics;
pub mod session;
pub mod snapshot;

#[cfg(not(target_arch = "wasm32"))]
pub mod origin;

#[cfg(not(target_arch = "wasm32"))]
pub mod import;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
