//! The counting itself, in flat tables: what the wasm module runs per evaluation
//! and what [`super::Aggregator`] wraps natively.
//!
//! Counters are keyed by a registry of (flag key, variant name) cells that outlives a
//! snapshot swap: a new snapshot maps its flag and variant indices onto the cells of
//! the same names, so nothing is folded or lost when snapshots change, and a batch is
//! written straight from the tables ([`Counters::write_batch`]) as JSON text with no
//! intermediate maps — the wasm module has neither BTreeMaps nor serde.
//!
//! Here: the tables and counting evaluations and audit events; the registry of cells
//! in `registry.rs`, tracked outcomes in `track.rs`, the batch writer in `write.rs`.

mod registry;
mod track;
mod write;

use super::histogram::LatencyHistogram;
use super::hll::HyperLogLog;
use super::served::Served;
use super::{MetricsConfig, MAX_DIMENSION_VALUE_LEN, MAX_NAME_LEN};
use crate::engine::{ErrorCode, Reason, Snapshot};
use fnv::FnvHashMap;
use std::sync::Arc;

/// Index of a cell in the registry.
type CellId = u32;

/// Counters of one (flag, variant).
#[derive(Debug, Clone, Default)]
struct Cell {
    count: u64,
    reasons: [u64; Reason::ALL.len()],
    /// The unit hash last queued for `units`: the same unit again (a page evaluating
    /// for its user, evaluate-all for one context) adds nothing to the sketch, so it
    /// is not queued again (each insert is a cache miss into a 1 KB sketch).
    last_unit: Option<u64>,
    units: HyperLogLog,
    /// Per dimension, counts indexed by value id (grown on first sight of an id).
    dims: Vec<Vec<u64>>,
}

/// A flag known to the registry.
#[derive(Debug, Clone)]
struct FlagEntry {
    /// Shared with the snapshot that introduced it (no copy per load).
    key: Arc<str>,
    /// Its variants' names and cells.
    variants: Vec<(Arc<str>, CellId)>,
    errors: [u64; ErrorCode::ALL.len()],
    /// The caller's default served without an error (a flag without an off
    /// variant, a `caller_default` serve), by reason.
    defaults: [u64; Reason::ALL.len()],
}

/// A flag of the current snapshot: its entry, its variants' cells by variant index,
/// and which dimensions must never be counted for it.
#[derive(Debug, Clone, Default)]
struct Current {
    entry: u32,
    cells: Box<[CellId]>,
    hidden: Box<[bool]>,
}

impl Current {
    /// A flag waiting for its first evaluation to be registered.
    fn pending() -> Current {
        Current {
            entry: u32::MAX,
            ..Current::default()
        }
    }

    fn is_pending(&self) -> bool {
        self.entry == u32::MAX
    }
}

/// A snapshot flag as the registry needs it: key, variant names by index, and the
/// dimensions withheld for it.
struct FlagSpec<'a> {
    key: &'a Arc<str>,
    variants: Vec<&'a Arc<str>>,
    hidden: Box<[bool]>,
}

/// Tracked outcomes of one event name.
#[derive(Debug, Clone)]
struct Event {
    name: Box<str>,
    count: u64,
    unattributed: u64,
    /// By cell: calls, value sum, sum of squares and count, successes, failures, latencies.
    outcomes: Vec<(CellId, Outcome)>,
}

#[derive(Debug, Clone, Default)]
struct Outcome {
    count: u64,
    value_sum: f64,
    /// Sum of the values' squares, for their variance at the origin.
    value_sq_sum: f64,
    value_count: u64,
    success: u64,
    failure: u64,
    latency: LatencyHistogram,
}

/// One audited evaluation, by cell (or flag entry when the default was served).
#[derive(Debug, Clone)]
struct Audit {
    entry: u32,
    cell: Option<CellId>,
    reason: Reason,
    unit: Option<Box<str>>,
    at_ms: i64,
}

