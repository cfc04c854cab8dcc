//! Edge metrics at the origin: batches from `pkg/` (`POST /api/v1/metrics`, SDK keys)
//! are checked ([`batch_checks`]), then merged into 10-second buckets per environment
//! and kind of key (server or client); reports merge the buckets of a time range
//! (HyperLogLog sketches union, so unique units stay exact to the sketch's error)
//! and label what client keys sent. HIPAA evaluation audit events land in the audit
//! log. Every sum saturates: no batch can make a later read overflow.

use super::api::metrics::{
    BatchAnswer, BucketOutcomes, Counts, DuplicateBatch, FlagMetrics, KeyKindMetrics,
    MetricsBucket, OutcomeMetrics, StoredBatch, VariantMetrics,
};
use super::auth::{Principal, SdkKind};
use super::rollouts::best_execution::{merge_all, Moments};
use super::{audit, batch_checks, rfc3339, Op, OriginError};
use crate::engine::edit::FlagDoc;
use crate::metrics::{Batch, BatchMeta, FlagStats, LatencyHistogram, OutcomeStats};
use crate::origin::db::{params, Db};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Width of a storage bucket. A batch counts in the bucket holding its window's end;
/// rollout stages read whole buckets from their start, so at most this much of a
/// stage's first moments is not judged, and nothing from before it is.
pub const BUCKET_MS: i64 = 10_000;

/// The key a batch came with, as rollouts record it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Sender {
    /// Token id of the SDK key (or of an admin token).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `client` or `server` (admin tokens post as `server`).
    pub kind: String,
}

impl Sender {
    /// The sender of a batch posted by `who`.
    pub fn of(who: &Principal) -> Sender {
        Sender {
            id: who.id,
            name: who.name.clone(),
            kind: who.sdk_kind.unwrap_or(SdkKind::Server).as_str().to_string(),
        }
    }

    /// Whether it is a client (public) key.
    pub fn is_client(&self) -> bool {
        self.kind == SdkKind::Client.as_str()
    }
}

