//! An edge's evaluation session: the last-known-good snapshot store, the contexts
//! a host fills, evaluation with metrics and evaluation audit, tracked outcomes.
//!
//! This is everything the wasm module does, as plain Rust (tested and benchmarked
//! natively); `wasm` only binds it. Contexts live in slots the host refers to by
//! number and fills with [`records`]; a slot filled for one snapshot is refilled by
//! the host after the next loads (until then it evaluates as `INVALID_CONTEXT`).

pub mod js_tables;
mod ofrep;
pub mod records;
pub mod rows;

use crate::engine::context::{ResolvedContext, TARGETING_KEY};
use crate::engine::kinds::AuditEvaluations;
use crate::engine::trace::Steps;
use crate::engine::{ErrorCode, Outcome, Reason};
use crate::metrics::{self, BatchMeta, Counters, MetricsConfig};
use crate::snapshot::{Keyring, LoadInfo, Rejection, StalePolicy, Store};
use records::Record;

/// Marks "no variant" (the caller's default) in a packed outcome.
pub const NO_VARIANT: u32 = 0xFFFF;
/// Where the reason starts in a packed outcome.
pub const REASON_SHIFT: u32 = 16;
/// Where the error code starts in a packed outcome.
pub const ERROR_SHIFT: u32 = 20;
/// Where the rule starts in a packed outcome.
pub const RULE_SHIFT: u32 = 24;
/// The packed rule that means "too large to pack: ask for it".
pub const RULE_ASK: u32 = 255;
/// "No rule" beside a packed outcome in [`Session::evaluate_all`]'s pairs.
pub const NO_RULE: u32 = u32::MAX;

/// Packs an outcome into the `u32` hosts receive: bits 0–15 the variant index
/// (`0xFFFF` = default), bits 16–19 the reason's index in [`Reason::ALL`], bits
/// 20–23 the error code's index in [`ErrorCode::ALL`] plus one (0 = no error), bits
/// 24–31 the rule index plus one (0 = no rule, 255 = too large: ask for it).
pub fn pack(outcome: &Outcome) -> u32 {
    let variant = outcome.variant.map_or(NO_VARIANT, u32::from);
    // Discriminants follow the order of `Reason::ALL` and `ErrorCode::ALL`.
    let reason = outcome.reason as u32;
    let error = outcome.error.map_or(0, |e| e as u32 + 1);
    let rule = outcome.rule.map_or(0, |r| (r + 1).min(RULE_ASK));
    variant | (reason << REASON_SHIFT) | (error << ERROR_SHIFT) | (rule << RULE_SHIFT)
}

/// How a session is set up.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The environment served.
    pub environment: String,
    /// The keys snapshots must be signed with.
    pub keyring: Keyring,
    /// What to serve past a snapshot's expiry.
    pub stale_policy: StalePolicy,
    /// Allow-listed context attributes counted as metrics dimensions.
    pub dimensions: Vec<String>,
    /// Key of the pseudonyms in evaluation audit events.
    pub audit_key: Vec<u8>,
    /// Whether to aggregate metrics.
    pub metrics: bool,
}

/// What metrics and audit events need to know about a context's unit.
#[derive(Debug, Default)]
struct UnitFacts {
    hash: Option<u64>,
    /// Keyed pseudonym of the unit, computed on the first audited evaluation.
    pseudonym: Option<String>,
    dims: Vec<u16>,
}

impl UnitFacts {
    /// Facts of no unit yet, with `dimensions` dimensions unset.
    fn clear(&mut self, dimensions: usize) {
        self.hash = None;
        self.pseudonym = None;
        self.dims.clear();
        self.dims.resize(dimensions, metrics::NO_DIMENSION_VALUE);
    }

    /// Takes up the unit of `resolved` (its pseudonym is computed again when needed).
    fn identify(&mut self, resolved: &ResolvedContext) {
        self.hash = resolved.targeting_key().map(metrics::unit_hash);
        self.pseudonym = None;
    }
}

/// A context slot. In declaration order (`repr(C)`), so that what every evaluation
/// reads first, the generation and the resolved context's arrays, shares a cache line
/// (with 10,000 live slots each line is a miss).
#[derive(Debug, Default)]
#[repr(C)]
struct Slot {
    /// The store generation it was filled for (0: never filled).
    generation: u64,
    resolved: ResolvedContext,
    unit: UnitFacts,
}

