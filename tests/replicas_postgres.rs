//! Several `vexil serve` replicas on ONE PostgreSQL database (tests/support: one
//! throwaway server for this binary, a database per test): what makes them agree.
//! - `writes`: concurrent writers on different replicas keep one audit chain, one
//!   version sequence per environment, and ingest each metrics batch once.
#![cfg(not(target_arch = "wasm32"))]

mod support;

#[path = "replicas/writes.rs"]
mod writes;
