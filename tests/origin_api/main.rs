//! The origin end to end over HTTP: a real `vexil serve` on an ephemeral port with a
//! temp data directory, one file per area. The seed's finance and healthcare flows,
//! four-eyes, the trading-hours freeze, the kill switch, snapshots with ETags, key
//! rotation, restarts, webhooks, bulk updates, and bad input on every kind of route.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../support/mod.rs"]
mod support;

mod access;
mod compliance;
mod contract;
mod contract_admin;
mod contract_changes;
mod contract_errors;
mod contract_metrics;
mod contract_reports;
mod lifecycle;
mod notifications;
mod receiver;
mod snapshots;

/// The production environment's flags.
const FLAGS: &str = "/api/v1/environments/production/flags";
