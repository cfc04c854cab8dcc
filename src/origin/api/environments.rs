//! Environments: `GET /environments` ([`EnvironmentList`]) and `POST /environments`
//! ([`NewEnvironment`] → [`CreatedEnvironment`]).

use serde::{Deserialize, Serialize};

/// An environment with its newest snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// The newest snapshot's version (none before the first publish).
    pub snapshot_version: Option<u64>,
    /// When it was published (RFC 3339).
    pub published_at: Option<String>,
    /// Flags not archived.
    pub flags: i64,
}

/// `GET /environments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentList {
    /// The environments, in the order they were created.
    pub environments: Vec<Environment>,
}

/// `POST /environments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEnvironment {
    /// Its name (at most 64 characters).
    pub name: String,
}

/// A new environment and its first (empty) snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedEnvironment {
    /// Its name.
    pub name: String,
    /// The first snapshot's version.
    pub snapshot_version: u64,
    /// Flags (0).
    pub flags: i64,
}
