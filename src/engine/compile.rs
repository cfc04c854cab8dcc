//! Validation and compilation of a flags document into an evaluation-ready
//! [`Snapshot`].
//!
//! Everything that can be decided at load is decided here: names become indices,
//! values are parsed for their operators, rollout weights become cumulative bucket
//! ranges, salts become hash prefixes. Every problem is reported with the flag and
//! field it concerns, and all problems are reported at once.

use super::clause::{self, ClauseEnv, Cond, SegmentId};
use super::context::{self, AttrId, AttrSpec, ContextError, Needs, ResolvedContext, TARGETING_KEY};
use super::hash::{salt_prefix, BUCKETS};
use super::model::{
    AuditEvaluations, FlagDef, FlagKind, FlagsDocument, Risk, Serve as ServeDef, SCHEMA_VERSION,
};
use super::time::parse_rfc3339_ms;
use fnv::FnvHashMap;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

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
    /// The type of a JSON value, if it can be a variant value.
    pub fn of(value: &Value) -> Option<ValueType> {
        match value {
            Value::Bool(_) => Some(ValueType::Bool),
            Value::String(_) => Some(ValueType::String),
            Value::Number(_) => Some(ValueType::Number),
            Value::Object(_) | Value::Array(_) => Some(ValueType::Object),
            Value::Null => None,
        }
    }

    /// The type's name in messages (`boolean`, `string`, `number`, `object`).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Bool => "boolean",
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Object => "object",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A named variant value.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Variant name.
    pub name: Box<str>,
    /// Its value.
    pub value: Value,
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
    pub(crate) prefix: Box<[u8]>,
    pub(crate) cuts: Box<[(u32, VariantId)]>,
    pub(crate) bucketing: crate::engine::model::Bucketing,
    /// Without a unit, serve the flag's fallthrough instead of an error.
    pub(crate) falls_through: bool,
    /// The weight total `unleash_variants` or `flagd` hashes into.
    pub(crate) total: u32,
}

impl Rollout {
    /// Where `unit` falls on the 0..100 000 scale under this rollout's scheme.
    #[inline]
    pub(crate) fn position(&self, unit: &str) -> u32 {
        super::bucket::position(self.bucketing, &self.prefix, unit, self.total)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: Box<str>,
    pub(crate) when: Cond,
    pub(crate) serve: Serve,
}

#[derive(Debug, Clone)]
pub(crate) struct ExclusionRange {
    pub(crate) prefix: Box<[u8]>,
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
    /// The flag key.
    pub key: Box<str>,
    /// The type of its values.
    pub value_type: ValueType,
    /// Its variants, sorted by name.
    pub variants: Box<[Variant]>,
    /// The variant served when disabled, excluded, denied or a prerequisite fails;
    /// `None`: the caller's default.
    pub off_variant: Option<VariantId>,
    /// `false` when the kill switch is thrown.
    pub enabled: bool,
    /// Flag kind.
    pub kind: FlagKind,
    /// Risk level.
    pub risk: Risk,
    /// Which evaluations are audited.
    pub audit_evaluations: AuditEvaluations,
    /// Attributes declared private.
    pub private_attributes: Box<[Box<str>]>,
    /// OpenFeature flag metadata returned with each evaluation.
    pub metadata: BTreeMap<String, Value>,
    pub(crate) prerequisites: Box<[Prereq]>,
    pub(crate) exclusion: Option<ExclusionRange>,
    pub(crate) access: Option<Cond>,
    pub(crate) rules: Box<[Rule]>,
    pub(crate) fallthrough: Serve,
    /// Nothing but a fixed fallthrough: the reason is `STATIC`.
    pub(crate) is_static: bool,
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

/// A compiled set of flags, segments and exclusion groups, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Payload facts.
    pub meta: SnapshotMeta,
    pub(crate) flags: Box<[Flag]>,
    pub(crate) index: FnvHashMap<Box<str>, FlagId>,
    pub(crate) segments: Box<[Cond]>,
    pub(crate) attrs: Box<[AttrSpec]>,
}

/// One problem found while validating a flags document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where: `flags[checkout-v2].rules[beta].serve.rollout.weights`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a flags document could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a well-formed flags document.
    #[error("malformed flags document: {0}")]
    Parse(String),
    /// The payload uses a schema this engine does not know.
    #[error("unsupported payload schema {0}: this engine reads schema {SCHEMA_VERSION}")]
    UnsupportedSchema(u32),
    /// The document parsed but is not valid.
    #[error("invalid flags ({} problem{}): {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, join(.0))]
    Invalid(Vec<Issue>),
}

