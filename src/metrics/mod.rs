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
//! Size bounds (per batch): [`MetricsConfig`] caps distinct event names, unknown flag
//! keys and audit events (the excess is counted in [`Dropped`]); dimension values are
//! capped per dimension (the excess counts as `"other"`); names longer than
//! [`MAX_NAME_LEN`] bytes are dropped, dimension values longer than
//! [`MAX_DIMENSION_VALUE_LEN`] count as `"other"`.

mod batch;
mod hash;
mod histogram;
mod hll;

pub use batch::{
    AuditEvent, Batch, BatchMeta, Dropped, EventStats, FlagStats, OutcomeStats, VariantStats,
    Window, BATCH_SCHEMA,
};
pub use hash::{pseudonym, unit_hash};
pub use histogram::{LatencyHistogram, LATENCY_BOUNDS_MS};
pub use hll::{HyperLogLog, HLL_PRECISION, HLL_REGISTERS};

use crate::engine::{ErrorCode, Reason};
use batch::slot;
use fnv::FnvHashMap;

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
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            dimensions: Vec::new(),
            max_dimension_values: 50,
            max_audit_events: 1000,
            max_event_names: 100,
            max_unknown_flags: 100,
        }
    }
}

/// Counters of one (flag, variant) under the current indexing.
#[derive(Debug, Clone)]
struct Cell {
    count: u64,
    reasons: [u64; Reason::ALL.len()],
    units: HyperLogLog,
    /// Per dimension, counts indexed by value id (grown on first sight of an id).
    dims: Vec<Vec<u64>>,
}

/// One flag of the current snapshot.
#[derive(Debug)]
struct Slot {
    key: String,
    variants: Vec<String>,
    cells: Vec<Cell>,
    errors: [u64; ErrorCode::ALL.len()],
    /// The caller's default served without an error, by reason.
    defaults: [u64; Reason::ALL.len()],
}

/// The interned values of one dimension.
#[derive(Debug, Default)]
struct Interner {
    ids: FnvHashMap<String, u16>,
    names: Vec<String>,
}

/// Aggregates evaluations, tracked outcomes and audit events into [`Batch`]es.
#[derive(Debug)]
pub struct Aggregator {
    config: MetricsConfig,
    /// Id of `"other"` in every dimension (= the per-dimension cap).
    other: u16,
    dims: Vec<Interner>,
    flags: Vec<Slot>,
    /// Name-keyed state: folded counters, events, unknown flags, audit, drops.
    pending: Batch,
    /// Window of batches folded back by [`Aggregator::restore`].
    restored: Option<Window>,
    dirty: bool,
}

