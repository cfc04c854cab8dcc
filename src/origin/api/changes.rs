//! Change requests: `GET /changes`, `GET /changes/{id}`, and the answers of every
//! route that proposes or decides a change (a [`Change`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A change request as every change route answers it.
///
/// Exactly one of `flag`, `segment` and `exclusion_group` is set, by `kind`;
/// `conflict` and `blocked` appear only on the answer to the apply that met them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The change's id.
    pub id: i64,
    /// The environment it changes.
    pub environment: String,
    /// `create`, `update`, `rollout`, `kill`, ... (see [`crate::origin::changes::Kind`]).
    pub kind: String,
    /// `pending`, `applied`, `rejected`, `cancelled` or `conflict`.
    pub status: String,
    /// Who proposed it.
    pub author: String,
    /// Why, as its author said.
    pub reason: Option<String>,
    /// When it was proposed (RFC 3339).
    pub created_at: String,
    /// When it was applied, rejected or cancelled.
    pub decided_at: Option<String>,
    /// The new definition (a flag document, a segment clause, ...); none for a
    /// deletion or a change that only toggles.
    pub document: Option<Value>,
    /// The flag's revision it was made against (0: a new flag).
    pub base_revision: i64,
    /// The approvals governance requires, each with who gave it.
    pub required: Vec<Requirement>,
    /// The approvals given, in order.
    pub approvals: Vec<Approval>,
    /// Who rejected it and why.
    pub rejection: Option<Rejection>,
    /// What applying it produced.
    pub applied: Option<Applied>,
    /// When a scheduled (or held) change applies, once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_at: Option<String>,
    /// The flag changed (flag kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// The segment changed (`segment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// The exclusion group changed (`exclusion_group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_group: Option<String>,
    /// HIPAA clinical oversight level (0-3) of a flag under HIPAA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oversight_level: Option<i64>,
    /// Why the apply this answers found the flag changed underneath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// The policies that held the apply this answers back (a trading freeze).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<Vec<Violation>>,
}

impl Change {
    /// What the change targets: its flag, segment or exclusion group.
    pub fn target(&self) -> Option<&str> {
        self.flag
            .as_deref()
            .or(self.segment.as_deref())
            .or(self.exclusion_group.as_deref())
    }
}

/// An approval a change needs: the role, the policy asking for it, and who gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// The role that must approve.
    pub role: String,
    /// The policy requiring it.
    pub policy: String,
    /// Who approved as that role (`null`: still waiting).
    pub approved_by: Option<String>,
    /// The only people who may give it (a level-3 flag's on-call), when named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// What made the policy apply (`proposed`, `current`, a flag using a segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_by: Option<String>,
    /// Why, in words, when the policy says more than its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The flag that brought the requirement (a segment change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

/// An approval given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved.
    pub approver: String,
    /// As which role.
    pub role: String,
    /// What they said.
    pub comment: Option<String>,
    /// When (RFC 3339).
    pub at: String,
}

/// A change's rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// Who rejected it.
    pub by: String,
    /// The rejecting reviewer's comment.
    pub comment: String,
    /// When (RFC 3339).
    pub at: String,
}

/// What applying a change produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The flag's new revision (0 for a segment or an exclusion group).
    pub revision: i64,
    /// The snapshot version that carries it, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<u64>,
}

/// A policy a change violates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The policy.
    pub policy: String,
    /// Exactly what is wrong.
    pub message: String,
}

/// One page of changes (`GET /changes`), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePage {
    /// The changes, newest first.
    pub changes: Vec<Change>,
    /// The `before` of the next page, when more match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// Which changes to list (`GET /changes`), a page at a time.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeListQuery {
    /// `pending`, `applied`, `rejected`, `cancelled` or `conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only changes in this environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Flag (or segment) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// Proposed by this person (compared as approvals compare people).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Of this kind (`create`, `update`, `rollout`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only changes older than this id: the previous page's `next`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `POST /changes/{id}/approve`; an empty body approves with the first needed role
/// the caller holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// What the approver says.
    #[serde(default)]
    pub comment: Option<String>,
    /// The role to approve as, when the caller holds several the change needs.
    #[serde(default)]
    pub role: Option<String>,
}

/// `POST /changes/{id}/reject`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why (required, not blank).
    pub comment: String,
}