fn join(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Parses a flags document (or snapshot payload) from JSON bytes, reporting the path
/// of the first problem.
///
/// A payload of another schema is reported as [`LoadError::UnsupportedSchema`] even
/// when it does not parse: a newer schema may use fields and operators this engine
/// has never heard of, and those are not typos.
pub fn parse_document(bytes: &[u8]) -> Result<FlagsDocument, LoadError> {
    // The fast path tracks no paths; only a document that fails is parsed again to
    // say where.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = <FlagsDocument as serde::Deserialize>::deserialize(&mut de).and_then(|doc| {
        de.end()?;
        Ok(doc)
    });
    parsed.map_err(|plain| match foreign_schema(bytes) {
        Some(schema) => LoadError::UnsupportedSchema(schema),
        None => LoadError::Parse(explain_parse_error(bytes, plain)),
    })
}

/// The message for a document that failed to parse, with the path of the problem
/// (`flags[0].rules[1].when: unknown field ...`) where it can be found.
#[cfg(not(target_arch = "wasm32"))]
fn explain_parse_error(bytes: &[u8], plain: serde_json::Error) -> String {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, FlagsDocument>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            }
        }
        Ok(_) => plain.to_string(),
    }
}

/// In wasm, plain serde errors (line and column): path tracking re-instantiates every
/// deserializer and would add tens of kilobytes, while edges only ever receive
/// payloads the origin or the CLI already validated with paths.
#[cfg(target_arch = "wasm32")]
fn explain_parse_error(_bytes: &[u8], plain: serde_json::Error) -> String {
    plain.to_string()
}

/// The document's `schema`, if it is readable and not the one this engine reads.
fn foreign_schema(bytes: &[u8]) -> Option<u32> {
    #[derive(serde::Deserialize)]
    struct Probe {
        schema: Option<u32>,
    }
    let schema = serde_json::from_slice::<Probe>(bytes).ok()?.schema?;
    (schema != SCHEMA_VERSION).then_some(schema)
}

struct Interner<'a> {
    specs: Vec<AttrSpec>,
    by_path: FnvHashMap<Box<str>, AttrId>,
    segments: &'a FnvHashMap<&'a str, SegmentId>,
    /// The flag being compiled (reused buffer), for clauses that default to its key.
    flag_key: String,
    in_flag: bool,
}

impl ClauseEnv for Interner<'_> {
    fn attr(&mut self, path: &str, needs: Needs) -> AttrId {
        if let Some(&id) = self.by_path.get(path) {
            self.specs[id as usize].needs |= needs;
            return id;
        }
        let id = self.specs.len() as AttrId;
        self.specs.push(AttrSpec {
            path: path.into(),
            segments: path.split('.').map(Into::into).collect(),
            needs,
        });
        self.by_path.insert(path.into(), id);
        id
    }

    fn segment(&self, name: &str) -> Option<SegmentId> {
        self.segments.get(name).copied()
    }

    fn flag_key(&self) -> Option<&str> {
        self.in_flag.then_some(self.flag_key.as_str())
    }
}

struct Issues(Vec<Issue>);

impl Issues {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }

    fn clause(
        &mut self,
        clause: &super::model::Clause,
        env: &mut Interner<'_>,
        path: &dyn Fn() -> String,
    ) -> Option<Cond> {
        let mut errors = Vec::new();
        let compiled = clause::compile(clause, env, path, 0, &mut errors);
        for (p, m) in errors {
            self.push(p, m);
        }
        compiled
    }
}

/// Converts a percentage with up to 3 decimals to thousandths of a percent.
pub(crate) fn thousandths(percent: f64) -> Result<u32, String> {
    if !percent.is_finite() || !(0.0..=100.0).contains(&percent) {
        return Err(format!("weight {percent} is not between 0 and 100"));
    }
    let scaled = percent * 1000.0;
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 {
        return Err(format!(
            "weight {percent} has more than 3 decimals (the bucket scale is 0.001 %)"
        ));
    }
    Ok(rounded as u32)
}

