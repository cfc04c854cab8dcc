//! The origin: the system of record for flags (native only).
//!
//! So far: [`governance`], the approval and compliance policies every change is
//! assessed against, and [`audit`], the tamper-evident hash chain. The store, change
//! requests, HTTP API and snapshot publishing build on them.

pub mod audit;
pub mod governance;
