//! The metrics batch: what an edge sends to `POST /api/v1/metrics`, keyed by names
//! (flag keys, variant names, reasons, error codes), never by indices. Mergeable, so
//! the origin can combine edges and an edge can fold a failed send back.

use super::{BatchMeta, HyperLogLog, LatencyHistogram};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The batch format version written in `schema`; readers reject any other.
pub const BATCH_SCHEMA: u32 = 1;

/// An aggregation window, epoch milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start (epoch ms).
    pub start_ms: i64,
    /// End (epoch ms).
    pub end_ms: i64,
}

impl Window {
    /// The smallest window covering both.
    pub fn union(self, other: Window) -> Window {
        Window {
            start_ms: self.start_ms.min(other.start_ms),
            end_ms: self.end_ms.max(other.end_ms),
        }
    }
}

/// A batch of aggregated metrics (the wire contract with the origin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Always [`BATCH_SCHEMA`]; deserializing any other value fails.
    #[serde(deserialize_with = "schema")]
    pub schema: u32,
    /// Unique id of the batch.
    pub batch_id: String,
    /// The reporting SDK and its version.
    pub sdk: String,
    /// The environment.
    pub environment: String,
    /// The snapshot version serving at the end of the window.
    #[serde(default)]
    pub snapshot_version: Option<u64>,
    /// The aggregation window.
    pub window: Window,
    /// Evaluations by flag key.
    #[serde(default)]
    pub flags: BTreeMap<String, FlagStats>,
    /// Evaluations of keys the snapshot does not have (`FLAG_NOT_FOUND`), by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_flags: BTreeMap<String, u64>,
    /// Tracked outcomes by event name.
    #[serde(default)]
    pub events: BTreeMap<String, EventStats>,
    /// Evaluation audit events (flags with `audit_evaluations`), pseudonymised.
    #[serde(default)]
    pub audit: Vec<AuditEvent>,
    /// What the size bounds dropped.
    #[serde(default)]
    pub dropped: Dropped,
}

fn schema<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if v != BATCH_SCHEMA {
        return Err(serde::de::Error::custom(format!(
            "unsupported metrics batch schema {v} (this version reads {BATCH_SCHEMA})"
        )));
    }
    Ok(v)
}

/// Evaluations of one flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlagStats {
    /// Evaluations that served a variant, by variant name.
    #[serde(default)]
    pub variants: BTreeMap<String, VariantStats>,
    /// Evaluations that served the caller's default, by error code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
    /// Evaluations that served the caller's default without an error (a flag without
    /// an off variant, a `caller_default` serve), by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub defaults: BTreeMap<String, u64>,
}

impl FlagStats {
    /// Every evaluation counted: served variants, errors and callers' defaults.
    pub fn evaluations(&self) -> u64 {
        let sum = |counts: &mut dyn Iterator<Item = u64>| counts.fold(0u64, u64::saturating_add);
        sum(&mut self.variants.values().map(|v| v.count))
            .saturating_add(sum(&mut self.errors.values().copied()))
            .saturating_add(sum(&mut self.defaults.values().copied()))
    }
}

/// Evaluations that served one variant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariantStats {
    /// Number of evaluations.
    pub count: u64,
    /// The same evaluations by reason (`SPLIT`, `TARGETING_MATCH`, ...).
    #[serde(default)]
    pub reasons: BTreeMap<String, u64>,
    /// Distinct units served (a sketch of their hashes); omitted when no unit.
    #[serde(default, skip_serializing_if = "HyperLogLog::is_empty")]
    pub units: HyperLogLog,
    /// Counts per allow-listed dimension and value (`"other"` past the cap).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Tracked outcomes of one event name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventStats {
    /// Number of `track` calls.
    pub count: u64,
    /// Outcomes by flag key, then by the variant the unit was served.
    #[serde(default)]
    pub attributions: BTreeMap<String, BTreeMap<String, OutcomeStats>>,
    /// Calls attributed to no flag: the unit was served no flag by targeting or a
    /// rollout (or the context had no `targetingKey`); omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unattributed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Outcomes attributed to one flag variant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeStats {
    /// Number of `track` calls attributed.
    pub count: u64,
    /// Sum of the finite values passed.
    #[serde(default)]
    pub value_sum: f64,
    /// Sum of the squares of those values, so the origin can tell their variance
    /// (`value_sq_sum / value_count - mean²`); absent from older SDKs' batches, and
    /// unknown once such a batch's values are folded in: a best-execution guard then
    /// has no variance to judge with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_sq_sum: Option<f64>,
    /// How many calls passed a value (the mean value is `value_sum / value_count`).
    #[serde(default)]
    pub value_count: u64,
    /// Calls that reported success.
    #[serde(default)]
    pub success: u64,
    /// Calls that reported failure.
    #[serde(default)]
    pub failure: u64,
    /// Latencies passed; omitted when none.
    #[serde(default, skip_serializing_if = "LatencyHistogram::is_empty")]
    pub latency: LatencyHistogram,
}