/// The values one dimension has taken.
#[derive(Debug, Default)]
struct Interner {
    ids: FnvHashMap<Box<str>, u16>,
    names: Vec<Box<str>>,
}

/// Flat counters of evaluations, tracked outcomes and audit events.
#[derive(Debug)]
pub struct Counters {
    config: MetricsConfig,
    /// Id of `"other"` in every dimension (= the per-dimension cap).
    other: u16,
    dims: Vec<Interner>,
    entries: Vec<FlagEntry>,
    by_key: FnvHashMap<Arc<str>, u32>,
    cells: Vec<Cell>,
    current: Vec<Current>,
    /// The snapshot whose new flags are registered on their first evaluation.
    source: Option<Arc<Snapshot>>,
    events: Vec<Event>,
    unknown: Vec<(Box<str>, u64)>,
    audit: Vec<Audit>,
    dropped: [u64; 3],
    served: Served,
    /// Unit hashes waiting to enter their cells' sketches (see [`Counters::record`]).
    pending_units: Vec<(CellId, u64)>,
    dirty: bool,
}

/// How many unit inserts wait before they are applied together. The sketches are
/// 1 KB per cell, megabytes for a large snapshot: one insert is a cache miss, which
/// stalls when it sits between evaluations but overlaps with its neighbours in a
/// tight loop of independent inserts.
const PENDING_UNITS: usize = 256;

fn apply_units(cells: &mut [Cell], pending: &mut Vec<(CellId, u64)>) {
    for &(cell, hash) in pending.iter() {
        cells[cell as usize].units.insert(hash);
    }
    pending.clear();
}

fn add(n: &mut u64, by: u64) {
    *n = n.saturating_add(by);
}

impl Counters {
    /// Counters with no flags yet.
    pub fn new(config: MetricsConfig) -> Counters {
        let other = config.max_dimension_values.min(usize::from(u16::MAX) - 2) as u16;
        Counters {
            dims: config
                .dimensions
                .iter()
                .map(|_| Interner::default())
                .collect(),
            served: Served::new(config.remembered_served),
            config,
            other,
            entries: Vec::new(),
            by_key: FnvHashMap::default(),
            cells: Vec::new(),
            current: Vec::new(),
            source: None,
            events: Vec::new(),
            unknown: Vec::new(),
            audit: Vec::new(),
            dropped: [0; 3],
            pending_units: Vec::with_capacity(PENDING_UNITS),
            dirty: false,
        }
    }

    /// Applies the waiting unit inserts; anything that reads a sketch calls it first.
    fn apply_pending_units(&mut self) {
        apply_units(&mut self.cells, &mut self.pending_units);
    }

    /// The configuration.
    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    /// Interns `value` of dimension index `dimension`; past the per-dimension cap,
    /// or for a value longer than [`MAX_DIMENSION_VALUE_LEN`], the id of `"other"`;
    /// for an unknown dimension, [`super::NO_DIMENSION_VALUE`].
    pub fn dimension_value(&mut self, dimension: usize, value: &str) -> u16 {
        let Some(interner) = self.dims.get_mut(dimension) else {
            return super::NO_DIMENSION_VALUE;
        };
        if let Some(&id) = interner.ids.get(value) {
            return id;
        }
        if interner.names.len() >= usize::from(self.other) || value.len() > MAX_DIMENSION_VALUE_LEN
        {
            return self.other;
        }
        let id = interner.names.len() as u16;
        interner.names.push(value.into());
        interner.ids.insert(value.into(), id);
        id
    }

