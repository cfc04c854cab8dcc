//! Edge-side metrics aggregation: per flag × variant × reason counters, errors,
//! a HyperLogLog sketch of distinct units, allow-listed low-cardinality dimensions,
//! tracked outcomes per variant (counts, values, success, latency histogram), unknown
//! flag keys and pseudonymised evaluation audit events.
//!
//! Pure: no I/O and no clock (times are epoch ms passed in). [`Aggregator::record`]
//! is the hot path: O(1) and allocation-free once a (flag, variant) has seen its
//! first unit and dimension values. Counters live in flat tables indexed by the
//! current snapshot's flag and variant indices and are folded into a name-keyed
//! [`Batch`] when a batch is taken or the snapshot changes.
//!
//! Privacy: no API here accepts a unit id or an attribute value other than an
//! allow-listed dimension value, so neither can reach a batch. Units enter only as
//! [`unit_hash`] (into a sketch) and as [`pseudonym`] (into audit events).
//!
//! Attribution: [`Aggregator::record`] remembers, per unit hash, the variant each
//! flag served it by targeting or a rollout (bounded by
//! [`MetricsConfig::remembered_served`]); [`Aggregator::track_served`] attributes an
//! outcome to those flags only, and counts it as unattributed when the unit was
//! served nothing, never spreading it over every flag.
//!
//! Dimensions a flag declares private (its `private_attributes`), and unit ids
//! (`targetingKey` and every rollout or exclusion `by` attribute of the snapshot),
//! are never counted for that flag once [`Aggregator::set_snapshot`] has seen it.
//!
//! Size bounds (per batch): [`MetricsConfig`] caps distinct event names, unknown flag
//! keys and audit events (the excess is counted in [`Dropped`]); dimension values are
//! capped per dimension (the excess counts as `"other"`); names longer than
//! [`MAX_NAME_LEN`] bytes are dropped, dimension values longer than
//! [`MAX_DIMENSION_VALUE_LEN`] count as `"other"`.

#[cfg(feature = "authoring")]
mod batch;
mod counters;
mod hash;
mod histogram;
mod hll;
pub mod privacy;
mod served;

#[cfg(feature = "authoring")]
pub use batch::{
    AuditEvent, Batch, Dropped, EventStats, FlagStats, OutcomeStats, VariantStats, Window,
    BATCH_SCHEMA,
};
pub use counters::Counters;
pub use hash::{pseudonym, unit_hash};
pub use histogram::{LatencyHistogram, LATENCY_BOUNDS_MS};
pub use hll::{HyperLogLog, HLL_PRECISION, HLL_REGISTERS};

#[cfg(feature = "authoring")]
use crate::engine::{ErrorCode, Reason, Snapshot};
#[cfg(feature = "authoring")]
use std::sync::Arc;

/// Longest event name or unknown flag key recorded, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Longest dimension value kept as itself, in bytes; longer values count as `"other"`.
pub const MAX_DIMENSION_VALUE_LEN: usize = 64;
/// The dimension value id meaning "the context has no value for this dimension".
pub const NO_DIMENSION_VALUE: u16 = u16::MAX;
/// The value name under which values past the per-dimension cap are counted.
pub const OTHER: &str = "other";

/// What to aggregate and how much at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Allow-listed context attribute paths counted as dimensions (`geo.country`).
    /// Only low-cardinality attributes belong here: their values are sent as is.
    pub dimensions: Vec<String>,
    /// Distinct values kept per dimension over the aggregator's lifetime; later new
    /// values count as `"other"` (default 50, at most 65 533).
    pub max_dimension_values: usize,
    /// Audit events per batch; the excess is dropped and counted (default 1 000).
    pub max_audit_events: usize,
    /// Distinct `track()` event names per batch (default 100).
    pub max_event_names: usize,
    /// Distinct unknown flag keys per batch (default 100).
    pub max_unknown_flags: usize,
    /// (unit, flag) pairs whose served variant is remembered for attributing
    /// tracked outcomes (default 8 192, a fixed 128 KiB table allocated on first
    /// use; older pairs are overwritten first). 0 attributes nothing by default.
    pub remembered_served: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            dimensions: Vec::new(),
            max_dimension_values: 50,
            max_audit_events: 1000,
            max_event_names: 100,
            max_unknown_flags: 100,
            remembered_served: 8192,
        }
    }
}

