//! The stored rollouts: as the API shows them, as the scheduler reads them, and their history.

use super::Guards;
use crate::origin::api::{Rollout, RolloutEvent, RolloutList};
use crate::origin::db::{params, Db};
use crate::origin::publish;
use crate::origin::{rfc3339, Op, OriginError};
use serde_json::Value;

pub(super) fn mark_running(op: &Op<'_>, id: i64) -> Result<(), OriginError> {
    op.db.execute(
        "UPDATE rollouts SET status = 'running', stage_started_ms = ?1, stage_metrics = NULL, control_metrics = NULL, stage_keys = NULL, updated_at = ?2
         WHERE id = ?3",
        params![op.now_ms, op.now(), id],
    )?;
    Ok(())
}

/// A rollout as the API shows it. Its guards must read (the scheduler reads them
/// too); a last check that does not is shown as none, and a history entry that does
/// not is left out.
pub fn get(db: &Db, id: i64) -> Result<Rollout, OriginError> {
    let (mut rollout, guards) = db
        .query_opt(
        "SELECT id, environment, flag, variant, rule, stages, stage_index, stage_duration_ms, guards,
                status,
                start_percentage, stage_started_ms, change_id, created_by, created_at, updated_at, last_check, history,
                stage_keys
         FROM rollouts WHERE id = ?1",
        params![id],
        |r| {
            let stages: Vec<f64> =
                serde_json::from_str(&r.get::<String>(5)?).unwrap_or_default();
            let index: i64 = r.get(6)?;
            let started: Option<i64> = r.get(11)?;
            let duration: i64 = r.get(7)?;
            let rollout = Rollout {
                id: r.get(0)?,
                environment: r.get(1)?,
                flag: r.get(2)?,
                variant: r.get(3)?,
                rule: r.get(4)?,
                percentage: usize::try_from(index)
                    .ok()
                    .and_then(|i| stages.get(i))
                    .copied(),
                stages,
                stage: index + 1,
                stage_duration_ms: duration,
                guards: Guards::default(),
                status: r.get(9)?,
                start_percentage: r.get(10)?,
                stage_started_at: started.map(rfc3339),
                stage_ends_at: started.map(|s| rfc3339(s + duration)),
                change_id: r.get(12)?,
                created_by: r.get(13)?,
                created_at: r.get(14)?,
                updated_at: r.get(15)?,
                last_check: column(r.get(16)?),
                history: column::<Vec<Value>>(r.get(17)?)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|e| serde_json::from_value(e).ok())
                    .collect(),
                metrics_keys: column(r.get(18)?).unwrap_or_default(),
            };
            Ok((rollout, r.get::<String>(8)?))
        },
    )?
    .ok_or_else(|| OriginError::NotFound(format!("no rollout #{id}")))?;
    rollout.guards = serde_json::from_str(&guards)?;
    Ok(rollout)
}

/// A stored JSON column read as `T`; none when unset or unreadable.
fn column<T: serde::de::DeserializeOwned>(text: Option<String>) -> Option<T> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// Rollouts of an environment (optionally of one flag), newest first.
pub fn list(db: &Db, env: &str, flag: Option<&str>) -> Result<RolloutList, OriginError> {
    publish::require_environment(db, env)?;
    let ids = db.query(
        "SELECT id FROM rollouts WHERE environment = ?1 AND (CAST(?2 AS TEXT) IS NULL OR flag = ?2)
         ORDER BY id DESC",
        params![env, flag],
        |r| r.get::<i64>(0),
    )?;
    let rollouts = ids
        .into_iter()
        .map(|id| get(db, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RolloutList { rollouts })
}

/// Appends `event` to the rollout's stored history (earlier entries kept as written).
pub(super) fn push_history(op: &Op<'_>, id: i64, event: &RolloutEvent) -> Result<(), OriginError> {
    let history: String = op.db.query_row(
        "SELECT history FROM rollouts WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    let mut list: Vec<Value> = serde_json::from_str(&history)?;
    list.push(serde_json::to_value(event)?);
    op.db.execute(
        "UPDATE rollouts SET history = ?1, updated_at = ?2 WHERE id = ?3",
        params![serde_json::to_string(&list)?, op.now(), id],
    )?;
    Ok(())
}

pub(super) struct Running {
    pub(super) id: i64,
    pub(super) env: String,
    pub(super) flag: String,
    pub(super) variant: String,
    pub(super) rule: Option<String>,
    pub(super) stages: Vec<f64>,
    pub(super) index: usize,
    pub(super) duration_ms: i64,
    pub(super) guards: Guards,
    pub(super) status: String,
    pub(super) start_percentage: f64,
    pub(super) stage_started_ms: i64,
    pub(super) change_id: Option<i64>,
    pub(super) stage_metrics: Option<String>,
    pub(super) stage_keys: Option<String>,
    pub(super) control_metrics: Option<String>,
}

pub(super) fn active(db: &Db) -> Result<Vec<Running>, OriginError> {
    let rows = db.query(
        "SELECT id, environment, flag, variant, rule, stages, stage_index, stage_duration_ms,
                guards, status, start_percentage, stage_started_ms, change_id, stage_metrics,
                stage_keys, control_metrics
         FROM rollouts WHERE status IN ('waiting_approval', 'running') ORDER BY id",
        params![],
        |r| {
            Ok((
                (
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<String>(3)?,
                    r.get::<Option<String>>(4)?,
                ),
                (
                    r.get::<String>(5)?,
                    r.get::<i64>(6)?,
                    r.get::<i64>(7)?,
                    r.get::<String>(8)?,
                    r.get::<String>(9)?,
                ),
                (
                    r.get::<f64>(10)?,
                    r.get::<Option<i64>>(11)?,
                    r.get::<Option<i64>>(12)?,
                    r.get::<Option<String>>(13)?,
                    r.get::<Option<String>>(14)?,
                    r.get::<Option<String>>(15)?,
                ),
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (
            (id, env, flag, variant, rule),
            (stages, index, duration_ms, guards, status),
            (start_percentage, started, change_id, stage_metrics, stage_keys, control_metrics),
        ) = row;
        out.push(Running {
            id,
            env,
            flag,
            variant,
            rule,
            stages: serde_json::from_str(&stages)?,
            index: index.max(0) as usize,
            duration_ms,
            guards: serde_json::from_str(&guards)?,
            status,
            start_percentage,
            stage_started_ms: started.unwrap_or(0),
            change_id,
            stage_metrics,
            stage_keys,
            control_metrics,
        });
    }
    Ok(out)
}
