//! The scheduler's pass: starts approved rollouts, rolls back breaches, advances stages.

use super::best_execution::{self, Moments};
use super::judge;
use super::start::stage_change;
use super::store::{active, get, mark_running, push_history, Running};
use crate::origin::api::{
    Aborted, Advanced, Completed, EventDetails, MetricsKey, RolledBack, RolloutEvent, StageCheck,
};
use crate::origin::changes::{self, Applied};
use crate::origin::db::params;
use crate::origin::edge_metrics::VariantHealth;
use crate::origin::outbox::{self, DomainEvent, RolloutNotice};
use crate::origin::publish;
use crate::origin::{audit, governance, Op, OriginError};
use std::collections::BTreeMap;

/// Records a step of the scheduler: audited, in the rollout's history, and sent as
/// a domain event (the rollout with the step's `details`).
fn notify(op: &Op<'_>, r: &Running, details: EventDetails) -> Result<(), OriginError> {
    let event = details.event();
    let subject = format!("{}/{}", r.env, r.flag);
    let value = serde_json::to_value(&details)?;
    audit::record(op, "system", event, &subject, value.clone())?;
    push_history(
        op,
        r.id,
        &RolloutEvent {
            at: op.now(),
            event: event.to_string(),
            by: None,
            details: Some(details),
        },
    )?;
    let mut data = serde_json::to_value(get(op.db, r.id)?)?;
    data["details"] = value;
    let notice = RolloutNotice {
        environment: r.env.clone(),
        rollout: data,
    };
    outbox::emit(op, DomainEvent::rollout(event, notice)?)?;
    Ok(())
}

/// At clinical oversight level 3 (continuous) a breach kills the flag as well as
/// setting it back: returns the kill's change id and the people on call, whom the
/// notice names.
fn kill_if_continuous(
    op: &Op<'_>,
    r: &Running,
    reason: &str,
) -> Result<(Option<i64>, Vec<String>), OriginError> {
    let state = publish::load_state(op.db, &r.env)?;
    let Some(row) = state.flags.get(&r.flag) else {
        return Ok((None, Vec::new()));
    };
    if !governance::safety::kills_on_breach(&row.document) {
        return Ok((None, Vec::new()));
    }
    let on_call: Vec<String> = governance::safety::on_call(&row.document)
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut p = changes::kill(&state, &r.env, &r.flag)?;
    p.reason = Some(format!("oversight level 3: {reason}"));
    let killed = changes::apply_system(op, &format!("rollout:{}", r.id), p, true)?.ok();
    Ok((killed, on_call))
}