/// Stores one batch; a batch id this key sent this environment before is
/// acknowledged and ignored, so an edge may retry safely (another key's or
/// environment's batch of the same id is a different batch). An implausible batch
/// is refused whole with [`OriginError::Implausible`] (see [`batch_checks::check`]);
/// the caller counts it with [`count_reject`]. Dimensions private for their flag,
/// and unit ids, are dropped and listed in the answer's `withheld_dimensions`.
pub fn ingest(op: &Op<'_>, who: &Principal, mut batch: Batch) -> Result<BatchAnswer, OriginError> {
    let env = match (who.kind, who.environment.as_deref()) {
        ("sdk", Some(env)) => env.to_string(),
        _ if who.is_admin() => batch.environment.clone(),
        _ => {
            return Err(OriginError::Forbidden(
                "metrics are posted with an SDK key".into(),
            ))
        }
    };
    if batch.environment != env {
        return Err(OriginError::Forbidden(format!(
            "this SDK key belongs to `{env}`; the batch is for `{}`",
            batch.environment
        )));
    }
    super::publish::require_environment(op.db, &env)?;
    if batch.batch_id.is_empty() || batch.batch_id.len() > 128 {
        return Err(OriginError::BadRequest(
            "`batch_id` must be 1 to 128 characters".into(),
        ));
    }
    batch_checks::check(&batch, &op.config.metric_limits, op.now_ms)
        .map_err(OriginError::Implausible)?;
    let sender = Sender::of(who);
    let seen = op.db.query_opt(
        "SELECT 1 FROM metric_batches WHERE environment = ?1 AND token_id = ?2 AND batch_id = ?3",
        params![env, sender.id, batch.batch_id],
        |_| Ok(()),
    )?;
    if seen.is_some() {
        return Ok(BatchAnswer::Duplicate(DuplicateBatch {
            accepted: false,
            duplicate: true,
            batch_id: batch.batch_id,
        }));
    }
    op.db.execute(
        "INSERT INTO metric_batches (environment, token_id, batch_id, received_at, sdk)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![env, sender.id, batch.batch_id, op.now(), batch.sdk],
    )?;
    let withheld = batch_checks::withhold_private(op.db, &env, &mut batch)?;
    let audit_events = std::mem::take(&mut batch.audit);
    let guards = super::rollouts::observe(op, &env, &batch, &sender)?;
    let actor = format!("edge:{}", who.name);
    for e in &audit_events {
        let action = if e.reason == "DENIED" {
            "evaluation.denied"
        } else {
            "evaluation.audited"
        };
        audit::record(
            op,
            &actor,
            action,
            &format!("{env}/{}", e.flag),
            json!({ "variant": e.variant, "reason": e.reason, "unit": e.unit,
                    "evaluated_at": rfc3339(e.at_ms), "batch_id": batch.batch_id,
                    "sdk_key": sender.id, "sdk_kind": sender.kind }),
        )?;
    }
    let w = batch.window;
    let bucket = w.end_ms - w.end_ms.rem_euclid(BUCKET_MS);
    let stored: Option<String> = op.db.query_opt(
        "SELECT batch FROM metric_buckets
             WHERE environment = ?1 AND bucket_ms = ?2 AND source = ?3",
        params![env, bucket, sender.kind],
        |r| r.get(0),
    )?;
    let merged = match stored {
        Some(text) => {
            let mut existing: Batch = serde_json::from_str(&text)?;
            existing.merge(batch);
            existing
        }
        None => batch,
    };
    op.db.execute(
        "INSERT INTO metric_buckets (environment, bucket_ms, source, batch) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (environment, bucket_ms, source) DO UPDATE SET batch = ?4",
        params![env, bucket, sender.kind, serde_json::to_string(&merged)?],
    )?;
    op.db.execute(
        "INSERT INTO sdk_key_batches (token_id, accepted) VALUES (?1, 1)
         ON CONFLICT (token_id) DO UPDATE SET accepted = sdk_key_batches.accepted + 1",
        params![sender.id],
    )?;
    Ok(BatchAnswer::Stored(StoredBatch {
        accepted: true,
        bucket: rfc3339(bucket),
        audit_events: audit_events.len(),
        sdk_kind: sender.kind,
        rollouts: guards,
        withheld_dimensions: withheld,
    }))
}

/// Counts a refused batch against the key that sent it (in its own transaction:
/// the refused one changed nothing).
pub fn count_reject(op: &Op<'_>, who: &Principal, why: &str) -> Result<(), OriginError> {
    op.db.execute(
        "INSERT INTO sdk_key_batches (token_id, rejected, last_rejected_at, last_rejection)
         VALUES (?1, 1, ?2, ?3)
         ON CONFLICT (token_id) DO UPDATE
             SET rejected = sdk_key_batches.rejected + 1, last_rejected_at = ?2, last_rejection = ?3",
        params![who.id, op.now(), why],
    )?;
    Ok(())
}