impl Aggregator {
    /// An aggregator with no flags (call [`Aggregator::set_flags`] on each snapshot).
    pub fn new(config: MetricsConfig) -> Self {
        let other = config.max_dimension_values.min(usize::from(u16::MAX) - 2) as u16;
        Aggregator {
            dims: config
                .dimensions
                .iter()
                .map(|_| Interner::default())
                .collect(),
            config,
            other,
            flags: Vec::new(),
            pending: Batch::new(BatchMeta::default()),
            restored: None,
            dirty: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    /// Called when a new snapshot is loaded: the flag keys and, per flag, its variant
    /// names, in flag-index order. Counters recorded under the previous indexing are
    /// folded into name-keyed state first, so nothing is lost across a snapshot swap.
    pub fn set_flags(&mut self, flags: Vec<(String, Vec<String>)>) {
        self.fold();
        let ndims = self.dims.len();
        self.flags = flags
            .into_iter()
            .map(|(key, variants)| Slot {
                cells: (0..variants.len())
                    .map(|_| Cell {
                        count: 0,
                        reasons: [0; Reason::ALL.len()],
                        units: HyperLogLog::new(),
                        dims: vec![Vec::new(); ndims],
                    })
                    .collect(),
                key,
                variants,
                errors: [0; ErrorCode::ALL.len()],
                defaults: [0; Reason::ALL.len()],
            })
            .collect();
    }

    /// Interns `value` of dimension index `dimension` (into `config.dimensions`) and
    /// returns its id for [`Aggregator::record`]. Past `max_dimension_values` distinct
    /// values (over the aggregator's lifetime, since contexts keep ids), or for a
    /// value longer than [`MAX_DIMENSION_VALUE_LEN`], returns the id of `"other"`;
    /// for an unknown dimension, [`NO_DIMENSION_VALUE`].
    pub fn dimension_value(&mut self, dimension: usize, value: &str) -> u16 {
        let Some(interner) = self.dims.get_mut(dimension) else {
            return NO_DIMENSION_VALUE;
        };
        if let Some(&id) = interner.ids.get(value) {
            return id;
        }
        if interner.names.len() >= usize::from(self.other) || value.len() > MAX_DIMENSION_VALUE_LEN
        {
            return self.other;
        }
        let id = interner.names.len() as u16;
        interner.names.push(value.to_string());
        interner.ids.insert(value.to_string(), id);
        id
    }

    /// Hot path: one evaluation of flag index `flag` (current indexing). `variant`
    /// `None` means the caller's default was served: counted under `error`, or, when
    /// the flag itself serves it (no error), under `reason` in `defaults`. `unit_hash` ([`unit_hash`] of the targeting key) feeds the
    /// unique-units sketch; `dims` holds, per configured dimension, the id from
    /// [`Aggregator::dimension_value`] or [`NO_DIMENSION_VALUE`]. Indices outside the
    /// current snapshot are ignored. O(1); allocates only the first time a (flag,
    /// variant) sees a unit or a dimension value id.
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
        let Some(slot) = self.flags.get_mut(flag as usize) else {
            return;
        };
        let Some(variant) = variant else {
            match error {
                Some(code) => slot.errors[code as usize] += 1,
                // The flag itself serves the caller's default: not an error.
                None if reason != Reason::Error => slot.defaults[reason as usize] += 1,
                None => slot.errors[ErrorCode::General as usize] += 1,
            }
            self.dirty = true;
            return;
        };
        let Some(cell) = slot.cells.get_mut(usize::from(variant)) else {
            return;
        };
        self.dirty = true;
        cell.count += 1;
        cell.reasons[reason as usize] += 1;
        if let Some(h) = unit_hash {
            cell.units.insert(h);
        }
        for (table, &id) in cell.dims.iter_mut().zip(dims) {
            if id > self.other {
                continue;
            }
            let id = usize::from(id);
            if id >= table.len() {
                table.resize(id + 1, 0);
            }
            table[id] += 1;
        }
    }

    /// An evaluation of a key the snapshot does not have (`FLAG_NOT_FOUND`). At most
    /// `max_unknown_flags` distinct keys per batch; the rest count in
    /// `dropped.unknown_flags`.
    pub fn record_unknown(&mut self, key: &str) {
        self.dirty = true;
        let map = &mut self.pending.unknown_flags;
        if let Some(count) = map.get_mut(key) {
            *count += 1;
        } else if map.len() < self.config.max_unknown_flags && key.len() <= MAX_NAME_LEN {
            map.insert(key.to_string(), 1);
        } else {
            self.pending.dropped.unknown_flags += 1;
        }
    }

    /// A tracked outcome (`client.track(event, ctx, data)`), attributed to the (flag
    /// index, variant index) pairs the unit was served. Non-finite values and
    /// negative or non-finite latencies are ignored. At most `max_event_names`
    /// distinct names per batch; the rest count in `dropped.events`.
    pub fn track(
        &mut self,
        event: &str,
        attributions: &[(u32, u16)],
        value: Option<f64>,
        latency_ms: Option<f64>,
        success: Option<bool>,
    ) {
        self.dirty = true;
        let events = &mut self.pending.events;
        if !events.contains_key(event)
            && (events.len() >= self.config.max_event_names || event.len() > MAX_NAME_LEN)
        {
            self.pending.dropped.events += 1;
            return;
        }
        let stats = slot(events, event);
        stats.count += 1;
        let value = value.filter(|v| v.is_finite());
        for &(flag, variant) in attributions {
            let Some(f) = self.flags.get(flag as usize) else {
                continue;
            };
            let Some(name) = f.variants.get(usize::from(variant)) else {
                continue;
            };
            let o = slot(slot(&mut stats.attributions, &f.key), name);
            o.count += 1;
            if let Some(v) = value {
                o.value_sum += v;
                o.value_count += 1;
            }
            match success {
                Some(true) => o.success += 1,
                Some(false) => o.failure += 1,
                None => {}
            }
            if let Some(ms) = latency_ms {
                o.latency.record(ms);
            }
        }
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
        let Some(f) = self.flags.get(flag as usize) else {
            return;
        };
        self.dirty = true;
        if self.pending.audit.len() >= self.config.max_audit_events {
            self.pending.dropped.audit += 1;
            return;
        }
        let is_pseudonym =
            |u: &String| u.len() == 32 && u.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        self.pending.audit.push(AuditEvent {
            flag: f.key.clone(),
            variant: variant.and_then(|v| f.variants.get(usize::from(v)).cloned()),
            reason: reason.as_str().to_string(),
            unit: unit.filter(is_pseudonym),
            at_ms,
        });
    }

    /// True when nothing has been recorded since the last take.
    pub fn is_empty(&self) -> bool {
        !self.dirty
    }

    /// Drains everything recorded into a batch with `meta`'s descriptive fields (its
    /// window widened to cover restored batches); `None` when nothing was recorded.
    pub fn take_batch(&mut self, meta: BatchMeta) -> Option<Batch> {
        if !self.dirty {
            return None;
        }
        self.fold();
        let mut batch = std::mem::replace(&mut self.pending, Batch::new(BatchMeta::default()));
        let fresh = Batch::new(meta);
        batch.batch_id = fresh.batch_id;
        batch.sdk = fresh.sdk;
        batch.environment = fresh.environment;
        batch.snapshot_version = fresh.snapshot_version;
        batch.window = match self.restored.take() {
            Some(w) => fresh.window.union(w),
            None => fresh.window,
        };
        self.dirty = false;
        Some(batch)
    }

    /// Folds back a batch that could not be sent, so it goes out with the next one.
    /// The size bounds are re-applied (the excess counts as dropped), so retrying
    /// never grows the buffer without bound.
    pub fn restore(&mut self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        self.restored = Some(
            self.restored
                .map_or(batch.window, |w| w.union(batch.window)),
        );
        self.dirty = true;
        let pending = &mut self.pending;
        pending.merge(batch);
        let cfg = &self.config;
        if pending.audit.len() > cfg.max_audit_events {
            pending.dropped.audit += (pending.audit.len() - cfg.max_audit_events) as u64;
            pending.audit.truncate(cfg.max_audit_events);
        }
        while pending.events.len() > cfg.max_event_names {
            if let Some((_, e)) = pending.events.pop_last() {
                pending.dropped.events += e.count;
            }
        }
        while pending.unknown_flags.len() > cfg.max_unknown_flags {
            if let Some((_, n)) = pending.unknown_flags.pop_last() {
                pending.dropped.unknown_flags += n;
            }
        }
    }

    /// Moves the index-keyed counters into the name-keyed pending batch.
    fn fold(&mut self) {
        let Aggregator {
            config,
            other,
            dims,
            flags,
            pending,
            ..
        } = self;
        for f in flags.iter_mut() {
            if f.errors.iter().all(|&c| c == 0)
                && f.defaults.iter().all(|&c| c == 0)
                && f.cells.iter().all(|c| c.count == 0)
            {
                continue;
            }
            let stats = slot(&mut pending.flags, &f.key);
            for (code, n) in ErrorCode::ALL.iter().zip(&mut f.errors) {
                if *n > 0 {
                    *slot(&mut stats.errors, code.as_str()) += std::mem::take(n);
                }
            }
            for (reason, n) in Reason::ALL.iter().zip(&mut f.defaults) {
                if *n > 0 {
                    *slot(&mut stats.defaults, reason.as_str()) += std::mem::take(n);
                }
            }
            for (name, cell) in f.variants.iter().zip(&mut f.cells) {
                if cell.count == 0 {
                    continue;
                }
                let v = slot(&mut stats.variants, name);
                v.count += std::mem::take(&mut cell.count);
                for (reason, n) in Reason::ALL.iter().zip(&mut cell.reasons) {
                    if *n > 0 {
                        *slot(&mut v.reasons, reason.as_str()) += std::mem::take(n);
                    }
                }
                v.units.merge(&cell.units);
                cell.units.clear();
                for ((dim, interner), table) in
                    config.dimensions.iter().zip(&*dims).zip(&mut cell.dims)
                {
                    for (id, n) in table.iter_mut().enumerate() {
                        if *n > 0 {
                            let value = interner.names.get(id).map_or(OTHER, String::as_str);
                            debug_assert!(id < interner.names.len() || id == usize::from(*other));
                            *slot(slot(&mut v.dimensions, dim), value) += std::mem::take(n);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