impl Snapshot {
    /// Parses and compiles a flags document or snapshot payload from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Snapshot, LoadError> {
        Snapshot::compile(&parse_document(bytes)?)
    }

    /// Validates and compiles a flags document.
    pub fn compile(doc: &FlagsDocument) -> Result<Snapshot, LoadError> {
        if doc.schema != SCHEMA_VERSION {
            return Err(LoadError::UnsupportedSchema(doc.schema));
        }
        let mut issues = Issues(Vec::new());
        let time = |issues: &mut Issues, path: &str, t: &Option<String>| {
            t.as_deref().and_then(|text| {
                let parsed = parse_rfc3339_ms(text);
                if parsed.is_none() {
                    issues.push(path, format!("`{text}` is not an RFC 3339 time"));
                }
                parsed
            })
        };
        let meta = SnapshotMeta {
            schema: doc.schema,
            environment: doc.environment.clone(),
            version: doc.version,
            issued_at_ms: time(&mut issues, "issued_at", &doc.issued_at),
            expires_at_ms: time(&mut issues, "expires_at", &doc.expires_at),
        };

        let mut index: FnvHashMap<Box<str>, FlagId> = FnvHashMap::default();
        for (i, flag) in doc.flags.iter().enumerate() {
            if flag.key.is_empty() {
                issues.push(format!("flags[{i}].key"), "flag key is empty");
            } else if index
                .insert(flag.key.as_str().into(), i as FlagId)
                .is_some()
            {
                issues.push(
                    format!("flags[{}]", flag.key),
                    "flag key is defined more than once",
                );
            }
        }

        let segment_ids: FnvHashMap<&str, SegmentId> = doc
            .segments
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i as SegmentId))
            .collect();
        let mut env = Interner {
            specs: Vec::new(),
            by_path: FnvHashMap::default(),
            segments: &segment_ids,
            flag_key: String::new(),
            in_flag: false,
        };
        env.attr(
            "targetingKey",
            Needs {
                unit: true,
                ..Needs::default()
            },
        );
        debug_assert_eq!(env.by_path["targetingKey"], TARGETING_KEY);

        let mut segments = Vec::with_capacity(doc.segments.len());
        for (name, clause) in &doc.segments {
            let compiled = issues.clause(clause, &mut env, &|| format!("segments[{name}]"));
            segments.push(compiled);
        }
        check_segment_cycles(&doc.segments, &segments, &mut issues);

        let group_prefixes: BTreeMap<&str, Box<[u8]>> = doc
            .exclusion_groups
            .iter()
            .map(|(name, g)| {
                (
                    name.as_str(),
                    salt_prefix(g.salt.as_deref().unwrap_or(name)),
                )
            })
            .collect();

        let mut flags = Vec::with_capacity(doc.flags.len());
        for def in &doc.flags {
            flags.push(compile_flag(
                def,
                doc,
                &index,
                &group_prefixes,
                &mut env,
                &mut issues,
            ));
        }

        check_exclusion_overlaps(doc, &mut issues);
        if issues.0.is_empty() {
            check_prerequisite_cycles(doc, &index, &mut issues);
        }

        if !issues.0.is_empty() {
            return Err(LoadError::Invalid(issues.0));
        }
        Ok(Snapshot {
            meta,
            flags: flags.into_iter().map(|f| f.expect("no issues")).collect(),
            index,
            segments: segments
                .into_iter()
                .map(|s| s.expect("no issues"))
                .collect(),
            attrs: env.specs.into_boxed_slice(),
        })
    }

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
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The attribute table contexts resolve against (ids are indices).
    pub fn attributes(&self) -> &[AttrSpec] {
        &self.attrs
    }

    /// Resolves a caller's context against this snapshot's attribute table.
    pub fn resolve_context(&self, ctx: &Value) -> Result<ResolvedContext, ContextError> {
        context::resolve(&self.attrs, ctx)
    }
}