/// The data of a `track()` call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackData<'a> {
    /// A value to sum.
    pub value: Option<f64>,
    /// A latency in milliseconds.
    pub latency_ms: Option<f64>,
    /// Success or failure.
    pub success: Option<bool>,
    /// The flags to attribute the outcome to (default: those the unit was served by
    /// targeting or a rollout).
    pub flags: Option<Vec<&'a str>>,
}

/// An evaluation session (see the module documentation).
#[derive(Debug)]
pub struct Session {
    store: Store,
    metrics: Option<Counters>,
    dimensions: usize,
    audit_key: Vec<u8>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    window_start_ms: i64,
}

impl Session {
    /// A session with no snapshot yet.
    pub fn new(config: SessionConfig) -> Session {
        let dimensions = config.dimensions.len();
        let metrics = config.metrics.then(|| {
            Counters::new(MetricsConfig {
                dimensions: config.dimensions,
                ..MetricsConfig::default()
            })
        });
        Session {
            store: Store::new(config.keyring, config.environment, config.stale_policy),
            metrics,
            dimensions,
            audit_key: config.audit_key,
            slots: Vec::new(),
            free: Vec::new(),
            window_start_ms: 0,
        }
    }

    /// Drops the session, in this crate: the wasm bindings call it so that the drop
    /// code is built with `vexil`'s size-optimised profile rather than theirs.
    #[inline(never)]
    pub fn discard(self) {}

    /// The snapshot store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Verifies and loads a signed envelope; the previous snapshot keeps serving on
    /// any rejection.
    pub fn load(&mut self, envelope: &[u8], now_ms: i64) -> Result<LoadInfo, Rejection> {
        let info = self.store.load(envelope, now_ms)?;
        if let (Some(metrics), Some(snapshot)) = (self.metrics.as_mut(), self.store.shared()) {
            metrics.set_snapshot(snapshot);
        }
        // Nothing is counted before the first snapshot: the first window starts here.
        if self.window_start_ms == 0 {
            self.window_start_ms = now_ms;
        }
        Ok(info)
    }

