//! The audit log: `GET /audit` ([`Page`] of [`Link`]s) and `GET /audit/verify`
//! ([`Verification`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When, RFC 3339.
    pub at: String,
    /// Who: a token name, `system`, or an edge's pseudonymised unit.
    pub actor: String,
    /// What kind of event (`change.applied`, `flag.killed`, `evaluation.denied`, ...).
    pub action: String,
    /// What it concerns (`production/enhanced-order-routing-v2`).
    pub subject: String,
    /// Event details.
    #[serde(default)]
    pub details: Value,
}

/// An entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Hash of the previous link ([`GENESIS`](crate::origin::audit::GENESIS) for the first).
    pub prev_hash: String,
    /// `sha256(prev_hash || canonical(entry))`, hex.
    pub hash: String,
}

/// One page of entries; `next` is set when more match: the `after` (oldest first) or
/// `before` (newest first) of the following page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The entries, in the filter's order.
    pub entries: Vec<Link>,
    /// Where the next page starts, when more match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// `GET /audit/verify`: whether the stored chain verifies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Whether every entry verifies.
    pub ok: bool,
    /// How many entries, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// The first entry that does not, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<BrokenLink>,
}

/// Where the audit chain breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokenLink {
    /// The first entry that does not verify.
    pub seq: u64,
    /// What fails to verify there (a digest, a link to the previous entry).
    pub reason: String,
}
