//! Bulk updates: the seed's bulk-update format, applied as one change each, all or nothing.

use super::apply::publish_applied;
use super::proposal::{enable, kill, rollout, update_rules};
use super::review::submit;
use super::Proposal;
use crate::origin::api::{BulkReport, BulkResult, BulkStatus};
use crate::origin::auth::Principal;
use crate::origin::publish::{self, EnvState};
use crate::origin::{Op, OriginError};
use serde::Deserialize;
use serde_json::Value;

// ---- Bulk updates -----------------------------------------------------------------

/// One operation of the seed's bulk-update format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkOperation {
    /// The flag's key.
    pub flag_id: String,
    /// `update_percentage`, `toggle_flag` or `update_rules`.
    pub operation: String,
    /// The operation's parameters.
    #[serde(default)]
    pub parameters: Value,
}

fn bulk_proposal(state: &EnvState, env: &str, u: &BulkOperation) -> Result<Proposal, OriginError> {
    let param = |name: &str| u.parameters.get(name);
    match u.operation.as_str() {
        "update_percentage" => {
            let percentage = param("percentage").and_then(Value::as_f64).ok_or_else(|| {
                OriginError::BadRequest("update_percentage needs `parameters.percentage` (a number)".into())
            })?;
            let variant = param("variant").and_then(Value::as_str);
            let rule = param("rule").and_then(Value::as_str);
            rollout(state, env, &u.flag_id, percentage, variant, rule)
        }
        "toggle_flag" => match param("enabled").and_then(Value::as_bool) {
            Some(true) => enable(state, env, &u.flag_id),
            Some(false) => kill(state, env, &u.flag_id),
            None => Err(OriginError::BadRequest("toggle_flag needs `parameters.enabled` (true or false)".into())),
        },
        "update_rules" => {
            let rules = param("targeting_rules").cloned().ok_or_else(|| {
                OriginError::BadRequest("update_rules needs `parameters.targeting_rules` (a list of rules)".into())
            })?;
            update_rules(state, env, &u.flag_id, rules)
        }
        other => Err(OriginError::BadRequest(format!(
            "unknown operation `{other}`; operations are update_percentage, toggle_flag, update_rules"
        ))),
    }
}

/// Applies the seed's bulk update all-or-nothing: every operation becomes a change
/// (applied, or pending approval) and one snapshot is published; if any operation
/// fails, the answer is [`OriginError::BulkFailed`] with the report and nothing is
/// kept (the caller's transaction rolls back).
pub fn bulk(
    op: &Op<'_>,
    author: &Principal,
    env: &str,
    updates: &[BulkOperation],
    reason: Option<String>,
) -> Result<BulkReport, OriginError> {
    if updates.is_empty() {
        return Err(OriginError::BadRequest("`updates` is empty".into()));
    }
    let mut results = Vec::with_capacity(updates.len());
    let mut applied_ids = Vec::new();
    let (mut pending, mut failed) = (0, 0);
    for (index, u) in updates.iter().enumerate() {
        let outcome = publish::load_state(op.db, env)
            .and_then(|state| bulk_proposal(&state, env, u))
            .and_then(|mut p| {
                p.reason = reason
                    .clone()
                    .or_else(|| Some(format!("bulk update: {}", u.operation)));
                submit(op, author, p)
            });
        let mut result = BulkResult {
            index,
            flag_id: u.flag_id.clone(),
            operation: u.operation.clone(),
            change: None,
            note: None,
            status: BulkStatus::Failed,
            error: None,
        };
        match outcome {
            Ok(s) => {
                result.change = Some(s.id);
                if s.applied {
                    result.status = BulkStatus::Applied;
                    applied_ids.push(s.id);
                } else {
                    result.status = BulkStatus::Pending;
                    pending += 1;
                }
            }
            Err(e) => {
                failed += 1;
                result.error = Some(e.to_string());
            }
        }
        results.push(result);
    }
    let mut report = BulkReport {
        total: updates.len(),
        applied: applied_ids.len(),
        pending,
        failed,
        results,
        snapshot_version: None,
        not_applied: None,
        failed_operation: None,
    };
    if failed > 0 {
        return Err(OriginError::BulkFailed(Box::new(rolled_back(report))));
    }
    if !applied_ids.is_empty() {
        report.snapshot_version = Some(publish_applied(op, env, &applied_ids)?);
    }
    Ok(report)
}

/// The report of a bulk update that failed: its transaction rolls back, so the
/// operations that went through are `not_applied` and their change ids (which no
/// longer exist) are dropped; `failed_operation` is the first that failed.
fn rolled_back(mut report: BulkReport) -> BulkReport {
    let first_failure = report
        .results
        .iter()
        .find(|r| r.status == BulkStatus::Failed)
        .cloned();
    let at = first_failure
        .as_ref()
        .map_or_else(|| "null".to_string(), |f| f.index.to_string());
    let mut not_applied = 0;
    for result in &mut report.results {
        if result.status != BulkStatus::Failed {
            not_applied += 1;
            result.status = BulkStatus::NotApplied;
            result.note = Some(format!("rolled back: operation #{at} failed"));
            result.change = None;
        }
    }
    report.applied = 0;
    report.pending = 0;
    report.not_applied = Some(not_applied);
    report.failed_operation = first_failure;
    report
}
