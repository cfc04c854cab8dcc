//! The origin's API tests (tests/origin_api/) again, on PostgreSQL: the same files,
//! with every data directory's database on one throwaway server for this binary
//! (`support::on_postgres`: this binary's name ends in `_postgres`), a database of
//! its own per test.
#![cfg(not(target_arch = "wasm32"))]

#[path = "origin_api/main.rs"]
mod origin_api;