fn compile_serve(
    serve: &ServeDef,
    def: &FlagDef,
    variants: &[Variant],
    env: &mut Interner<'_>,
    issues: &mut Issues,
    path: &dyn fmt::Display,
    is_fallthrough: bool,
) -> Option<Serve> {
    let find = |name: &str| {
        variants
            .binary_search_by(|v| (*v.name).cmp(name))
            .ok()
            .map(|i| i as VariantId)
    };
    if serve.caller_default {
        if serve.variant.is_some() || serve.rollout.is_some() {
            issues.push(
                path.to_string(),
                "a serve has one of `variant`, `rollout` or `caller_default`",
            );
            return None;
        }
        return Some(Serve::CallerDefault);
    }
    match (&serve.variant, &serve.rollout) {
        (Some(name), None) => match find(name) {
            Some(id) => Some(Serve::Fixed(id)),
            None => {
                issues.push(
                    format!("{path}.variant"),
                    format!("unknown variant `{name}`"),
                );
                None
            }
        },
        (None, Some(rollout)) => {
            let path = Join(path, ".rollout");
            let mut ok = true;
            for problem in super::bucket::by_problems(rollout.by.as_ref()) {
                issues.push(format!("{path}.by"), problem);
                ok = false;
            }
            if rollout.weights.0.is_empty() {
                issues.push(
                    format!("{path}.weights"),
                    "a rollout needs at least one weight",
                );
                return None;
            }
            let mut cuts = Vec::with_capacity(rollout.weights.0.len());
            let mut total: u32 = 0;
            for (name, percent) in &rollout.weights.0 {
                let Some(id) = find(name) else {
                    issues.push(
                        format!("{path}.weights.{name}"),
                        format!("unknown variant `{name}`"),
                    );
                    ok = false;
                    continue;
                };
                match thousandths(*percent) {
                    Ok(t) => {
                        total += t;
                        cuts.push((total, id));
                    }
                    Err(msg) => {
                        issues.push(format!("{path}.weights.{name}"), msg);
                        ok = false;
                    }
                }
            }
            if ok && total != BUCKETS {
                issues.push(
                    format!("{path}.weights"),
                    format!(
                        "weights sum to {}, they must sum to 100",
                        total as f64 / 1000.0
                    ),
                );
                ok = false;
            }
            if !ok {
                return None;
            }
            let units = super::bucket::unit_ids(rollout.by.as_ref(), env);
            let salt = rollout.salt.as_deref().unwrap_or(&def.key);
            let bucketing = rollout.bucketing.unwrap_or_default();
            let prefix = super::bucket::prefix(bucketing, salt);
            let total = match super::bucket::total(bucketing, rollout.total) {
                Ok(t) => t,
                Err(msg) => {
                    issues.push(format!("{path}.total"), msg);
                    return None;
                }
            };
            // With an explicit total, the cuts are the import's exact thresholds.
            let coarse = rollout
                .total
                .is_none()
                .then(|| super::bucket::coarseness(bucketing))
                .flatten();
            if let Some((step, what)) = coarse {
                if cuts.iter().any(|(upper, _)| upper % step != 0) {
                    issues.push(
                        format!("{path}.weights"),
                        format!(
                            "{} bucketing places units in {what}; these weights are finer",
                            super::bucket::bucketing_name(bucketing)
                        ),
                    );
                    return None;
                }
            }
            let falls_through =
                rollout.missing_unit == Some(crate::engine::model::MissingUnit::Fallthrough);
            if falls_through && is_fallthrough {
                issues.push(
                    format!("{path}.missing_unit"),
                    "`\"missing_unit\": \"fallthrough\"` belongs on a rule's rollout; the fallthrough has nothing to fall through to",
                );
                return None;
            }
            Some(Serve::Rollout(Rollout {
                units,
                prefix,
                cuts: cuts.into_boxed_slice(),
                bucketing,
                falls_through,
                total,
            }))
        }
        (Some(_), Some(_)) => {
            issues.push(
                path.to_string(),
                "a serve has either `variant` or `rollout`, not both",
            );
            None
        }
        (None, None) => {
            issues.push(
                path.to_string(),
                "a serve needs `variant`, `rollout` or `caller_default`",
            );
            None
        }
    }
}

/// Where in the document a flag is (`flags[key]`), written out only when an issue
/// is reported: compiling a valid snapshot formats no paths.
struct FlagPath<'a>(&'a str);

impl fmt::Display for FlagPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flags[{}]", self.0)
    }
}

/// A rule's location: `flags[key].rules[id]`, or its index when the id is empty.
struct RulePath<'a> {
    flag: &'a FlagPath<'a>,
    id: &'a str,
    index: usize,
}

impl fmt::Display for RulePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.id.is_empty() {
            write!(f, "{}.rules[{}]", self.flag, self.index)
        } else {
            write!(f, "{}.rules[{}]", self.flag, self.id)
        }
    }
}

