//! Several `vexil serve` replicas on ONE PostgreSQL database (tests/support: one
//! throwaway server for this binary, a database per test): what makes them agree.
//! - `writes`: concurrent writers on different replicas keep one audit chain, one
//!   version sequence per environment, and ingest each metrics batch once;
//! - `keys`: the private keys sealed in the database, shared by replicas;
//! - `leader`: one replica runs the background jobs; another takes over when it dies;
//! - `events`: event streams woken across replicas by `LISTEN/NOTIFY`;
//! - `pool`: a replica's reads do not wait behind its writes.
#![cfg(not(target_arch = "wasm32"))]

mod support;

#[path = "replicas/events.rs"]
mod events;
#[path = "replicas/keys.rs"]
mod keys;
#[path = "replicas/leader.rs"]
mod leader;
#[path = "replicas/pool.rs"]
mod pool;
#[path = "origin_api/receiver.rs"]
mod receiver;
#[path = "replicas/writes.rs"]
mod writes;
