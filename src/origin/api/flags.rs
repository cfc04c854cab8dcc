//! Flags of an environment: `GET /environments/{env}/flags` ([`FlagList`]),
//! `GET .../flags/{key}` ([`FlagDetail`]) and `GET .../flags/{key}/history`
//! ([`History`]), `GET /environments/{env}/segments` ([`SegmentList`]), and the
//! bodies of the routes that propose a change to a flag, a segment or an exclusion
//! group, which answer with a [`Change`](super::Change).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the flag list and a flag's detail say of a flag, read from its document
/// and its row (defaults filled in: `kind` `release`, `risk` `low`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagSummary {
    /// The flag's key.
    pub key: String,
    /// Its environment.
    pub environment: String,
    /// Its display name.
    pub name: Option<String>,
    /// `release`, `experiment`, `ops`, `permission`, ...
    pub kind: String,
    /// Its release strategy (`canary_release`, ...).
    pub strategy: Option<String>,
    /// `low`, `medium`, `high` or `critical`, as declared.
    pub risk: String,
    /// Regimes it falls under (`MiFID_II`, `HIPAA`, ...).
    pub compliance: Vec<String>,
    /// The owning team.
    pub owner: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Whether it is on.
    pub enabled: bool,
    /// Whether it is archived (kept, not published).
    pub archived: bool,
    /// Incremented by every applied change.
    pub revision: i64,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// Who changed it last.
    pub updated_by: String,
    /// When it should be removed (RFC 3339).
    pub expires_at: Option<String>,
    /// What its fallthrough serves, in words (`on 25% / off 75%`).
    pub serving: String,
    /// The share of the treated variant in its fallthrough rollout, when it has one.
    pub rollout_percentage: Option<f64>,
    /// How many changes to it wait.
    pub pending_changes: u64,
}

/// A row of the flag list: the summary and the last day's evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagListItem {
    /// Its summary (key, kind, state), flattened into the row.
    #[serde(flatten)]
    pub summary: FlagSummary,
    /// Evaluations the edges reported over the last 24 hours.
    pub evaluations_24h: u64,
}

/// `GET /environments/{env}/flags`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagList {
    /// The flags, by key.
    pub flags: Vec<FlagListItem>,
}

/// `GET /environments/{env}/flags/{key}`: the summary, the document, and the ids
/// of the changes to it that wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagDetail {
    /// Its summary (key, kind, state), flattened into the row.
    #[serde(flatten)]
    pub summary: FlagSummary,
    /// Its document, as its author wrote it.
    pub flag: Value,
    /// Ids of its pending changes, oldest first.
    pub pending: Vec<i64>,
}

/// `GET /environments/{env}/flags/{key}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The flag's revisions, newest first.
    pub revisions: Vec<Revision>,
}

/// One revision of a flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// Its number (1: created).
    pub revision: i64,
    /// The document it had (`null` if the stored one no longer parses).
    pub document: Value,
    /// Whether it was archived.
    pub archived: bool,
    /// The change that made it.
    pub change_id: i64,
    /// Who made it.
    pub author: String,
    /// When (RFC 3339).
    pub at: String,
}

/// `GET /environments/{env}/segments`: the segments and exclusion groups flags
/// refer to, each by name (sorted). Both are the engine's documents, kept as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentList {
    /// Segment name → its clause.
    pub segments: serde_json::Map<String, Value>,
    /// Exclusion group name → its definition (`{salt?}`).
    pub exclusion_groups: serde_json::Map<String, Value>,
}

/// `POST /environments/{env}/flags` and `PUT .../flags/{key}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagBody {
    /// The flag document.
    pub flag: Value,
    /// The author's reason, kept with the change and in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
    /// RFC 3339: apply once approved and due (a scheduled change).
    #[serde(default)]
    pub apply_at: Option<String>,
}

/// `POST .../flags/{key}/rollout`: the treated variant's share of the fallthrough
/// (or of a rule).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutBody {
    /// 0-100, at most 3 decimals.
    pub percentage: f64,
    /// The treated variant (default: the first that is not the off variant).
    #[serde(default)]
    pub variant: Option<String>,
    /// Within this rule instead of the fallthrough.
    #[serde(default)]
    pub rule: Option<String>,
    /// The author's reason, kept with the change and in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
    /// RFC 3339: apply once approved and due.
    #[serde(default)]
    pub apply_at: Option<String>,
}

/// `POST .../flags/{key}/kill`, `/enable`, `/archive` and `DELETE .../segments/{name}`;
/// the kill switch requires the reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// The author's reason, kept with the change and in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST .../flags/{key}/review`: a clinical review of a flag under oversight.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// What the reviewer says.
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST .../flags/{key}/rollback`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The revision to restore (default: the one before the current).
    #[serde(default)]
    pub to_revision: Option<i64>,
    /// The author's reason, kept with the change and in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `PUT /environments/{env}/segments/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    /// The segment's clause (the engine's condition document).
    pub clause: Value,
    /// The author's reason, kept with the change and in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
    /// RFC 3339: apply once approved and due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_at: Option<String>,
}

/// `PUT /environments/{env}/exclusion-groups/{name}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    /// The group's bucketing salt (default: its name).
    #[serde(default)]
    pub salt: Option<String>,
    /// The author's reason, kept with the change and in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /promote`: a flag's definition copied from one environment to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteBody {
    /// The flag's key.
    pub flag: String,
    /// The source environment.
    pub from: String,
    /// The target environment.
    pub to: String,
    /// The author's reason, kept with the change and in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
}
