//! The evaluation-ready form of a snapshot: names resolved to indices, values parsed
//! for their operators, weights turned into bucket ranges, salts into hash prefixes.
//!
//! Two producers build it — the flags-document compiler (`compile`, native: every
//! problem reported with its path) and the binary payload decoder (`wire`, everywhere:
//! the edge's strict check of a signed payload) — and evaluation reads only this.

use super::clause::{self, Cond, SegmentId};
use super::context::{AttrId, AttrSpec, TARGETING_KEY};
use super::hash::HashPrefix;
use super::kinds::{AuditEvaluations, Bucketing};
use fnv::FnvHashMap;
use std::sync::Arc;

/// Index of a flag in a [`Snapshot`].
pub type FlagId = u32;
/// Index of a variant within its flag.
pub type VariantId = u16;

/// Longest prerequisite chain accepted.
pub const MAX_PREREQUISITE_DEPTH: usize = 16;
/// Longest chain of segments referring to segments accepted.
pub const MAX_SEGMENT_DEPTH: usize = 16;
/// Most flag evaluations (the flag and its prerequisites, counted per path) one
/// evaluation may take.
pub const MAX_PREREQUISITE_EVALUATIONS: usize = 256;
/// Most variants a flag may have.
pub const MAX_VARIANTS: usize = 1024;
/// Most attributes a rollout's `by` may try in turn.
pub const MAX_UNIT_ATTRIBUTES: usize = 8;

/// The type all of a flag's variant values share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `true` / `false`.
    Bool,
    /// Text.
    String,
    /// A JSON number.
    Number,
    /// A JSON object or array.
    Object,
}

impl ValueType {
    /// The type's name in messages (`boolean`, `string`, `number`, `object`).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Bool => "boolean",
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Object => "object",
        }
    }

    /// The type of a JSON value, if it can be a variant value.
    #[cfg(feature = "authoring")]
    pub fn of(value: &serde_json::Value) -> Option<ValueType> {
        use serde_json::Value;
        match value {
            Value::Bool(_) => Some(ValueType::Bool),
            Value::String(_) => Some(ValueType::String),
            Value::Number(_) => Some(ValueType::Number),
            Value::Object(_) | Value::Array(_) => Some(ValueType::Object),
            Value::Null => None,
        }
    }

    /// The type of a JSON value's text, if it can be a variant value.
    pub fn of_json(kind: crate::jsontext::Kind) -> Option<ValueType> {
        use crate::jsontext::Kind;
        match kind {
            Kind::Bool => Some(ValueType::Bool),
            Kind::String => Some(ValueType::String),
            Kind::Number => Some(ValueType::Number),
            Kind::Object | Kind::Array => Some(ValueType::Object),
            Kind::Null => None,
        }
    }
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A named variant value.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Variant name (shared with the metrics registry, which counts by it).
    pub name: Arc<str>,
    /// Its value as compact JSON text (adapters parse it: the JS glue once per
    /// snapshot, native adapters when they build details).
    pub value: Box<str>,
}

/// A compiled serve.
#[derive(Debug, Clone)]
pub(crate) enum Serve {
    Fixed(VariantId),
    Rollout(Rollout),
    /// The caller's default value, without a variant or an error.
    CallerDefault,
}

/// A compiled rollout: cumulative upper bounds on the 0..100 000 bucket scale.
#[derive(Debug, Clone)]
pub(crate) struct Rollout {
    /// Where the unit is: the first of these attributes the context has.
    pub(crate) units: Box<[AttrId]>,
    pub(crate) prefix: HashPrefix,
    pub(crate) cuts: Box<[(u32, VariantId)]>,
    pub(crate) bucketing: Bucketing,
    /// Without a unit, serve the flag's fallthrough instead of an error.
    pub(crate) falls_through: bool,
    /// The weight total `unleash_variants` or `flagd` hashes into, when written
    /// (cuts are then the source's exact thresholds); else the scheme's default.
    pub(crate) total: Option<u32>,
}

impl Rollout {
    /// Where `unit` falls on the 0..100 000 scale under this rollout's scheme.
    #[inline]
    pub(crate) fn position(&self, unit: &str) -> u32 {
        let total = self
            .total
            .unwrap_or_else(|| super::bucket::default_total(self.bucketing));
        super::bucket::position(self.bucketing, &self.prefix, unit, total)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: Box<str>,
    pub(crate) when: Cond,
    pub(crate) serve: Serve,
}

#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "authoring"), allow(dead_code))] // read by the native encoder and inspector
pub(crate) struct ExclusionRange {
    /// Index into [`Snapshot::exclusion_groups`].
    pub(crate) group: u32,
    /// Hashed with seed 0 (the Vexil scheme).
    pub(crate) prefix: HashPrefix,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Prereq {
    pub(crate) flag: FlagId,
    pub(crate) variants: Box<[VariantId]>,
}

/// A flag in evaluation-ready form.
#[derive(Debug, Clone)]
pub struct Flag {
    /// The flag key (shared with the snapshot's index and the metrics registry).
    pub key: Arc<str>,
    /// The type of its values.
    pub value_type: ValueType,
    /// Its variants, sorted by name.
    pub variants: Box<[Variant]>,
    /// The variant served when disabled, excluded, denied or a prerequisite fails;
    /// `None`: the caller's default (with the same reason, and no error).
    pub off_variant: Option<VariantId>,
    /// `false` when the kill switch is thrown.
    pub enabled: bool,
    /// Which evaluations are audited.
    pub audit_evaluations: AuditEvaluations,
    /// Attributes declared private.
    pub private_attributes: Box<[Box<str>]>,
    /// OpenFeature flag metadata returned with each evaluation, as a JSON object's
    /// compact text (`{}` when there is none).
    pub metadata: Box<str>,
    pub(crate) prerequisites: Box<[Prereq]>,
    pub(crate) exclusion: Option<ExclusionRange>,
    pub(crate) access: Option<Cond>,
    pub(crate) rules: Box<[Rule]>,
    pub(crate) fallthrough: Serve,
}

impl Flag {
    /// The id of the variant called `name`.
    pub fn variant_id(&self, name: &str) -> Option<VariantId> {
        self.variants
            .binary_search_by(|v| (*v.name).cmp(name))
            .ok()
            .map(|i| i as VariantId)
    }

