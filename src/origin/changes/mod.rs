//! Change requests: every mutation of an environment's flags, segments and
//! exclusion groups is proposed, validated with the engine, assessed by governance,
//! approved as policy requires (never by its author), then applied, audited and
//! published. Changes that need no approval, and the kill switch always, apply at
//! once.
//!
//! The lifecycle, file by file:
//! - `mod.rs`: the [`Kind`] of a change and the [`Proposal`] every change starts as;
//! - `proposal.rs`: building proposals (create, update, enable, kill, archive,
//!   rollback, promote, rollout, segment, exclusion group);
//! - `review.rs`: validating, assessing, dry-running and submitting a proposal;
//! - `stored.rs`: reading stored changes (load, get, list, approvals, unmet) and
//!   rechecking a pending one;
//! - `decide.rs`: approving, retrying, rejecting and cancelling;
//! - `apply.rs`: applying, writing, auditing and publishing ([`Applied`], [`apply_system`]);
//! - `bulk.rs`: the seed's bulk-update format ([`BulkOperation`], [`bulk`]).

use super::governance::Change;
use super::OriginError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A new flag.
    Create,
    /// A new definition of a flag.
    Update,
    /// A new rollout percentage.
    Rollout,
    /// Re-enabling a disabled flag.
    Enable,
    /// The kill switch.
    Kill,
    /// Archiving: kept, no longer published.
    Archive,
    /// Restoring an earlier revision.
    Rollback,
    /// Copying a flag from another environment.
    Promote,
    /// Setting or deleting a segment.
    Segment,
    /// Setting an exclusion group.
    ExclusionGroup,
}

impl Kind {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Rollout => "rollout",
            Kind::Enable => "enable",
            Kind::Kill => "kill",
            Kind::Archive => "archive",
            Kind::Rollback => "rollback",
            Kind::Promote => "promote",
            Kind::Segment => "segment",
            Kind::ExclusionGroup => "exclusion_group",
        }
    }

    fn parse(text: &str) -> Result<Kind, OriginError> {
        serde_json::from_value(Value::String(text.to_string()))
            .map_err(|_| OriginError::Internal(format!("stored change kind `{text}` is unknown")))
    }

    fn is_flag(self) -> bool {
        !matches!(self, Kind::Segment | Kind::ExclusionGroup)
    }

    /// The governance view of the change.
    fn governance(self, base_revision: i64) -> Change {
        match self {
            Kind::Create => Change::Create,
            Kind::Enable => Change::Enable,
            Kind::Kill => Change::Disable,
            Kind::Archive => Change::Archive,
            Kind::Promote if base_revision == 0 => Change::Create,
            _ => Change::Update,
        }
    }
}

/// A change to be made to one environment.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The environment.
    pub environment: String,
    /// The flag key, segment name or exclusion-group name.
    pub target: String,
    /// What it does.
    pub kind: Kind,
    /// The new flag document (flags), clause (segments; `None` deletes), or group
    /// definition.
    pub document: Option<Value>,
    /// Whether the flag is archived afterwards.
    pub archived: bool,
    /// The flag's revision the change was made against (0: a new flag).
    pub base_revision: i64,
    /// The author's reason, kept with the change and in the audit trail.
    pub reason: Option<String>,
    /// When to apply it, once approved (epoch ms); `None`: as soon as approved.
    pub apply_at_ms: Option<i64>,
}

mod apply;
mod bulk;
mod decide;
mod proposal;
mod review;
mod stored;

pub use crate::origin::api::ChangePage;
pub use apply::{apply, apply_system, publish_applied, status, submit_and_publish, Applied};
pub use bulk::{bulk, BulkOperation};
pub use decide::{approve, cancel, reject, retry};
pub use proposal::{
    archive, create, document_key, enable, exclusion_group, kill, promote, rollback, rollout,
    segment, update, update_rules,
};
pub use review::{dry_run, submit, Submitted};
pub(in crate::origin) use stored::recheck;
pub use stored::{get, list, pending_for, ListFilter};