    /// Hot path: one evaluation of flag index `flag` of the current snapshot (see
    /// [`super::Aggregator::record`]).
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
        self.ensure(flag);
        let Some(current) = self.current.get(flag as usize).filter(|c| !c.is_pending()) else {
            return;
        };
        let Some(variant) = variant else {
            let e = &mut self.entries[current.entry as usize];
            match error {
                Some(code) => add(&mut e.errors[code as usize], 1),
                // The flag itself serves the caller's default: not an error.
                None if reason != Reason::Error => add(&mut e.defaults[reason as usize], 1),
                None => add(&mut e.errors[ErrorCode::General as usize], 1),
            }
            self.dirty = true;
            return;
        };
        let Some(&cell_id) = current.cells.get(usize::from(variant)) else {
            return;
        };
        self.dirty = true;
        let Some(cell) = self.cells.get_mut(cell_id as usize) else {
            return;
        };
        if let Some(h) = unit_hash.filter(|&h| cell.last_unit != Some(h)) {
            cell.last_unit = Some(h);
            if self.pending_units.len() >= PENDING_UNITS {
                apply_units(&mut self.cells, &mut self.pending_units);
            }
            self.pending_units.push((cell_id, h));
        }
        let cell = &mut self.cells[cell_id as usize];
        add(&mut cell.count, 1);
        add(&mut cell.reasons[reason as usize], 1);
        for (i, (table, &id)) in cell.dims.iter_mut().zip(dims).enumerate() {
            if id > self.other || current.hidden.get(i).copied().unwrap_or(false) {
                continue;
            }
            let id = usize::from(id);
            if id >= table.len() {
                table.resize(id + 1, 0);
            }
            add(&mut table[id], 1);
        }
        // Only a variant chosen for this unit (by targeting or a rollout) is one its
        // outcomes can tell anything about.
        if let (Some(h), Reason::Split | Reason::TargetingMatch) = (unit_hash, reason) {
            self.served.remember(h, current.entry, cell_id);
        }
    }

    /// An evaluation of a key the snapshot does not have (`FLAG_NOT_FOUND`).
    pub fn record_unknown(&mut self, key: &str) {
        self.dirty = true;
        if let Some((_, n)) = self.unknown.iter_mut().find(|(k, _)| **k == *key) {
            add(n, 1);
        } else if self.unknown.len() < self.config.max_unknown_flags && key.len() <= MAX_NAME_LEN {
            self.unknown.push((key.into(), 1));
        } else {
            add(&mut self.dropped[2], 1);
        }
    }

    /// An evaluation audit event; `unit` must be a [`super::pseudonym`] (anything
    /// that is not 32 lowercase hex digits is left out).
    pub fn audit(
        &mut self,
        flag: u32,
        variant: Option<u16>,
        reason: Reason,
        unit: Option<&str>,
        at_ms: i64,
    ) {
        self.ensure(flag);
        let Some(current) = self.current.get(flag as usize).filter(|c| !c.is_pending()) else {
            return;
        };
        self.dirty = true;
        if self.audit.len() >= self.config.max_audit_events {
            add(&mut self.dropped[0], 1);
            return;
        }
        let is_pseudonym =
            |u: &&str| u.len() == 32 && u.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        self.audit.push(Audit {
            entry: current.entry,
            cell: variant.and_then(|v| current.cells.get(usize::from(v)).copied()),
            reason,
            unit: unit.filter(is_pseudonym).map(Into::into),
            at_ms,
        });
    }

    /// True when nothing has been recorded since the last take.
    pub fn is_empty(&self) -> bool {
        !self.dirty
    }

    /// Zeroes every counter; drops the flags the current snapshot no longer has
    /// (their served variants with them) once they outnumber it.
    pub(super) fn clear(&mut self) {
        self.pending_units.clear();
        for cell in &mut self.cells {
            cell.count = 0;
            cell.reasons = [0; Reason::ALL.len()];
            cell.units.clear();
            cell.last_unit = None;
            cell.dims
                .iter_mut()
                .for_each(|t| t.iter_mut().for_each(|n| *n = 0));
        }
        for e in &mut self.entries {
            e.errors = [0; ErrorCode::ALL.len()];
            e.defaults = [0; Reason::ALL.len()];
        }
        self.events.clear();
        self.unknown.clear();
        self.audit.clear();
        self.dropped = [0; 3];
        self.dirty = false;
        if self.entries.len() > 2 * self.current.len().max(64) {
            self.compact();
        }
    }
}