/// Descriptive fields of a batch, supplied when it is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchMeta {
    /// Unique id of the batch (the origin uses it to ignore a retried duplicate).
    pub batch_id: String,
    /// The reporting SDK and its version, e.g. `vexil-js/0.1.0`.
    pub sdk: String,
    /// The environment whose snapshot was evaluated.
    pub environment: String,
    /// The snapshot version serving at the end of the window, if any.
    pub snapshot_version: Option<u64>,
    /// Start of the aggregation window (epoch ms).
    pub window_start_ms: i64,
    /// End of the aggregation window (epoch ms).
    pub window_end_ms: i64,
}

/// A float as JSON: its shortest form, the largest finite double for an overflowed
/// sum (sums saturate like counters).
#[cfg(feature = "authoring")]
pub fn push_float(out: &mut String, n: f64) {
    use std::fmt::Write;
    let n = if n.is_nan() {
        0.0
    } else {
        n.clamp(f64::MIN, f64::MAX)
    };
    let _ = write!(out, "{n:?}");
}

/// [`Counters`] with name-keyed batches (native: the origin aggregates OFREP
/// evaluations with it), and folding back a batch that could not be sent.
#[cfg(feature = "authoring")]
#[derive(Debug)]
pub struct Aggregator {
    counters: Counters,
    /// Batches folded back by [`Aggregator::restore`].
    pending: Option<Batch>,
}