/// A location followed by a field (`….serve`).
struct Join<'a>(&'a dyn fmt::Display, &'static str);

impl fmt::Display for Join<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

fn compile_flag(
    def: &FlagDef,
    doc: &FlagsDocument,
    index: &FnvHashMap<Box<str>, FlagId>,
    group_prefixes: &BTreeMap<&str, Box<[u8]>>,
    env: &mut Interner<'_>,
    issues: &mut Issues,
) -> Option<Flag> {
    let base = FlagPath(&def.key);
    let before = issues.0.len();
    env.flag_key.clear();
    env.flag_key.push_str(&def.key);
    env.in_flag = true;

    if def.variants.is_empty() {
        issues.push(
            format!("{base}.variants"),
            "a flag needs at least one variant",
        );
    }
    if def.variants.len() > MAX_VARIANTS {
        issues.push(
            format!("{base}.variants"),
            format!(
                "{} variants; the limit is {MAX_VARIANTS}",
                def.variants.len()
            ),
        );
    }
    let mut value_type = None;
    for (name, value) in &def.variants {
        if name.is_empty() {
            issues.push(format!("{base}.variants"), "variant name is empty");
        }
        match (ValueType::of(value), value_type) {
            (None, _) => issues.push(
                format!("{base}.variants.{name}"),
                "variant value is null; use a boolean, string, number or JSON object",
            ),
            (Some(t), None) => value_type = Some(t),
            (Some(t), Some(first)) if t != first => issues.push(
                format!("{base}.variants.{name}"),
                format!("variant is a {t} but the flag's other variants are {first}s; all variants of a flag share one type"),
            ),
            _ => {}
        }
    }
    // BTreeMap order: sorted by name, which `Flag::variant_id` relies on.
    let variants: Vec<Variant> = def
        .variants
        .iter()
        .map(|(name, value)| Variant {
            name: name.as_str().into(),
            value: value.clone(),
        })
        .collect();
    let variant_of = |name: &str| {
        def.variants
            .keys()
            .position(|k| k == name)
            .map(|i| i as VariantId)
    };

    // Without an off variant the guard phases return the caller's default.
    let off_variant = def.off_variant.as_deref().map(variant_of);
    if let (Some(name), Some(None)) = (&def.off_variant, off_variant) {
        issues.push(
            format!("{base}.off_variant"),
            format!("unknown variant `{name}`"),
        );
    }
    if let Some(expires) = &def.expires_at {
        if parse_rfc3339_ms(expires).is_none() {
            issues.push(
                format!("{base}.expires_at"),
                format!("`{expires}` is not an RFC 3339 time"),
            );
        }
    }

    let mut prerequisites = Vec::with_capacity(def.prerequisites.len());
    for (i, p) in def.prerequisites.iter().enumerate() {
        let path = format!("{base}.prerequisites[{i}]");
        if p.flag == def.key {
            issues.push(path, "a flag cannot be its own prerequisite");
            continue;
        }
        let Some(&pid) = index.get(p.flag.as_str()) else {
            issues.push(format!("{path}.flag"), format!("unknown flag `{}`", p.flag));
            continue;
        };
        if p.variants.is_empty() {
            issues.push(format!("{path}.variants"), "list at least one variant");
            continue;
        }
        let pdef = &doc.flags[pid as usize];
        let mut ids = Vec::new();
        for v in &p.variants {
            match pdef.variants.keys().position(|k| k == v) {
                Some(id) => ids.push(id as VariantId),
                None => issues.push(
                    format!("{path}.variants"),
                    format!("flag `{}` has no variant `{v}`", p.flag),
                ),
            }
        }
        prerequisites.push(Prereq {
            flag: pid,
            variants: ids.into_boxed_slice(),
        });
    }

    let exclusion = def.exclusion.as_ref().and_then(|e| {
        let path = format!("{base}.exclusion");
        let [start, end] = e.range;
        let mut ok = true;
        if start >= end || end > BUCKETS {
            issues.push(
                format!("{path}.range"),
                format!("range [{start}, {end}) must satisfy start < end <= {BUCKETS}"),
            );
            ok = false;
        }
        match group_prefixes.get(e.group.as_str()) {
            Some(prefix) if ok => Some(ExclusionRange {
                prefix: prefix.clone(),
                start,
                end,
            }),
            Some(_) => None,
            None => {
                issues.push(
                    format!("{path}.group"),
                    format!(
                        "unknown exclusion group `{}` (declare it under `exclusion_groups`)",
                        e.group
                    ),
                );
                None
            }
        }
    });

    let access = def
        .access
        .as_ref()
        .and_then(|c| issues.clause(c, env, &|| format!("{base}.access")));

    let mut rules = Vec::with_capacity(def.rules.len());
    let mut seen_ids: Vec<&str> = Vec::new();
    for (i, rule) in def.rules.iter().enumerate() {
        let path = RulePath {
            flag: &base,
            id: &rule.id,
            index: i,
        };
        if rule.id.is_empty() {
            issues.push(format!("{path}.id"), "rule id is empty");
        } else if seen_ids.contains(&rule.id.as_str()) {
            issues.push(format!("{path}.id"), "rule id is used twice in this flag");
        }
        seen_ids.push(&rule.id);
        let when = issues.clause(&rule.when, env, &|| format!("{path}.when"));
        let serve = compile_serve(
            &rule.serve,
            def,
            &variants,
            env,
            issues,
            &Join(&path, ".serve"),
            false,
        );
        if let (Some(when), Some(serve)) = (when, serve) {
            rules.push(Rule {
                id: rule.id.as_str().into(),
                when,
                serve,
            });
        }
    }
    let fallthrough = compile_serve(
        &def.fallthrough,
        def,
        &variants,
        env,
        issues,
        &Join(&base, ".fallthrough"),
        true,
    );

    if issues.0.len() != before {
        return None;
    }
    let fallthrough = fallthrough?;
    let is_static = def.prerequisites.is_empty()
        && def.exclusion.is_none()
        && def.access.is_none()
        && def.rules.is_empty()
        && matches!(fallthrough, Serve::Fixed(_));
    Some(Flag {
        key: def.key.as_str().into(),
        value_type: value_type?,
        variants: variants.into_boxed_slice(),
        off_variant: match off_variant {
            Some(id) => Some(id?),
            None => None,
        },
        enabled: def.enabled,
        kind: def.kind,
        risk: def.risk,
        audit_evaluations: def.audit_evaluations,
        private_attributes: def
            .private_attributes
            .iter()
            .map(|s| s.as_str().into())
            .collect(),
        metadata: def.metadata.clone(),
        prerequisites: prerequisites.into_boxed_slice(),
        exclusion,
        access,
        rules: rules.into_boxed_slice(),
        fallthrough,
        is_static,
    })
}

