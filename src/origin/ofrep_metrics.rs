//! Metrics and the evaluation audit of OFREP at the origin: an OFREP evaluation is
//! counted and audited as the SDK path counts and audits one, as the SDK key's own
//! metrics (the same [`Aggregator`] the wasm engine uses, the same ingest).
//!
//! Evaluations are aggregated in memory per SDK key and ingested as one batch of
//! that key at every scheduler pass (`rollouts.check_interval`), so they reach
//! reports and rollout guards like an edge's. An evaluation of a flag with
//! `audit_evaluations` is flushed at once, before the answer leaves: its audit
//! entry (`evaluation.audited` / `evaluation.denied`, by `edge:<key name>`, with
//! the unit pseudonymised) is committed when the caller sees the value. A batch
//! the database could not take goes back into its aggregator for the next pass.

use super::auth::Principal;
use super::{edge_metrics, Origin, OriginError};
use crate::engine::model::AuditEvaluations;
use crate::engine::{Details, Reason, Snapshot};
use crate::metrics::{pseudonym, unit_hash, Aggregator, Batch, BatchMeta, MetricsConfig};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// The `sdk` field of the batches OFREP evaluations make.
pub const SDK: &str = concat!("vexil-origin-ofrep/", env!("CARGO_PKG_VERSION"));

/// What one SDK key evaluated since the last flush.
struct Pending {
    who: Principal,
    env: String,
    version: u64,
    since_ms: i64,
    metrics: Aggregator,
}

/// One OFREP request's evaluations.
pub struct Evaluation<'a> {
    /// The SDK key.
    pub who: &'a Principal,
    /// Its environment.
    pub env: &'a str,
    /// The snapshot version evaluated.
    pub version: u64,
    /// That snapshot.
    pub snapshot: &'a std::sync::Arc<Snapshot>,
    /// The request's context.
    pub context: &'a Value,
    /// The evaluations (one, or every flag for the bulk route).
    pub results: &'a [Details],
    /// The time of the evaluation, epoch milliseconds.
    pub now_ms: i64,
}

/// Per-key aggregators of OFREP evaluations.
pub struct OfrepMetrics {
    pending: Mutex<HashMap<i64, Pending>>,
    /// Key of the units' pseudonyms: derived from the audit key, so it is secret
    /// and stable across restarts.
    pseudonym_key: Vec<u8>,
    flushes: std::sync::atomic::AtomicU64,
}

/// The unit of a raw OFREP context: its `targetingKey`.
fn unit_of(context: &Value) -> Option<String> {
    match context.get("targetingKey")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl OfrepMetrics {
    /// Aggregators whose audit pseudonyms are keyed from `audit_key`.
    pub fn new(audit_key: &[u8]) -> OfrepMetrics {
        OfrepMetrics {
            pending: Mutex::default(),
            pseudonym_key: pseudonym(audit_key, "vexil ofrep unit pseudonyms").into_bytes(),
            flushes: Default::default(),
        }
    }

    /// The pseudonym the origin's OFREP audit entries give `unit`.
    pub fn pseudonym(&self, unit: &str) -> String {
        pseudonym(&self.pseudonym_key, unit)
    }

    /// Counts an OFREP request's evaluations as its key's metrics. Returns whether
    /// one of them is audited (then flush before answering).
    pub fn record(&self, e: Evaluation<'_>) -> bool {
        let Evaluation {
            who,
            env,
            version,
            snapshot,
            context,
            results,
            now_ms,
        } = e;
        let mut all = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let pending = all.entry(who.id).or_insert_with(|| {
            let mut metrics = Aggregator::new(MetricsConfig::default());
            metrics.set_snapshot(snapshot);
            Pending {
                who: who.clone(),
                env: env.to_string(),
                version,
                since_ms: now_ms,
                metrics,
            }
        });
        if pending.version != version {
            pending.metrics.set_snapshot(snapshot);
            pending.version = version;
        }
        let unit = unit_of(context);
        let hash = unit.as_deref().map(unit_hash);
        let mut unit_pseudonym = None;
        let mut audited = false;
        for d in results {
            let Some(id) = snapshot.flag_id(&d.flag_key) else {
                pending.metrics.record_unknown(&d.flag_key);
                continue;
            };
            let Some(flag) = snapshot.flag(id) else {
                continue;
            };
            let variant = d
                .variant
                .as_deref()
                .and_then(|name| flag.variant_id(name))
                .filter(|_| d.error_code.is_none());
            pending
                .metrics
                .record(id, variant, d.reason, d.error_code, hash, &[]);
            let audit = match flag.audit_evaluations {
                AuditEvaluations::All => true,
                AuditEvaluations::Denied => d.reason == Reason::Denied,
                AuditEvaluations::None => false,
            };
            if audit {
                audited = true;
                if unit_pseudonym.is_none() {
                    unit_pseudonym = unit.as_deref().map(|u| self.pseudonym(u));
                }
                pending
                    .metrics
                    .audit(id, variant, d.reason, unit_pseudonym.clone(), now_ms);
            }
        }
        audited
    }

    /// Takes the batches waiting (of `only` that key), each with its key.
    fn take(&self, only: Option<i64>, now_ms: i64) -> Vec<(Principal, Batch)> {
        let mut all = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (id, p) in all.iter_mut() {
            if only.is_some_and(|o| o != *id) {
                continue;
            }
            let n = self
                .flushes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut suffix = [0u8; 4];
            let _ = getrandom::fill(&mut suffix);
            let random: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
            let meta = BatchMeta {
                batch_id: format!("ofrep-{now_ms}-{n}-{random}"),
                sdk: SDK.to_string(),
                environment: p.env.clone(),
                snapshot_version: Some(p.version),
                window_start_ms: p.since_ms.min(now_ms),
                window_end_ms: now_ms,
            };
            if let Some(batch) = p.metrics.take_batch(meta) {
                out.push((p.who.clone(), batch));
            }
            p.since_ms = now_ms;
        }
        out
    }

    /// Ingests what is waiting (of key `only`, or of every key) as the keys' own
    /// batches. A batch the database refused goes back for the next flush.
    pub fn flush(&self, origin: &Origin, only: Option<i64>) -> Result<usize, OriginError> {
        let batches = self.take(only, origin.now_ms());
        let mut done = 0;
        let mut failure = None;
        for (who, batch) in batches {
            let key = who.id;
            match origin.write(|op| edge_metrics::ingest(op, &who, batch.clone())) {
                Ok(_) => done += 1,
                // The key was revoked or its environment removed: nothing to keep.
                Err(e @ (OriginError::Forbidden(_) | OriginError::NotFound(_))) => {
                    super::log(format_args!("OFREP metrics of key {key} dropped: {e}"));
                }
                Err(OriginError::Implausible(why)) => {
                    super::log(format_args!("OFREP metrics of key {key} refused: {why}"));
                }
                Err(e) => {
                    let mut all = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(p) = all.get_mut(&key) {
                        p.metrics.restore(batch);
                    }
                    failure = Some(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }
}
