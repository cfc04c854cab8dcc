//! Observing metrics: what each batch brings to the running stages' figures, key by key.

use super::best_execution::{self, Moments};
use super::Guards;
use crate::origin::api::metrics::BatchRollout;
use crate::origin::db::params;
use crate::origin::edge_metrics::{self, VariantHealth};
use crate::origin::{Op, OriginError};
use std::collections::BTreeMap;

/// What one key's batches brought to a rollout stage (stored as the API shows it).
pub type KeyFeed = crate::origin::api::MetricsKey;

/// Adds what a metrics batch says about running rollouts' treated variants to their
/// current stage's figures, and records which key sent it. Only batches whose window
/// ended after the stage began count, so a stage is judged on its own traffic alone;
/// a client key's batch counts only for rollouts that opted in. Returns, per rollout
/// the batch spoke about, whether it counted.
pub fn observe(
    op: &Op<'_>,
    env: &str,
    batch: &crate::metrics::Batch,
    sender: &edge_metrics::Sender,
) -> Result<Vec<BatchRollout>, OriginError> {
    let running = op.db.query(
        "SELECT id, flag, variant, stage_started_ms, stage_metrics, guards, stage_keys,
                control_metrics
         FROM rollouts
         WHERE environment = ?1 AND status = 'running'",
        params![env],
        |r| {
            Ok((
                (r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<String>(2)?),
                (
                    r.get::<Option<i64>>(3)?,
                    r.get::<Option<String>>(4)?,
                    r.get::<String>(5)?,
                    r.get::<Option<String>>(6)?,
                    r.get::<Option<String>>(7)?,
                ),
            ))
        },
    )?;
    let mut out = Vec::new();
    for ((id, flag, variant), (started, stored, guards, keys, stored_control)) in running {
        if batch.window.end_ms < started.unwrap_or(i64::MAX) {
            continue;
        }
        let guards: Guards = serde_json::from_str(&guards)?;
        let seen = edge_metrics::variant_health(batch, &flag, &variant);
        // The control's values matter only to best-execution guards.
        let control = if guards.best_execution.is_empty() {
            BTreeMap::new()
        } else {
            best_execution::control_values(batch, &flag, &variant)
        };
        if seen.evaluations == 0
            && seen.samples() == 0
            && seen.events.is_empty()
            && control.is_empty()
        {
            continue;
        }
        let counted = !sender.is_client() || guards.count_client_metrics;
        let mut feeds: Vec<KeyFeed> = keys
            .map(|t| serde_json::from_str(&t))
            .transpose()?
            .unwrap_or_default();
        let feed = match feeds.iter().position(|f| f.id == sender.id) {
            Some(i) => &mut feeds[i],
            None => {
                feeds.push(KeyFeed {
                    id: sender.id,
                    name: sender.name.clone(),
                    kind: sender.kind.clone(),
                    ..KeyFeed::default()
                });
                feeds.last_mut().expect("pushed")
            }
        };
        feed.batches = feed.batches.saturating_add(1);
        feed.evaluations = feed.evaluations.saturating_add(seen.evaluations);
        feed.samples = feed.samples.saturating_add(seen.samples());
        feed.counted = counted;
        op.db.execute(
            "UPDATE rollouts SET stage_keys = ?1 WHERE id = ?2",
            params![serde_json::to_string(&feeds)?, id],
        )?;
        out.push(BatchRollout {
            rollout: id,
            flag,
            counted,
        });
        if !counted {
            continue;
        }
        let mut total: VariantHealth = stored
            .map(|t| serde_json::from_str(&t))
            .transpose()?
            .unwrap_or_default();
        total.merge(&seen);
        op.db.execute(
            "UPDATE rollouts SET stage_metrics = ?1 WHERE id = ?2",
            params![serde_json::to_string(&total)?, id],
        )?;
        if !control.is_empty() {
            let mut all: BTreeMap<String, Moments> = stored_control
                .map(|t| serde_json::from_str(&t))
                .transpose()?
                .unwrap_or_default();
            best_execution::merge_all(&mut all, &control);
            op.db.execute(
                "UPDATE rollouts SET control_metrics = ?1 WHERE id = ?2",
                params![serde_json::to_string(&all)?, id],
            )?;
        }
    }
    Ok(out)
}
