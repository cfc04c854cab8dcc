//! Published snapshots and their copies: `GET /environments/{env}/snapshots`
//! ([`SnapshotList`]) and `GET /publish-targets` ([`PublishTargetList`]).

use serde::{Deserialize, Serialize};

/// A signed snapshot as the history lists it (not its envelope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Its version in the environment.
    pub version: i64,
    /// The key that signed it.
    pub key_id: String,
    /// When it was signed (RFC 3339).
    pub issued_at: String,
    /// When edges stop serving it.
    pub expires_at: String,
    /// The `ETag` of its envelope.
    pub etag: String,
}

/// `GET /environments/{env}/snapshots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotList {
    /// Newest first (at most 100).
    pub snapshots: Vec<SnapshotInfo>,
}

/// The last push of one environment to one publish target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishTarget {
    /// `directory:<path>` or `cloudflare_kv:<account>/<namespace>`.
    pub target: String,
    /// The environment pushed.
    pub environment: String,
    /// The snapshot version last tried.
    pub version: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Why that push failed; none when it succeeded.
    pub error: Option<String>,
}

/// `GET /publish-targets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishTargetList {
    /// By target, then environment.
    pub targets: Vec<PublishTarget>,
}