    /// A new, empty context slot.
    pub fn open(&mut self) -> u32 {
        match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(Slot::default());
                self.slots.len() as u32 - 1
            }
        }
    }

    /// Releases a slot (its number may be handed out again).
    pub fn close(&mut self, id: u32) {
        if let Some(slot) = self.slots.get_mut(id as usize) {
            if slot.generation != u64::MAX {
                *slot = Slot {
                    generation: u64::MAX,
                    ..Slot::default()
                };
                self.free.push(id);
            }
        }
    }

    /// Fills slot `id` for the current snapshot from `records`; with `reset`, every
    /// attribute is missing first (a new context), else the records add to it.
    pub fn fill(&mut self, id: u32, reset: bool, records: &[Record], text: &[u8]) {
        let (Some(snapshot), Some(slot)) = (self.store.snapshot(), self.slots.get_mut(id as usize))
        else {
            return;
        };
        let generation = self.store.generation();
        let reset = reset || slot.generation != generation;
        if reset {
            slot.resolved.clear(snapshot.attributes());
            slot.generation = generation;
            slot.unit.clear(self.dimensions);
        }
        // A fill that adds other attributes (the JS glue fills a slot flag by flag)
        // leaves the unit as it was.
        let unit_changed = reset || records.iter().any(|r| r.attr == TARGETING_KEY);
        let unit = &mut slot.unit;
        let metrics = &mut self.metrics;
        records::apply(
            &mut slot.resolved,
            snapshot.attributes(),
            records,
            text,
            |index, value| {
                if let (Some(m), Some(d)) = (metrics.as_mut(), unit.dims.get_mut(index as usize)) {
                    *d = m.dimension_value(index as usize, value);
                }
            },
        );
        if unit_changed {
            unit.identify(&slot.resolved);
        }
    }

    /// Fills slot `id` for the current snapshot from a JSON context, replacing every
    /// attribute: how a native host fills a slot (the JS glue stages records). A
    /// dimension's value is the string, boolean or number at its path. Nothing
    /// happens before a snapshot or for a slot never opened.
    #[cfg(feature = "authoring")]
    pub fn fill_json(
        &mut self,
        id: u32,
        ctx: &serde_json::Value,
    ) -> Result<(), crate::engine::ContextError> {
        let (Some(snapshot), Some(slot)) = (self.store.snapshot(), self.slots.get_mut(id as usize))
        else {
            return Ok(());
        };
        slot.resolved = snapshot.resolve_context(ctx)?;
        slot.generation = self.store.generation();
        slot.unit.clear(self.dimensions);
        slot.unit.identify(&slot.resolved);
        if let Some(m) = self.metrics.as_mut() {
            let texts: Vec<Option<String>> = (m.config().dimensions.iter())
                .map(|path| dimension_text(ctx, path))
                .collect();
            for (i, text) in texts.into_iter().enumerate() {
                if let Some(text) = text {
                    slot.unit.dims[i] = m.dimension_value(i, &text);
                }
            }
        }
        Ok(())
    }

    /// Why nothing can be evaluated for slot `id` now, if so.
    fn blocked(&self, id: u32, now_ms: i64) -> Option<Outcome> {
        if self.store.snapshot().is_none() {
            return Some(Outcome::error(ErrorCode::ProviderNotReady));
        }
        if self.store.serving_defaults(now_ms) {
            return Some(Outcome::error(ErrorCode::General));
        }
        match self.slots.get(id as usize) {
            Some(slot) if slot.generation == self.store.generation() => None,
            _ => Some(Outcome::error(ErrorCode::InvalidContext)),
        }
    }

    /// Evaluates flag index `flag` for slot `id` at `now_ms`, counting it.
    pub fn evaluate(&mut self, flag: u32, id: u32, now_ms: i64) -> Outcome {
        let outcome = self.outcome(flag, id, now_ms, &mut None);
        self.count(flag, id, &outcome, now_ms);
        outcome
    }

    /// The outcome of flag `flag` for slot `id`, its steps written to `steps`.
    fn outcome(&self, flag: u32, id: u32, now_ms: i64, steps: &mut Steps<'_>) -> Outcome {
        match self.blocked(id, now_ms) {
            Some(o) => o,
            None => match (self.store.snapshot(), self.slots.get(id as usize)) {
                (Some(s), Some(slot)) => s.evaluate_steps(flag, &slot.resolved, now_ms, steps),
                _ => Outcome::error(ErrorCode::InvalidContext),
            },
        }
    }

    /// Traces flag index `flag` for slot `id` at `now_ms` as [`Session::evaluate`]
    /// evaluates it, without counting it. Appends to `out` the number of `u32`s that
    /// follow, the packed outcome, its rule index (or [`NO_RULE`]), then three
    /// numbers a step ([`crate::engine::trace::codes`]).
    pub fn trace(&self, flag: u32, id: u32, now_ms: i64, out: &mut Vec<u32>) {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0]);
        let outcome = self.outcome(flag, id, now_ms, &mut Some(&mut *out));
        let len = (out.len() - start - 1) as u32;
        let rule = outcome.rule.unwrap_or(NO_RULE);
        out[start..start + 3].copy_from_slice(&[len, pack(&outcome), rule]);
    }

    /// Evaluates every flag for slot `id`, appending two numbers per flag to `out`:
    /// the packed outcome and the rule index (or [`NO_RULE`]).
    pub fn evaluate_all(&mut self, id: u32, now_ms: i64, out: &mut Vec<u32>) {
        let count = self.store.snapshot().map_or(0, |s| s.flags().len());
        out.reserve(count * 2);
        let blocked = self.blocked(id, now_ms);
        for flag in 0..count as u32 {
            let outcome = match (blocked, self.store.snapshot(), self.slots.get(id as usize)) {
                (None, Some(s), Some(slot)) => s.evaluate(flag, &slot.resolved, now_ms),
                (Some(o), _, _) => o,
                _ => Outcome::error(ErrorCode::InvalidContext),
            };
            self.count(flag, id, &outcome, now_ms);
            out.push(pack(&outcome));
            out.push(outcome.rule.unwrap_or(NO_RULE));
        }
    }

    /// Counts an evaluation, and emits its audit event when the flag audits it.
    fn count(&mut self, flag: u32, id: u32, outcome: &Outcome, now_ms: i64) {
        let (Some(metrics), Some(slot)) = (self.metrics.as_mut(), self.slots.get_mut(id as usize))
        else {
            return;
        };
        let unit = &mut slot.unit;
        metrics.record(
            flag,
            outcome.variant,
            outcome.reason,
            outcome.error,
            unit.hash,
            &unit.dims,
        );
        let audited = self
            .store
            .snapshot()
            .and_then(|s| s.flag(flag))
            .is_some_and(|f| match f.audit_evaluations {
                AuditEvaluations::All => true,
                AuditEvaluations::Denied => outcome.reason == Reason::Denied,
                AuditEvaluations::None => false,
            });
        if audited {
            if unit.pseudonym.is_none() {
                unit.pseudonym = slot
                    .resolved
                    .targeting_key()
                    .map(|u| metrics::pseudonym(&self.audit_key, u));
            }
            metrics.audit(
                flag,
                outcome.variant,
                outcome.reason,
                unit.pseudonym.as_deref(),
                now_ms,
            );
        }
    }

    /// Counts an evaluation of a key the snapshot does not have.
    pub fn record_unknown(&mut self, key: &str) {
        if let Some(m) = self.metrics.as_mut() {
            m.record_unknown(key);
        }
    }

    /// Counts an evaluation the host answered itself with an error (type mismatch).
    pub fn record_error(&mut self, flag: u32, code: ErrorCode, id: u32) {
        let hash = self.slots.get(id as usize).and_then(|s| s.unit.hash);
        let no_dims = Vec::new();
        let dims = self
            .slots
            .get(id as usize)
            .map_or(&no_dims, |s| &s.unit.dims);
        if let Some(m) = self.metrics.as_mut() {
            m.record(flag, None, Reason::Error, Some(code), hash, dims);
        }
    }

    /// Records a tracked outcome for slot `id`'s unit: attributed to the variants the
    /// listed flags serve it, or, without a list, to those this session served the
    /// unit by targeting or a rollout (unattributed when none).
    pub fn track(&mut self, event: &str, id: u32, data: &TrackData<'_>, now_ms: i64) {
        let Some(metrics) = self.metrics.as_mut() else {
            return;
        };
        let slot = self
            .slots
            .get(id as usize)
            .filter(|s| s.generation == self.store.generation());
        let Some(keys) = &data.flags else {
            let unit = slot.and_then(|s| s.unit.hash);
            metrics.track_served(event, unit, data.value, data.latency_ms, data.success);
            return;
        };
        let mut attributions = Vec::new();
        if let (Some(snapshot), Some(slot)) = (self.store.snapshot(), slot) {
            for key in keys {
                if let Some(flag) = snapshot.flag_id(key) {
                    if let Some(v) = snapshot.evaluate(flag, &slot.resolved, now_ms).variant {
                        attributions.push((flag, v));
                    }
                }
            }
        }
        metrics.track(
            event,
            &attributions,
            data.value,
            data.latency_ms,
            data.success,
        );
    }

    /// Drains the metrics recorded since the last call into a batch: its JSON text
    /// (the `Batch` wire format), every float written by `float` (see
    /// [`Counters::write_batch`]); `None` when nothing was recorded.
    pub fn take_batch(
        &mut self,
        batch_id: String,
        sdk: String,
        now_ms: i64,
        float: &mut dyn FnMut(&mut String, f64),
    ) -> Option<String> {
        let metrics = self.metrics.as_mut()?;
        let meta = BatchMeta {
            batch_id,
            sdk,
            environment: self.store.environment().to_string(),
            snapshot_version: self.store.version(),
            window_start_ms: self.window_start_ms,
            window_end_ms: now_ms,
        };
        let batch = metrics.write_batch(&meta, float);
        self.window_start_ms = now_ms;
        batch
    }
}

/// The text a metrics dimension counts for `path` in `ctx`, as the JS glue reads it:
/// a string, `true`/`false`, or a finite number as JavaScript writes it.
#[cfg(feature = "authoring")]
fn dimension_text(ctx: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let value = path
        .split('.')
        .try_fold(ctx, |v, segment| v.as_object()?.get(segment))?;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        Value::Number(n) => n.as_f64().and_then(crate::engine::context::number_text),
        _ => None,
    }
}
