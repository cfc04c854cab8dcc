//! The rollout tests (tests/origin_rollouts/) again, on PostgreSQL: the scheduler,
//! guards on edge metrics and the `kill -9` in the middle of a rollout, with each
//! data directory's database on one throwaway server for this binary
//! (`support::on_postgres`: this binary's name ends in `_postgres`).
#![cfg(not(target_arch = "wasm32"))]

#[path = "origin_rollouts/main.rs"]
mod origin_rollouts;