/// One pass of the scheduler at the operation's time: starts rollouts whose first
/// stage was approved, rolls back those whose guards fail, advances those whose stage
/// has run its course. Returns what it did, one line per action.
pub fn tick(op: &Op<'_>) -> Result<Vec<String>, OriginError> {
    // Scheduled changes come due on the same clock.
    let mut done = crate::origin::scheduled::apply_due(op)?;
    for r in active(op.db)? {
        if r.status == "waiting_approval" {
            let status = match r.change_id {
                Some(c) => changes::status(op.db, c)?,
                None => "cancelled".into(),
            };
            match status.as_str() {
                "applied" => {
                    mark_running(op, r.id)?;
                    done.push(format!("rollout #{} approved: stage 1 running", r.id));
                }
                "pending" => {}
                other => {
                    op.db.execute(
                        "UPDATE rollouts SET status = 'aborted', updated_at = ?1 WHERE id = ?2",
                        params![op.now(), r.id],
                    )?;
                    notify(
                        op,
                        &r,
                        EventDetails::Aborted(Aborted {
                            rollout: r.id,
                            reason: format!("its first stage was {other}"),
                        }),
                    )?;
                    done.push(format!("rollout #{} aborted: first stage {other}", r.id));
                }
            }
            continue;
        }
        let health: VariantHealth = r
            .stage_metrics
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?
            .unwrap_or_default();
        let control: BTreeMap<String, Moments> = r
            .control_metrics
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?
            .unwrap_or_default();
        let percentage = r.stages[r.index.min(r.stages.len() - 1)];
        let mut judgement = judge(&health, &r.guards);
        best_execution::judge_stage(
            &r.guards.best_execution,
            &health.values,
            &control,
            percentage >= 100.0,
            &mut judgement,
        );
        // The keys whose batches the decision rests on (and those left out).
        let keys: Vec<MetricsKey> = r
            .stage_keys
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?
            .unwrap_or_default();
        let check = StageCheck {
            at: op.now(),
            stage: r.index as u64 + 1,
            percentage,
            figures: judgement.figures.clone(),
            breaches: judgement.breaches.clone(),
            enough_samples: judgement.enough_samples,
            keys: keys.clone(),
        };
        op.db.execute(
            "UPDATE rollouts SET last_check = ?1 WHERE id = ?2",
            params![serde_json::to_string(&check)?, r.id],
        )?;
        if !judgement.breaches.is_empty() {
            let reason = format!(
                "rollout #{} rolled back at {percentage}%: {}",
                r.id,
                judgement.breaches.join("; ")
            );
            let p = stage_change(
                op.db,
                &r.env,
                &r.flag,
                r.start_percentage,
                &r.variant,
                r.rule.as_deref(),
                reason.clone(),
            )?;
            let change = changes::apply_system(op, &format!("rollout:{}", r.id), p, true)?;
            let (killed, on_call) = kill_if_continuous(op, &r, &reason)?;
            op.db.execute(
                "UPDATE rollouts SET status = 'rolled_back', updated_at = ?1 WHERE id = ?2",
                params![op.now(), r.id],
            )?;
            notify(
                op,
                &r,
                EventDetails::RolledBack(RolledBack {
                    rollout: r.id,
                    reason: reason.clone(),
                    from: percentage,
                    to: r.start_percentage,
                    figures: judgement.figures,
                    breaches: judgement.breaches,
                    change: change.ok(),
                    keys,
                    killed,
                    on_call,
                }),
            )?;
            done.push(reason);
            continue;
        }
        if op.now_ms - r.stage_started_ms < r.duration_ms || !judgement.enough_samples {
            continue;
        }
        if r.index + 1 >= r.stages.len() {
            op.db.execute(
                "UPDATE rollouts SET status = 'completed', updated_at = ?1 WHERE id = ?2",
                params![op.now(), r.id],
            )?;
            notify(
                op,
                &r,
                EventDetails::Completed(Completed {
                    rollout: r.id,
                    percentage,
                    figures: judgement.figures,
                    keys,
                }),
            )?;
            done.push(format!("rollout #{} completed at {percentage}%", r.id));
            continue;
        }
        let next = r.stages[r.index + 1];
        let reason = format!(
            "rollout #{}: stage {} of {} ({next}%)",
            r.id,
            r.index + 2,
            r.stages.len()
        );
        let p = stage_change(
            op.db,
            &r.env,
            &r.flag,
            next,
            &r.variant,
            r.rule.as_deref(),
            reason,
        )?;
        match changes::apply_system(op, &format!("rollout:{}", r.id), p, false)? {
            Ok(change) => {
                op.db.execute(
                    "UPDATE rollouts SET stage_index = ?1, stage_started_ms = ?2, stage_metrics = NULL, control_metrics = NULL, stage_keys = NULL, updated_at = ?3
                     WHERE id = ?4",
                    params![(r.index + 1) as i64, op.now_ms, op.now(), r.id],
                )?;
                notify(
                    op,
                    &r,
                    EventDetails::Advanced(Advanced {
                        rollout: r.id,
                        from: percentage,
                        to: next,
                        stage: r.index as u64 + 2,
                        figures: judgement.figures,
                        change,
                        keys,
                    }),
                )?;
                done.push(format!("rollout #{} advanced to {next}%", r.id));
            }
            // A trading-hours freeze or a conflicting edit: try again next time.
            Err(Applied::Blocked(v)) => done.push(format!(
                "rollout #{} held: {}",
                r.id,
                v.iter()
                    .map(|v| v.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Err(other) => done.push(format!("rollout #{} held: {other:?}", r.id)),
        }
    }
    Ok(done)
}
