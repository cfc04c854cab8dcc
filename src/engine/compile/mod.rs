//! Validation and compilation of a flags document into an evaluation-ready
//! [`Snapshot`] (native: the origin, the CLI and tests; edges decode binary
//! payloads instead, see `wire`).
//!
//! Every problem is reported with the flag and field it concerns, and all problems
//! are reported at once.

mod bucket;
mod clause;
mod exclusions;
mod flag;

use super::clause::{ClauseEnv, Cond, SegmentId};
use super::compiled::{ExclusionGroup, FlagId, Snapshot, SnapshotMeta};
use super::context::{AttrId, AttrSpec, Needs, TARGETING_KEY};
use super::graph::{self, GraphProblem};
use super::model::{FlagsDocument, SCHEMA_VERSION};
use super::time::parse_rfc3339_ms;
use fnv::FnvHashMap;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

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

/// The document's `schema`, if it is readable and not the one this engine reads.
fn foreign_schema(bytes: &[u8]) -> Option<u32> {
    #[derive(serde::Deserialize)]
    struct Probe {
        schema: Option<u32>,
    }
    let schema = serde_json::from_slice::<Probe>(bytes).ok()?.schema?;
    (schema != SCHEMA_VERSION).then_some(schema)
}

pub(crate) struct Interner<'a> {
    specs: Vec<AttrSpec>,
    by_path: FnvHashMap<Box<str>, AttrId>,
    segments: &'a FnvHashMap<&'a str, SegmentId>,
    /// The flag being compiled, for clauses that default to its key (`None` while
    /// compiling segments).
    flag_key: Option<String>,
}

impl ClauseEnv for Interner<'_> {
    fn attr(&mut self, path: &str, needs: Needs) -> AttrId {
        if let Some(&id) = self.by_path.get(path) {
            self.specs[id as usize].needs |= needs;
            return id;
        }
        let id = self.specs.len() as AttrId;
        let mut spec = AttrSpec::new(path);
        spec.needs = needs;
        self.specs.push(spec);
        self.by_path.insert(path.into(), id);
        id
    }

    fn literal(&mut self, attr: AttrId, text: &str, folded: bool) -> u32 {
        let spec = &mut self.specs[attr as usize];
        if folded {
            spec.folded.intern(text)
        } else {
            spec.literals.intern(text)
        }
    }

    fn segment(&self, name: &str) -> Option<SegmentId> {
        self.segments.get(name).copied()
    }

    fn flag_key(&self) -> Option<&str> {
        self.flag_key.as_deref()
    }
}

pub(crate) struct Issues(Vec<Issue>);

impl Issues {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn clause(
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

/// Converts a percentage with up to 3 decimals to thousandths of a percent (the
/// bucket scale), the one check every percentage passes: rollout weights here, and
/// the origin's and CLI's rollout percentages and stages. The error reads after the
/// name of what was converted: "weight 1.0001 has more than 3 decimals ...".
pub fn thousandths(percent: f64) -> Result<u32, String> {
    if !percent.is_finite() || !(0.0..=100.0).contains(&percent) {
        return Err(format!("{percent} is not between 0 and 100"));
    }
    let scaled = percent * 1000.0;
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 {
        return Err(format!(
            "{percent} has more than 3 decimals (the bucket scale is 0.001 %)"
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

        let mut index: FnvHashMap<Arc<str>, FlagId> = FnvHashMap::default();
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
            flag_key: None,
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

        let groups: Vec<ExclusionGroup> = doc
            .exclusion_groups
            .iter()
            .map(|(name, g)| ExclusionGroup {
                name: name.as_str().into(),
                salt: g.salt.as_deref().unwrap_or(name).into(),
            })
            .collect();

        let mut flags = Vec::with_capacity(doc.flags.len());
        for def in &doc.flags {
            flags.push(flag::compile_flag(
                def,
                doc,
                &index,
                &groups,
                &mut env,
                &mut issues,
            ));
        }

        check_exclusion_overlaps(doc, &mut issues);
        exclusions::check_mutual_exclusions(doc, &mut issues);
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
            segment_names: doc.segments.keys().map(|k| k.as_str().into()).collect(),
            exclusion_groups: groups.into_boxed_slice(),
            attrs: env.specs.into_boxed_slice(),
            digests: Box::new([]),
        })
    }
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
                super::clause::segment_refs(c, &mut out);
            }
            out
        })
        .collect();
    match graph::check_segments(&edges) {
        Ok(()) => {}
        Err(GraphProblem::Cycle(cycle)) => {
            let path: Vec<&str> = cycle.iter().map(|&i| names[i as usize].as_str()).collect();
            issues.push(
                format!("segments[{}]", path[0]),
                format!(
                    "segments refer to each other in a cycle: {}",
                    path.join(" → ")
                ),
            );
        }
        Err(GraphProblem::TooDeep { node, depth }) => issues.push(
            format!("segments[{}]", names[node]),
            format!(
                "segments refer to segments {depth} levels deep; the limit is {}",
                super::compiled::MAX_SEGMENT_DEPTH
            ),
        ),
        Err(GraphProblem::TooManyEvaluations { .. }) => {}
    }
}

fn check_prerequisite_cycles(
    doc: &FlagsDocument,
    index: &FnvHashMap<Arc<str>, FlagId>,
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
    match graph::check_prerequisites(&edges) {
        Ok(()) => {}
        Err(GraphProblem::Cycle(cycle)) => {
            let keys: Vec<&str> = cycle
                .iter()
                .map(|&i| doc.flags[i as usize].key.as_str())
                .collect();
            issues.push(
                format!("flags[{}].prerequisites", keys[0]),
                format!("prerequisites form a cycle: {}", keys.join(" → ")),
            );
        }
        Err(GraphProblem::TooDeep { node, depth }) => issues.push(
            format!("flags[{}].prerequisites", doc.flags[node].key),
            format!(
                "prerequisite chain is {depth} deep; the limit is {}",
                super::compiled::MAX_PREREQUISITE_DEPTH
            ),
        ),
        Err(GraphProblem::TooManyEvaluations { node, count }) => issues.push(
            format!("flags[{}].prerequisites", doc.flags[node].key),
            format!(
                "evaluating this flag takes {count} prerequisite evaluations; the limit is {}",
                super::compiled::MAX_PREREQUISITE_EVALUATIONS
            ),
        ),
    }
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
