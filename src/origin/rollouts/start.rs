//! Starting a rollout: checking the plan and submitting its first stage as a change request.

use super::store::{get, mark_running};
use super::{EventGuard, Guards, Plan, DEFAULT_STAGES};
use crate::engine::edit::{EditError, FlagDoc, FlagEdit};
use crate::origin::api::Rollout;
use crate::origin::auth::Principal;
use crate::origin::changes;
use crate::origin::db::{params, Db};
use crate::origin::publish;
use crate::origin::{audit, governance, Op, OriginError};
use serde_json::json;

const ACTIVE: &str = "('waiting_approval', 'running', 'paused')";

/// The change setting the rollout's serve to `percent`.
pub(super) fn stage_change(
    db: &Db,
    env: &str,
    flag: &str,
    percent: f64,
    variant: &str,
    rule: Option<&str>,
    reason: String,
) -> Result<changes::Proposal, OriginError> {
    let state = publish::load_state(db, env)?;
    let mut p = changes::rollout(&state, env, flag, percent, Some(variant), rule)?;
    p.reason = Some(reason);
    Ok(p)
}

/// Starts a rollout of `flag` in `env`.
pub fn start(
    op: &Op<'_>,
    who: &Principal,
    env: &str,
    flag: &str,
    plan: Plan,
) -> Result<Rollout, OriginError> {
    let state = publish::load_state(op.db, env)?;
    let row = state
        .flags
        .get(flag)
        .filter(|r| !r.archived)
        .ok_or_else(|| OriginError::NotFound(format!("no flag `{flag}` in `{env}`")))?;
    let active = op.db.query_opt(
        &format!(
            "SELECT id FROM rollouts WHERE environment = ?1 AND flag = ?2 AND status IN {ACTIVE}"
        ),
        params![env, flag],
        |r| r.get::<i64>(0),
    )?;
    if let Some(id) = active {
        return Err(OriginError::Conflict(format!(
            "`{flag}` already has rollout #{id} in progress; pause or abort it first"
        )));
    }
    let flag_doc = FlagDoc(&row.document);
    let variant = flag_doc
        .treated_variant(plan.variant.as_deref())?
        .to_string();
    let rule = plan.rule.clone();
    let start_percentage = flag_doc.serve(rule.as_deref().into())?.share_of(&variant);
    let stages: Vec<f64> = plan
        .stages
        .clone()
        .unwrap_or_else(|| DEFAULT_STAGES.to_vec());
    if stages.is_empty()
        || stages.iter().any(|s| !(*s > 0.0 && *s <= 100.0))
        || stages.windows(2).any(|w| w[0] >= w[1])
    {
        return Err(OriginError::BadRequest(
            "`stages` must be increasing percentages in (0, 100]".into(),
        ));
    }
    // Each stage becomes a weight: refuse now what the engine would refuse then, and
    // what the serve cannot give exactly (a rollout hashing into a `total`).
    for s in &stages {
        let thousandths = crate::engine::compile::thousandths(*s)
            .map_err(|e| OriginError::BadRequest(format!("stage {e}")))?;
        let mut trial = row.document.clone();
        FlagEdit::new(&mut trial)?
            .set_split(rule.as_deref().into(), Some(&variant), thousandths)
            .map_err(|e| match e {
                EditError::Inexpressible { .. } => OriginError::BadRequest(format!("stage {e}")),
                other => other.into(),
            })?;
    }
    let stages: Vec<f64> = stages
        .into_iter()
        .filter(|s| *s > start_percentage)
        .collect();
    if stages.is_empty() {
        return Err(OriginError::BadRequest(format!(
            "`{flag}` already serves `{variant}` to {start_percentage}%: no stage is above it"
        )));
    }
    let duration_text = plan.stage_duration.clone().unwrap_or_else(|| "10m".into());
    let duration = humantime::parse_duration(&duration_text).map_err(|e| {
        OriginError::BadRequest(format!(
            "`stage_duration` {duration_text:?} is not a duration such as 10m: {e}"
        ))
    })?;
    let d = Guards::default();
    let guards = Guards {
        max_error_rate: plan.max_error_rate.unwrap_or(d.max_error_rate),
        min_success_rate: plan.min_success_rate.unwrap_or(d.min_success_rate),
        max_latency_ms: plan.max_latency_ms.unwrap_or(d.max_latency_ms),
        min_samples: plan.min_samples.unwrap_or(d.min_samples),
        events: plan
            .guards
            .iter()
            .map(|g| EventGuard::parse(g))
            .collect::<Result<_, _>>()?,
        best_execution: plan.best_execution.clone(),
        count_client_metrics: plan
            .count_client_metrics
            .unwrap_or(op.config.count_client_metrics),
    };
    for g in &guards.best_execution {
        g.validate()?;
    }
    let guarded: Vec<&str> = guards.events.iter().map(EventGuard::event).collect();
    let probed: Vec<&str> = op.config.health.iter().map(|s| s.name.as_str()).collect();
    let mut unsafe_plan = governance::safety::check_rollout(&row.document, &guarded, &probed);
    unsafe_plan.extend(governance::best_execution::check_rollout(
        &row.document,
        !guards.best_execution.is_empty(),
    ));
    if !unsafe_plan.is_empty() {
        return Err(OriginError::Policy(unsafe_plan));
    }
    let id: i64 = op.db.query_row(
        "INSERT INTO rollouts (environment, flag, variant, rule, stages, stage_index, stage_duration_ms, guards, status,
                               start_percentage, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, 'waiting_approval', ?8, ?9, ?10, ?10) RETURNING id",
        params![env, flag, variant, rule, serde_json::to_string(&stages)?, duration.as_millis() as i64,
                serde_json::to_string(&guards)?, start_percentage, who.name, op.now()],
        |r| r.get::<i64>(0),
    )?;
    let reason = plan
        .reason
        .clone()
        .unwrap_or_else(|| format!("rollout #{id}: stage 1 of {}", stages.len()));
    let p = stage_change(
        op.db,
        env,
        flag,
        stages[0],
        &variant,
        rule.as_deref(),
        reason,
    )?;
    let change = changes::submit_and_publish(op, who, p)?;
    let change_id = change.id;
    op.db.execute(
        "UPDATE rollouts SET change_id = ?1 WHERE id = ?2",
        params![change_id, id],
    )?;
    audit::record(
        op,
        &who.name,
        "rollout.started",
        &format!("{env}/{flag}"),
        json!({ "rollout": id, "stages": stages, "variant": variant, "guards": guards, "stage_duration": duration_text, "change": change_id }),
    )?;
    if change.status == "applied" {
        mark_running(op, id)?;
    }
    get(op.db, id)
}
