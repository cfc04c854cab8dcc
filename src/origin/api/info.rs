//! What the origin says about itself: `GET /health` ([`Health`]), `GET /keys`
//! ([`KeyListing`]), `POST /keys/rotate` ([`RotateBody`] → [`Rotation`]) and
//! `GET /whoami` ([`WhoAmI`]).

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
