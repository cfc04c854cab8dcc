//! The origin: the system of record for flags (native only).
//!
//! So far: [`governance`], the approval and compliance policies every change is
//! assessed against. The store, change requests, audit chain, HTTP API and snapshot
//! publishing build on it.

pub mod governance;