#[cfg(feature = "authoring")]
impl Aggregator {
    /// An aggregator with no flags (call [`Aggregator::set_snapshot`] or
    /// [`Aggregator::set_flags`] on each snapshot).
    pub fn new(config: MetricsConfig) -> Self {
        Aggregator {
            counters: Counters::new(config),
            pending: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MetricsConfig {
        self.counters.config()
    }

    /// Called when a new snapshot is loaded: the flag keys and, per flag, its variant
    /// names, in flag-index order. Counts recorded under the previous snapshot stay
    /// with their flag and variant names; the variants units were served carry over.
    /// No dimension is private: prefer [`Aggregator::set_snapshot`].
    pub fn set_flags(&mut self, flags: Vec<(String, Vec<String>)>) {
        self.counters.set_flags(&flags);
    }

    /// [`Aggregator::set_flags`] from a compiled snapshot, which also learns which
    /// dimensions must never be counted for which flag: those the flag declares in
    /// `private_attributes` (`patient` and `patient.*` cover `patient.population`),
    /// and, for every flag, the snapshot's unit ids (`targetingKey` and every
    /// rollout or exclusion `by` attribute).
    pub fn set_snapshot(&mut self, snapshot: &Arc<Snapshot>) {
        self.counters.set_snapshot(snapshot);
    }

    /// Interns `value` of dimension index `dimension` (into `config.dimensions`) and
    /// returns its id for [`Aggregator::record`]. Past `max_dimension_values` distinct
    /// values (over the aggregator's lifetime, since contexts keep ids), or for a
    /// value longer than [`MAX_DIMENSION_VALUE_LEN`], returns the id of `"other"`;
    /// for an unknown dimension, [`NO_DIMENSION_VALUE`].
    pub fn dimension_value(&mut self, dimension: usize, value: &str) -> u16 {
        self.counters.dimension_value(dimension, value)
    }

    /// Hot path: one evaluation of flag index `flag` (current indexing). `variant`
    /// `None` means the caller's default was served: counted under `error`, or, when
    /// the flag itself serves it (no error), under `reason` in `defaults`. `unit_hash` ([`unit_hash`] of the targeting key) feeds the
    /// unique-units sketch; `dims` holds, per configured dimension, the id from
    /// [`Aggregator::dimension_value`] or [`NO_DIMENSION_VALUE`]. Indices outside the
    /// current snapshot are ignored.
    #[inline]
    pub fn record(
        &mut self,
        flag: u32,
        variant: Option<u16>,
        reason: Reason,
        error: Option<ErrorCode>,
        unit_hash: Option<u64>,
        dims: &[u16],
    ) {
        self.counters
            .record(flag, variant, reason, error, unit_hash, dims);
    }

    /// An evaluation of a key the snapshot does not have (`FLAG_NOT_FOUND`). At most
    /// `max_unknown_flags` distinct keys per batch; the rest count in
    /// `dropped.unknown_flags`.
    pub fn record_unknown(&mut self, key: &str) {
        self.counters.record_unknown(key);
    }

    /// A tracked outcome (`client.track(event, ctx, data)`), attributed to the (flag
    /// index, variant index) pairs given; with none that exists, it counts as
    /// unattributed. Non-finite values and negative or non-finite latencies are
    /// ignored. At most `max_event_names` distinct names per batch; the rest count in
    /// `dropped.events`.
    pub fn track(
        &mut self,
        event: &str,
        attributions: &[(u32, u16)],
        value: Option<f64>,
        latency_ms: Option<f64>,
        success: Option<bool>,
    ) {
        self.counters
            .track(event, attributions, value, latency_ms, success);
    }

    /// A tracked outcome of the unit with hash `unit_hash`, attributed to the
    /// variants it was served by targeting or a rollout, as remembered from
    /// [`Aggregator::record`] (in this session, bounded by
    /// [`MetricsConfig::remembered_served`]). A unit served nothing, or no unit,
    /// counts as unattributed. Otherwise as [`Aggregator::track`].
    pub fn track_served(
        &mut self,
        event: &str,
        unit_hash: Option<u64>,
        value: Option<f64>,
        latency_ms: Option<f64>,
        success: Option<bool>,
    ) {
        self.counters
            .track_served(event, unit_hash, value, latency_ms, success);
    }

    /// An evaluation audit event (flags with `audit_evaluations`). `unit` must be a
    /// [`pseudonym`], never a raw id: anything that is not 32 lowercase hex digits is
    /// left out of the event. At most `max_audit_events` per batch; the rest count in
    /// `dropped.audit`.
    pub fn audit(
        &mut self,
        flag: u32,
        variant: Option<u16>,
        reason: Reason,
        unit: Option<String>,
        at_ms: i64,
    ) {
        self.counters
            .audit(flag, variant, reason, unit.as_deref(), at_ms);
    }

    /// True when nothing has been recorded since the last take.
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.pending.is_none()
    }

    /// Drains everything recorded into a batch with `meta`'s descriptive fields (its
    /// window widened to cover restored batches); `None` when nothing was recorded.
    pub fn take_batch(&mut self, meta: BatchMeta) -> Option<Batch> {
        let fresh = self
            .counters
            .write_batch(&meta, &mut push_float)
            .map(|text| serde_json::from_str::<Batch>(&text).expect("the counters write a batch"));
        let restored = self.pending.take();
        match (fresh, restored) {
            (None, None) => None,
            (Some(b), None) => Some(b),
            (fresh, Some(mut r)) => {
                let window = Window {
                    start_ms: meta.window_start_ms,
                    end_ms: meta.window_end_ms,
                };
                if let Some(b) = fresh {
                    r.merge(b);
                    bound(&mut r, self.counters.config());
                }
                r.window = r.window.union(window);
                r.batch_id = meta.batch_id;
                r.sdk = meta.sdk;
                r.environment = meta.environment;
                r.snapshot_version = meta.snapshot_version.max(r.snapshot_version);
                Some(r)
            }
        }
    }

    /// Folds back a batch that could not be sent, so it goes out with the next one.
    /// The size bounds are re-applied (the excess counts as dropped), so retrying
    /// never grows the buffer without bound.
    pub fn restore(&mut self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        let pending = match self.pending.as_mut() {
            Some(p) => {
                p.merge(batch);
                p
            }
            None => self.pending.insert(batch),
        };
        bound(pending, self.counters.config());
    }
}

/// Re-applies the size bounds to a batch folded from several (the excess counts as
/// dropped).
#[cfg(feature = "authoring")]
fn bound(batch: &mut Batch, cfg: &MetricsConfig) {
    if batch.audit.len() > cfg.max_audit_events {
        batch.dropped.audit += (batch.audit.len() - cfg.max_audit_events) as u64;
        batch.audit.truncate(cfg.max_audit_events);
    }
    while batch.events.len() > cfg.max_event_names {
        if let Some((_, e)) = batch.events.pop_last() {
            batch.dropped.events = batch.dropped.events.saturating_add(e.count);
        }
    }
    while batch.unknown_flags.len() > cfg.max_unknown_flags {
        if let Some((_, n)) = batch.unknown_flags.pop_last() {
            batch.dropped.unknown_flags = batch.dropped.unknown_flags.saturating_add(n);
        }
    }
}

#[cfg(test)]
mod tests;