fn check_segment_cycles(
    defs: &BTreeMap<String, super::model::Clause>,
    compiled: &[Option<Cond>],
    issues: &mut Issues,
) {
    let names: Vec<&String> = defs.keys().collect();
    let edges: Vec<Vec<SegmentId>> = compiled
        .iter()
        .map(|c| {
            let mut out = Vec::new();
            if let Some(c) = c {
                clause::segment_refs(c, &mut out);
            }
            out
        })
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        let path: Vec<&str> = cycle.iter().map(|&i| names[i as usize].as_str()).collect();
        issues.push(
            format!("segments[{}]", path[0]),
            format!(
                "segments refer to each other in a cycle: {}",
                path.join(" → ")
            ),
        );
        return;
    }
    // Acyclic: bound the longest chain so evaluation's recursion is bounded too.
    let depths = chain_depths(&edges);
    if let Some((n, &d)) = depths
        .iter()
        .enumerate()
        .find(|(_, &d)| d > MAX_SEGMENT_DEPTH)
    {
        issues.push(
            format!("segments[{}]", names[n]),
            format!("segments refer to segments {d} levels deep; the limit is {MAX_SEGMENT_DEPTH}"),
        );
    }
}

fn check_prerequisite_cycles(
    doc: &FlagsDocument,
    index: &FnvHashMap<Box<str>, FlagId>,
    issues: &mut Issues,
) {
    let edges: Vec<Vec<u32>> = doc
        .flags
        .iter()
        .map(|f| {
            f.prerequisites
                .iter()
                .filter_map(|p| index.get(p.flag.as_str()).copied())
                .collect()
        })
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        let keys: Vec<&str> = cycle
            .iter()
            .map(|&i| doc.flags[i as usize].key.as_str())
            .collect();
        issues.push(
            format!("flags[{}].prerequisites", keys[0]),
            format!("prerequisites form a cycle: {}", keys.join(" → ")),
        );
        return;
    }
    // Acyclic: bound the longest chain so evaluation depth is bounded too.
    let depths = chain_depths(&edges);
    if let Some((n, &d)) = depths
        .iter()
        .enumerate()
        .find(|(_, &d)| d > MAX_PREREQUISITE_DEPTH)
    {
        issues.push(
            format!("flags[{}].prerequisites", doc.flags[n].key),
            format!("prerequisite chain is {d} deep; the limit is {MAX_PREREQUISITE_DEPTH}"),
        );
        return;
    }
    // Shared prerequisites are evaluated once per path to them: bound the total so a
    // diamond-shaped graph cannot make one evaluation exponentially expensive.
    let evaluations = fold_dag(&edges, 1, |acc, child| acc.saturating_add(child));
    if let Some((n, &e)) = evaluations
        .iter()
        .enumerate()
        .find(|(_, &e)| e > MAX_PREREQUISITE_EVALUATIONS)
    {
        issues.push(
            format!("flags[{}].prerequisites", doc.flags[n].key),
            format!(
                "evaluating this flag takes {e} prerequisite evaluations; the limit is {MAX_PREREQUISITE_EVALUATIONS}"
            ),
        );
    }
}

