//! What the origin answers about proposed changes as a whole: a dry run
//! (`POST /environments/{env}/validate`, [`DryRun`]) and a bulk update
//! (`POST /environments/{env}/bulk`, [`BulkReport`]; [`BulkFailure`] when it fails).

use super::{ErrorBody, RequiredApproval, Violation};
use serde::{Deserialize, Serialize};

/// A flag document checked as its create or update would be, nothing applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRun {
    /// Whether the change would be accepted: no issue and no violation.
    pub valid: bool,
    /// Why the engine would not compile it, with paths.
    pub issues: Vec<DryRunIssue>,
    /// The policies it violates (the engine's issues aside).
    pub violations: Vec<Violation>,
    /// The approvals it would need.
    pub approvals: Vec<RequiredApproval>,
    /// HIPAA clinical oversight level (0-3) of a flag under HIPAA; `null` otherwise.
    pub oversight_level: Option<u8>,
    /// The risk, when what the flag touches raises it above the declared one.
    pub risk: Option<RaisedRisk>,
}

/// Where the engine finds a document wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunIssue {
    /// `flags[checkout].fallthrough.variant`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// A flag's declared, derived and effective risk (`low` ... `critical`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaisedRisk {
    /// The flag's `risk` field.
    pub declared: String,
    /// The least risk its other fields imply.
    pub derived: String,
    /// The higher of the two: what the approval policies read.
    pub effective: String,
    /// Why the derived risk is what it is, highest first.
    pub reasons: Vec<RiskReason>,
}

/// One reason for a derived risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReason {
    /// The least risk it implies.
    pub risk: String,
    /// The fields behind it: `MiFID_II flag affecting order_routing`.
    pub because: String,
}

/// The report of a bulk update. On failure (422, all rolled back) it also carries
/// `not_applied`, `failed_operation` and the error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkReport {
    /// Operations in the request.
    pub total: usize,
    /// Changes applied at once (0 when the update failed).
    pub applied: usize,
    /// Changes waiting for approval (0 when the update failed).
    pub pending: usize,
    /// Operations that failed.
    pub failed: usize,
    /// One result per operation, in order.
    pub results: Vec<BulkResult>,
    /// The snapshot version publishing the applied changes, when any applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<u64>,
    /// Operations that went through but were rolled back (a failed update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applied: Option<usize>,
    /// The first operation that failed (a failed update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_operation: Option<BulkResult>,
}

/// The answer to a bulk update that failed (422, nothing applied): the report, then
/// the error as every error answer gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkFailure {
    /// What became of each operation.
    #[serde(flatten)]
    pub report: BulkReport,
    /// `bulk_failed` and its message (no details).
    pub error: ErrorBody,
}

/// What became of one operation of a bulk update (fields in this order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResult {
    /// Its place in the request, from 0.
    pub index: usize,
    /// The flag it changes.
    pub flag_id: String,
    /// `update_percentage`, `toggle_flag` or `update_rules`.
    pub operation: String,
    /// The change it made (not on a failed update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<i64>,
    /// Why it was not applied (a failed update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What became of it.
    pub status: BulkStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of one bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStatus {
    /// Applied at once.
    Applied,
    /// Waiting for approval.
    Pending,
    /// Refused; the whole update rolled back.
    Failed,
    /// Went through, then rolled back with the rest.
    NotApplied,
}
