//! What the origin says about itself: `GET /health` ([`Health`]), `GET /keys`
//! ([`KeyListing`]), `POST /keys/rotate` ([`RotateBody`] → [`Rotation`]), `GET /whoami`
//! ([`WhoAmI`]) and `GET /policies` ([`PolicyList`]).

use serde::{Deserialize, Serialize};

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` (an origin that answers is up).
    pub status: String,
    /// The origin's version.
    pub version: String,
}

/// A signing key verifiers should trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicKey {
    /// Key id, as in envelopes' `key_id`.
    pub id: String,
    /// Base64 Ed25519 public key.
    pub public_key: String,
    /// `active` (signs new snapshots) or `retiring` (within its overlap).
    pub status: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// After this, snapshots it signed are no longer valid (retiring keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// `GET /keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyListing {
    /// The trusted keys, newest first.
    pub keys: Vec<PublicKey>,
    /// The same keys as verifiers load them: key id → base64 public key, newest
    /// first (the order kept, so it stays a map rather than a sorted type).
    pub keyring: serde_json::Map<String, serde_json::Value>,
}

/// A key that stopped signing and stays valid for its overlap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiringKey {
    /// Key id.
    pub id: String,
    /// Until when it is valid (RFC 3339).
    pub not_after: String,
}

/// `POST /keys/rotate`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the replaced key stays valid (`7d`; default `keys.rotation_overlap`).
    pub overlap: Option<String>,
}

/// The new signing key and the one it replaced: `POST /keys/rotate` (also the `keys.rotated` audit entry's details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    /// The new signing key's id.
    pub active: String,
    /// The key it replaced.
    pub retiring: Vec<RetiringKey>,
}

/// `GET /whoami`: the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The person or system the token belongs to.
    pub name: String,
    /// `token` or `sdk`.
    pub kind: String,
    /// Roles, sorted (empty for SDK keys).
    pub roles: Vec<String>,
    /// The environment of an SDK key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `client` or `server`, for an SDK key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_kind: Option<String>,
}

/// `GET /policies`: the governance policies and the settings they read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyList {
    /// Every policy the origin enforces.
    pub policies: Vec<PolicyInfo>,
    /// The settings from `[governance]`.
    pub config: GovernanceSettings,
}

/// A governance policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyInfo {
    /// Its id, as violations and held changes name it.
    pub id: String,
    /// What it requires.
    pub description: String,
}

/// The `[governance]` settings, as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GovernanceSettings {
    /// The flag-key naming pattern.
    pub naming: String,
    /// The older one-session UTC freeze window (`null` when not set).
    pub trading_hours: Option<SessionInfo>,
    /// The trading venues.
    pub venues: Vec<VenueInfo>,
    /// The shortest audit retention a compliance pack may be given, in days.
    pub min_retention_days: u32,
}

/// A trading session: local `HH:MM` times on ISO weekdays (1 = Monday).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The weekdays it opens on.
    pub weekdays: Vec<u8>,
    /// When it opens.
    pub open: String,
    /// When it closes (before `open`: the next day).
    pub close: String,
}

/// A trading venue's calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VenueInfo {
    /// Its name, as flags list it in `venues`.
    pub name: String,
    /// Its IANA time zone.
    pub time_zone: String,
    /// Its sessions, in that zone's local time.
    pub sessions: Vec<SessionInfo>,
    /// Local dates without trading (ISO dates).
    pub holidays: Vec<String>,
    /// Local dates on which trading ends early.
    pub early_closes: Vec<EarlyClose>,
}

/// A half day: trading on `date` ends at `close`, local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyClose {
    /// The ISO date.
    pub date: String,
    /// The local closing time, `HH:MM`.
    pub close: String,
}