/// For each node of an acyclic graph, the number of edges on the longest path from
/// it. Iterative (reverse topological order), so a long chain cannot overflow the
/// stack while it is being measured.
fn chain_depths(edges: &[Vec<u32>]) -> Vec<usize> {
    fold_dag(edges, 0, |acc, child| acc.max(child + 1))
}

/// Folds an acyclic graph bottom-up without recursion: each node's value starts at
/// `init` and absorbs each successor's value through `combine`.
fn fold_dag(
    edges: &[Vec<u32>],
    init: usize,
    combine: impl Fn(usize, usize) -> usize,
) -> Vec<usize> {
    let mut pending: Vec<usize> = edges.iter().map(Vec::len).collect();
    let mut preds: Vec<Vec<u32>> = vec![Vec::new(); edges.len()];
    for (from, targets) in edges.iter().enumerate() {
        for &to in targets {
            preds[to as usize].push(from as u32);
        }
    }
    let mut value = vec![init; edges.len()];
    let mut ready: Vec<usize> = (0..edges.len()).filter(|&n| pending[n] == 0).collect();
    while let Some(n) = ready.pop() {
        for &p in &preds[n] {
            let p = p as usize;
            value[p] = combine(value[p], value[n]);
            pending[p] -= 1;
            if pending[p] == 0 {
                ready.push(p);
            }
        }
    }
    value
}

/// Finds a cycle in a directed graph given as adjacency lists; returns its nodes with
/// the first repeated at the end.
fn find_cycle(edges: &[Vec<u32>]) -> Option<Vec<u32>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next edge index); `stack` is the active path.
        let mut stack: Vec<(u32, usize)> = vec![(start as u32, 0)];
        marks[start] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&m) = edges[node as usize].get(*next) {
                *next += 1;
                match marks[m as usize] {
                    Mark::New => {
                        marks[m as usize] = Mark::Active;
                        stack.push((m, 0));
                    }
                    Mark::Active => {
                        let from = stack.iter().position(|&(n, _)| n == m).unwrap_or(0);
                        let mut cycle: Vec<u32> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(m);
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node as usize] = Mark::Done;
                stack.pop();
            }
        }
    }
    None
}

fn check_exclusion_overlaps(doc: &FlagsDocument, issues: &mut Issues) {
    let mut by_group: BTreeMap<&str, Vec<(u32, u32, &str)>> = BTreeMap::new();
    for f in &doc.flags {
        if let Some(e) = &f.exclusion {
            by_group.entry(e.group.as_str()).or_default().push((
                e.range[0],
                e.range[1],
                f.key.as_str(),
            ));
        }
    }
    for (group, mut ranges) in by_group {
        ranges.sort();
        for pair in ranges.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.0 < a.1 {
                issues.push(
                    format!("flags[{}].exclusion.range", b.2),
                    format!(
                        "range [{}, {}) overlaps [{}, {}) of flag `{}` in exclusion group `{group}`",
                        b.0, b.1, a.0, a.1, a.2
                    ),
                );
            }
        }
    }
}