    /// The id of a rule, by index.
    pub fn rule_id(&self, index: u32) -> Option<&str> {
        self.rules.get(index as usize).map(|r| &*r.id)
    }

    /// How many rules the flag has.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Nothing but a fixed fallthrough: the reason is `STATIC`.
    pub(crate) fn is_static(&self) -> bool {
        self.prerequisites.is_empty()
            && self.exclusion.is_none()
            && self.access.is_none()
            && self.rules.is_empty()
            && matches!(self.fallthrough, Serve::Fixed(_))
    }
}

/// Snapshot-level facts carried by a payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// Payload schema.
    pub schema: u32,
    /// Environment it was published for.
    pub environment: Option<String>,
    /// Version within the environment.
    pub version: Option<u64>,
    /// Issue time, epoch milliseconds.
    pub issued_at_ms: Option<i64>,
    /// Expiry time, epoch milliseconds.
    pub expires_at_ms: Option<i64>,
}

/// A mutual-exclusion group: its name and the salt its bucket space hashes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExclusionGroup {
    pub(crate) name: Box<str>,
    pub(crate) salt: Box<str>,
}

/// A compiled set of flags, segments and exclusion groups, ready to evaluate.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "authoring"), allow(dead_code))] // read by the native encoder and inspector
pub struct Snapshot {
    /// Payload facts.
    pub meta: SnapshotMeta,
    pub(crate) flags: Box<[Flag]>,
    pub(crate) index: FnvHashMap<Arc<str>, FlagId>,
    pub(crate) segments: Box<[Cond]>,
    pub(crate) segment_names: Box<[Box<str>]>,
    pub(crate) exclusion_groups: Box<[ExclusionGroup]>,
    pub(crate) attrs: Box<[AttrSpec]>,
    /// Per flag, a hash of its encoded definition (decoded snapshots only).
    pub(crate) digests: Box<[u64]>,
}

impl Snapshot {
    /// The id of the flag called `key`.
    #[inline]
    pub fn flag_id(&self, key: &str) -> Option<FlagId> {
        self.index.get(key).copied()
    }

    /// The flag with id `id`.
    #[inline]
    pub fn flag(&self, id: FlagId) -> Option<&Flag> {
        self.flags.get(id as usize)
    }

    /// All flags, in document order.
    pub fn flags(&self) -> &[Flag] {
        &self.flags
    }

    /// Attribute paths this snapshot's clauses and rollouts read.
    pub fn attribute_paths(&self) -> impl Iterator<Item = &str> {
        self.attrs.iter().map(|a| &*a.path)
    }

    /// A hash of flag `id`'s definition as the payload encodes it: equal digests in
    /// two snapshots mean the flag did not change. 0 for snapshots compiled from a
    /// document rather than decoded.
    pub fn flag_digest(&self, id: FlagId) -> u64 {
        self.digests.get(id as usize).copied().unwrap_or(0)
    }

    /// The attribute table contexts resolve against (ids are indices).
    pub fn attributes(&self) -> &[AttrSpec] {
        &self.attrs
    }

    /// The attribute ids evaluating flag `id` can read: its own rules, access,
    /// rollouts and exclusion, and those of its prerequisites and segments, followed
    /// through; always `targetingKey`. Sorted, without repeats. A host that reads
    /// contexts itself needs only these for one evaluation of the flag.
    pub fn flag_attributes(&self, id: FlagId) -> Vec<AttrId> {
        let mut out = vec![TARGETING_KEY];
        let mut flags = vec![id];
        let mut seen_flags = vec![id];
        let mut segments: Vec<SegmentId> = Vec::new();
        let mut conds: Vec<&Cond> = Vec::new();
        while let Some(flag) = flags.pop().and_then(|f| self.flag(f)) {
            for p in flag.prerequisites.iter() {
                if !seen_flags.contains(&p.flag) {
                    seen_flags.push(p.flag);
                    flags.push(p.flag);
                }
            }
            conds.extend(flag.access.iter());
            for serve in flag
                .rules
                .iter()
                .map(|r| &r.serve)
                .chain([&flag.fallthrough])
            {
                if let Serve::Rollout(r) = serve {
                    out.extend(r.units.iter());
                }
            }
            conds.extend(flag.rules.iter().map(|r| &r.when));
        }
        while let Some(cond) = conds.pop() {
            clause::attr_refs(cond, &mut out);
            let mut named = Vec::new();
            clause::segment_refs(cond, &mut named);
            for s in named {
                if !segments.contains(&s) {
                    segments.push(s);
                    conds.extend(self.segments.get(s as usize));
                }
            }
        }
        super::sort::sort_dedup(&mut out);
        out
    }

    /// Resolves a caller's JSON context against this snapshot's attribute table.
    #[cfg(feature = "authoring")]
    pub fn resolve_context(
        &self,
        ctx: &serde_json::Value,
    ) -> Result<super::ResolvedContext, super::ContextError> {
        super::context::resolve(&self.attrs, ctx)
    }
}
