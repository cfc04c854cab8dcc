//! What the health probes announce about the systems flags depend on
//! (`[[health.systems]]`): the details of the `system.down` ([`SystemDown`]) and
//! `system.up` ([`SystemUp`]) audit entries and webhook events.

use serde::{Deserialize, Serialize};

/// A system failed `failures` consecutive checks, and what that did to its flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemDown {
    /// The system's name, as flags list it.
    pub system: String,
    /// Its health endpoint.
    pub url: String,
    /// Why the last check failed (`answered 500`, a timeout, a refused connection).
    pub error: String,
    /// The consecutive failures that make it down.
    pub failures: u32,
    /// `kill` or `pause`: what it does to the flags depending on it.
    pub action: String,
    /// The flags killed, as `env/key`.
    pub killed: Vec<String>,
    /// The running rollouts paused, by id.
    pub paused_rollouts: Vec<i64>,
    /// The flags a policy kept from being killed, as `env/key: why`.
    pub not_applied: Vec<String>,
    /// `manual` or `auto`: how the flags come back.
    pub recovery: String,
}

/// A system down before answered `failures` consecutive checks again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemUp {
    /// The system's name.
    pub system: String,
    /// Its health endpoint.
    pub url: String,
    /// `manual` (nothing re-enabled: a person decides) or `auto`.
    pub recovery: String,
    /// With `auto`, the flags this probe had killed and enabled again, as `env/key`.
    pub enabled: Vec<String>,
    /// With `auto`, the rollouts this probe had paused and resumed, by id.
    pub resumed_rollouts: Vec<i64>,
}
