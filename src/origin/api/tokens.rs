//! API tokens and SDK keys: `GET /tokens` ([`TokenList`], SDK keys included),
//! `POST /tokens` ([`NewToken`] → [`CreatedToken`]), `DELETE /tokens/{id}`
//! ([`Revoked`], for either), `GET /sdk-keys` ([`SdkKeyList`]) and `POST /sdk-keys`
//! ([`NewSdkKey`] → [`CreatedToken`]).

use serde::{Deserialize, Serialize};

/// `POST /tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The person or service (normalised and checked for look-alikes, see
    /// `docs/api.md`).
    pub name: String,
    /// Its roles (`viewer`, `editor`, `admin`, approver roles).
    pub roles: Vec<String>,
}

/// A newly created token or SDK key; the secret is never shown again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    /// Token id.
    pub id: i64,
    /// Who the token belongs to (a person or a system).
    pub name: String,
    /// Roles (tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Environment (SDK keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `client` or `server` (SDK keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_kind: Option<String>,
    /// The bearer secret.
    pub token: String,
}

/// A token or SDK key as `GET /tokens` lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    /// Token id.
    pub id: i64,
    /// Who the token belongs to (a person or a system).
    pub name: String,
    /// `token` or `sdk`.
    pub kind: String,
    /// Roles (empty for SDK keys).
    pub roles: Vec<String>,
    /// The environment of an SDK key.
    pub environment: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// `client` or `server`, for an SDK key.
    pub sdk_kind: Option<String>,
}

/// `GET /tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenList {
    /// Every token and SDK key, by id.
    pub tokens: Vec<TokenRow>,
}

/// `DELETE /tokens/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revoked {
    /// The token revoked.
    pub id: i64,
    /// When (RFC 3339).
    pub revoked_at: String,
}

/// `POST /sdk-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSdkKey {
    /// What the key is for (`edge-eu`, `web`).
    pub name: String,
    /// The environment whose snapshot it reads.
    pub environment: String,
    /// `client` or `server` (the default, as keys were before kinds existed).
    #[serde(default)]
    pub kind: Option<String>,
}

/// An SDK key as `GET /sdk-keys` lists it, with what its metrics batches came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdkKeyRow {
    /// Token id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The environment it reads.
    pub environment: Option<String>,
    /// `client` or `server`.
    pub sdk_kind: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// Its metrics batches.
    pub batches: KeyBatches,
}

/// What an SDK key's metrics batches came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyBatches {
    /// Batches accepted.
    pub accepted: i64,
    /// Batches refused as implausible.
    pub rejected: i64,
    /// When the last was refused.
    pub last_rejected_at: Option<String>,
    /// What the last refused batch was refused for.
    pub last_rejection: Option<String>,
}

/// `GET /sdk-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdkKeyList {
    /// The SDK keys, by id.
    pub sdk_keys: Vec<SdkKeyRow>,
}