/// One audited evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The flag key.
    pub flag: String,
    /// The variant served; omitted when the caller's default was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Why (`SPLIT`, `DENIED`, ...).
    pub reason: String,
    /// Keyed pseudonym of the unit ([`super::pseudonym`]); omitted when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// When (epoch ms).
    pub at_ms: i64,
}

/// Counts of what the size bounds dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Audit events past `max_audit_events`.
    #[serde(default)]
    pub audit: u64,
    /// `track` calls past `max_event_names` distinct names (or with an overlong name).
    #[serde(default)]
    pub events: u64,
    /// Unknown-flag evaluations past `max_unknown_flags` distinct keys (or overlong).
    #[serde(default)]
    pub unknown_flags: u64,
}

/// The value under `key`, inserted as default if absent; allocates only on insert.
pub(crate) fn slot<'a, V: Default>(map: &'a mut BTreeMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        let n = slot(into, &k);
        *n = n.saturating_add(v);
    }
}

impl Batch {
    /// An empty batch with the given descriptive fields.
    pub fn new(meta: BatchMeta) -> Batch {
        Batch {
            schema: BATCH_SCHEMA,
            batch_id: meta.batch_id,
            sdk: meta.sdk,
            environment: meta.environment,
            snapshot_version: meta.snapshot_version,
            window: Window {
                start_ms: meta.window_start_ms,
                end_ms: meta.window_end_ms,
            },
            flags: BTreeMap::new(),
            unknown_flags: BTreeMap::new(),
            events: BTreeMap::new(),
            audit: Vec::new(),
            dropped: Dropped::default(),
        }
    }

    /// True when the batch records nothing (no counts, events, audit or drops).
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
            && self.unknown_flags.is_empty()
            && self.events.is_empty()
            && self.audit.is_empty()
            && self.dropped == Dropped::default()
    }

    /// Folds `other` into this batch: counters and histograms add (saturating at
    /// `u64::MAX`, never wrapping or panicking), unit sketches union, audit events append, the window widens to cover both and the snapshot
    /// version is the larger. `batch_id`, `sdk` and `environment` stay this batch's.
    /// Unbounded: the origin merges freely; an edge uses
    /// [`super::Aggregator::restore`], which re-applies the size bounds.
    pub fn merge(&mut self, other: Batch) {
        self.window = self.window.union(other.window);
        self.snapshot_version = self.snapshot_version.max(other.snapshot_version);
        for (key, theirs) in other.flags {
            let ours = slot(&mut self.flags, &key);
            add_counts(&mut ours.errors, theirs.errors);
            add_counts(&mut ours.defaults, theirs.defaults);
            for (name, v) in theirs.variants {
                let o = slot(&mut ours.variants, &name);
                o.count = o.count.saturating_add(v.count);
                add_counts(&mut o.reasons, v.reasons);
                o.units.merge(&v.units);
                for (dim, values) in v.dimensions {
                    add_counts(slot(&mut o.dimensions, &dim), values);
                }
            }
        }
        add_counts(&mut self.unknown_flags, other.unknown_flags);
        for (name, theirs) in other.events {
            let ours = slot(&mut self.events, &name);
            ours.count = ours.count.saturating_add(theirs.count);
            ours.unattributed = ours.unattributed.saturating_add(theirs.unattributed);
            for (flag, variants) in theirs.attributions {
                let flag = slot(&mut ours.attributions, &flag);
                for (variant, t) in variants {
                    slot(flag, &variant).merge(&t);
                }
            }
        }
        self.audit.extend(other.audit);
        let d = &mut self.dropped;
        d.audit = d.audit.saturating_add(other.dropped.audit);
        d.events = d.events.saturating_add(other.dropped.events);
        d.unknown_flags = d.unknown_flags.saturating_add(other.dropped.unknown_flags);
    }
}

impl OutcomeStats {
    /// Adds `other`'s outcomes to these (counts saturate).
    pub fn merge(&mut self, other: &OutcomeStats) {
        self.count = self.count.saturating_add(other.count);
        self.value_sq_sum = match (self.value_count, other.value_count) {
            (_, 0) => self.value_sq_sum,
            (0, _) => other.value_sq_sum,
            _ => self
                .value_sq_sum
                .zip(other.value_sq_sum)
                .map(|(a, b)| a + b),
        };
        self.value_sum += other.value_sum;
        self.value_count = self.value_count.saturating_add(other.value_count);
        self.success = self.success.saturating_add(other.success);
        self.failure = self.failure.saturating_add(other.failure);
        self.latency.merge(&other.latency);
    }
}