/// The buckets of `env` starting in `[from_ms, to_ms)`, oldest first, each with
/// the kind of key (`server`, `client`) whose batches it holds.
pub fn buckets_by_source(
    db: &Db,
    env: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(i64, String, Batch)>, OriginError> {
    let rows = db.query(
        "SELECT bucket_ms, source, batch FROM metric_buckets
         WHERE environment = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3
         ORDER BY bucket_ms, source",
        params![env, from_ms, to_ms],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<String>(2)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (at, source, text) = row;
        out.push((at, source, serde_json::from_str(&text)?));
    }
    Ok(out)
}

/// The buckets of `env` starting in `[from_ms, to_ms)`, oldest first, every kind
/// of key merged.
pub fn buckets(
    db: &Db,
    env: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(i64, Batch)>, OriginError> {
    let mut out: Vec<(i64, Batch)> = Vec::new();
    for (at, _, b) in buckets_by_source(db, env, from_ms, to_ms)? {
        match out.last_mut() {
            Some((last, merged)) if *last == at => merged.merge(b),
            _ => out.push((at, b)),
        }
    }
    Ok(out)
}

/// Everything the edges reported for `env` in `[from_ms, to_ms)`, merged.
pub fn merged(db: &Db, env: &str, from_ms: i64, to_ms: i64) -> Result<Batch, OriginError> {
    let mut total = Batch::new(BatchMeta {
        environment: env.to_string(),
        window_start_ms: from_ms,
        window_end_ms: from_ms,
        ..Default::default()
    });
    for (_, b) in buckets(db, env, from_ms, to_ms)? {
        total.merge(b);
    }
    Ok(total)
}

/// How one variant of a flag fared: what rollout guards and reports read.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct VariantHealth {
    /// Evaluations that served the variant.
    pub evaluations: u64,
    /// Tracked outcomes attributed to it: successes.
    pub success: u64,
    /// Tracked outcomes attributed to it: failures.
    pub failure: u64,
    /// Latencies tracked with its outcomes.
    pub latency: LatencyHistogram,
    /// Tracked events attributed to it, by name.
    pub events: BTreeMap<String, u64>,
    /// Moments of the values tracked with its events, by event name (for the
    /// best-execution guard); older stored figures have none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, Moments>,
}

impl VariantHealth {
    /// Adds `other`'s figures to these.
    pub fn merge(&mut self, other: &VariantHealth) {
        self.evaluations = self.evaluations.saturating_add(other.evaluations);
        self.success = self.success.saturating_add(other.success);
        self.failure = self.failure.saturating_add(other.failure);
        self.latency.merge(&other.latency);
        for (event, n) in &other.events {
            let count = self.events.entry(event.clone()).or_default();
            *count = count.saturating_add(*n);
        }
        merge_all(&mut self.values, &other.values);
    }

    /// Outcomes that reported success or failure.
    pub fn samples(&self) -> u64 {
        self.success.saturating_add(self.failure)
    }

    /// Failed outcomes, percent of those reporting success or failure.
    pub fn error_rate(&self) -> Option<f64> {
        (self.samples() > 0).then(|| 100.0 * self.failure as f64 / self.samples() as f64)
    }

    /// Successful outcomes, percent.
    pub fn success_rate(&self) -> Option<f64> {
        (self.samples() > 0).then(|| 100.0 * self.success as f64 / self.samples() as f64)
    }
}

/// The health of `variant` of `flag` in `batch`.
pub fn variant_health(batch: &Batch, flag: &str, variant: &str) -> VariantHealth {
    let mut h = VariantHealth {
        evaluations: batch
            .flags
            .get(flag)
            .and_then(|f| f.variants.get(variant))
            .map_or(0, |v| v.count),
        ..Default::default()
    };
    for (event, stats) in &batch.events {
        if let Some(o) = stats.attributions.get(flag).and_then(|v| v.get(variant)) {
            h.merge(&VariantHealth {
                success: o.success,
                failure: o.failure,
                latency: o.latency.clone(),
                events: [(event.clone(), o.count)].into_iter().collect(),
                values: Moments::of(o)
                    .map(|m| (event.clone(), m))
                    .into_iter()
                    .collect(),
                evaluations: 0,
            });
        }
    }
    h
}

/// Evaluations of one flag in a batch: served variants and errors (saturating).
pub fn evaluations_of(f: &crate::metrics::FlagStats) -> u64 {
    f.evaluations()
}

/// The sum of `counts`, saturating.
fn sum<'a>(counts: impl IntoIterator<Item = &'a u64>) -> u64 {
    counts
        .into_iter()
        .fold(0u64, |total, &n| total.saturating_add(n))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn outcome_metrics(o: &OutcomeStats) -> OutcomeMetrics {
    let samples = o.success.saturating_add(o.failure);
    OutcomeMetrics {
        count: o.count,
        success: o.success,
        failure: o.failure,
        success_rate: (samples > 0).then(|| round(100.0 * o.success as f64 / samples as f64)),
        value_mean: (o.value_count > 0).then(|| round(o.value_sum / o.value_count as f64)),
        latency_mean_ms: o.latency.mean().map(round),
        latency_p95_ms: o.latency.quantile(0.95).map(round),
    }
}

/// The seed's `FeatureFlagMetrics` for one flag over `[from_ms, to_ms)`.
pub fn flag_report(
    db: &Db,
    env: &str,
    flag: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<FlagMetrics, OriginError> {
    super::publish::require_environment(db, env)?;
    let by_source = buckets_by_source(db, env, from_ms, to_ms)?;
    let mut by_kind: BTreeMap<String, VariantHealth> = BTreeMap::new();
    for (_, source, b) in &by_source {
        let kind = by_kind.entry(source.clone()).or_default();
        if let Some(f) = b.flags.get(flag) {
            // Each variant's health brings its evaluations; errors served no variant.
            for v in f.variants.keys() {
                kind.merge(&variant_health(b, flag, v));
            }
            kind.evaluations = kind.evaluations.saturating_add(sum(f.errors.values()));
        }
    }
    let by_key_kind = by_kind
        .into_iter()
        .filter(|(_, h)| h.evaluations > 0 || h.samples() > 0)
        .map(|(kind, h)| {
            let figures = KeyKindMetrics {
                evaluations: h.evaluations,
                samples: h.samples(),
                failures: h.failure,
                outcome_error_rate: h.error_rate().map(round),
            };
            (kind, figures)
        })
        .collect();
    let mut buckets: Vec<(i64, Batch)> = Vec::new();
    for (at, _, b) in by_source {
        match buckets.last_mut() {
            Some((last, merged)) if *last == at => merged.merge(b),
            _ => buckets.push((at, b)),
        }
    }
    let mut total = Batch::new(BatchMeta {
        environment: env.into(),
        ..Default::default()
    });
    let mut series = Vec::new();
    for (at, b) in buckets {
        if let Some(f) = b.flags.get(flag) {
            series.push(bucket_metrics(&b, flag, f, at));
        }
        total.merge(b);
    }
    let stats = total.flags.get(flag).cloned().unwrap_or_default();
    let errors = sum(stats.errors.values());
    let evaluations = stats.evaluations();
    let mut units = crate::metrics::HyperLogLog::default();
    let mut geography: Counts = BTreeMap::new();
    let mut variants = BTreeMap::new();
    let mut all = VariantHealth::default();
    for (name, v) in &stats.variants {
        units.merge(&v.units);
        for (dim, values) in &v.dimensions {
            if dim.ends_with("country") {
                for (country, n) in values {
                    let c = geography.entry(country.clone()).or_default();
                    *c = c.saturating_add(*n);
                }
            }
        }
        let h = variant_health(&total, flag, name);
        all.merge(&h);
        let figures = VariantMetrics {
            count: v.count,
            reasons: v.reasons.clone(),
            // A sketch's estimate (±3 %) may pass the count it came from; units never do.
            unique_units: v.units.estimate().round().min(v.count as f64),
            dimensions: v.dimensions.clone(),
            outcome_error_rate: h.error_rate().map(round),
            success_rate: h.success_rate().map(round),
            latency_mean_ms: h.latency.mean().map(round),
            latency_p95_ms: h.latency.quantile(0.95).map(round),
        };
        variants.insert(name.clone(), figures);
    }
    let outcomes = total
        .events
        .iter()
        .filter_map(|(event, e)| {
            let per_variant = e.attributions.get(flag)?;
            let by_variant = per_variant
                .iter()
                .map(|(v, o)| (v.clone(), outcome_metrics(o)))
                .collect();
            Some((event.clone(), by_variant))
        })
        .collect();
    Ok(FlagMetrics {
        flag: flag.into(),
        environment: env.into(),
        from: rfc3339(from_ms),
        to: rfc3339(to_ms),
        total_evaluations: evaluations,
        variants,
        errors: stats.errors,
        error_rate: (evaluations > 0).then(|| round(100.0 * errors as f64 / evaluations as f64)),
        success_rate: all.success_rate().map(round),
        outcome_error_rate: all.error_rate().map(round),
        avg_response_time_ms: all.latency.mean().map(round),
        p95_response_time_ms: all.latency.quantile(0.95).map(round),
        unique_units: units.estimate().round().min(evaluations as f64),
        geography,
        outcomes,
        by_key_kind,
        series,
    })
}

/// The figures of `flag` (its stats `f`) in the bucket `b` starting at `at_ms`.
fn bucket_metrics(b: &Batch, flag: &str, f: &FlagStats, at_ms: i64) -> MetricsBucket {
    let mut reasons: Counts = BTreeMap::new();
    for v in f.variants.values() {
        for (reason, n) in &v.reasons {
            let r = reasons.entry(reason.clone()).or_default();
            *r = r.saturating_add(*n);
        }
    }
    let outcomes = f
        .variants
        .keys()
        .map(|v| {
            let h = variant_health(b, flag, v);
            let figures = BucketOutcomes {
                samples: h.samples(),
                failures: h.failure,
                error_rate: h.error_rate().map(round),
                latency_mean_ms: h.latency.mean().map(round),
            };
            (v.clone(), figures)
        })
        .collect();
    MetricsBucket {
        at: rfc3339(at_ms),
        evaluations: f.evaluations(),
        errors: sum(f.errors.values()),
        variants: f
            .variants
            .iter()
            .map(|(k, v)| (k.clone(), v.count))
            .collect(),
        reasons,
        error_codes: f.errors.clone(),
        outcomes,
    }
}

/// Metric-based insights for one flag (the seed's analytics recommendations):
/// unchanged and unevaluated for `stale_days` (while edges do report metrics), or a
/// variant failing more than the off variant. `unchanged_ms` is how long ago the
/// flag last changed.
pub fn flag_insights(
    db: &Db,
    env: &str,
    key: &str,
    doc: &Value,
    now_ms: i64,
    unchanged_ms: i64,
    stale_days: u32,
) -> Result<Vec<(String, String, String)>, OriginError> {
    let day = 86_400_000;
    let mut out = Vec::new();
    let window = merged(db, env, now_ms - i64::from(stale_days) * day, now_ms + 1)?;
    let stats = window.flags.get(key);
    let evaluations = stats.map_or(0, evaluations_of);
    let has_any = db
        .query_opt(
            "SELECT 1 FROM metric_buckets WHERE environment = ?1 LIMIT 1",
            params![env],
            |_| Ok(()),
        )?
        .is_some();
    if has_any && evaluations == 0 && unchanged_ms >= i64::from(stale_days) * day {
        // A kill switch guards a path that may run rarely: never advise removing it.
        let recommendation = if FlagDoc(doc).is_kill_switch() {
            "check that the code path it guards still evaluates it (a kill switch stays while that path exists)"
        } else {
            "the flag looks unused: remove it from the code and archive it"
        };
        out.push((
            "no_evaluations".into(),
            format!("no evaluations reported in {stale_days} days"),
            recommendation.into(),
        ));
    }
    if let Some(control) = FlagDoc(doc).off_variant() {
        let base = variant_health(&window, key, control);
        for variant in stats
            .map(|f| f.variants.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if variant == control {
                continue;
            }
            let h = variant_health(&window, key, &variant);
            if let (Some(treated), Some(ctrl)) = (h.error_rate(), base.error_rate()) {
                if h.samples() >= 30 && base.samples() >= 30 && treated > ctrl * 1.5 + 0.5 {
                    out.push((
                        "variant_errors".into(),
                        format!(
                            "`{variant}` fails {:.2}% of outcomes against {:.2}% for `{control}`",
                            treated, ctrl
                        ),
                        "investigate before rolling out further; consider a rollback".into(),
                    ));
                }
            }
        }
    }
    Ok(out)
}
