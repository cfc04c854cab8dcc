//! The flag model as written by people and carried in snapshots (serde types).
//!
//! These types mirror the JSON/YAML documents exactly. They are compiled once into
//! the evaluation-ready form of [`super::compile`]; evaluation never touches them.
//! Rules, clauses, serves and rollouts reject unknown fields, so a typo can never
//! silently widen a rollout. Unknown descriptive fields on a flag are ignored here
//! (the origin keeps the document it was given).

use super::de::{map_struct, str_enum};
pub use super::kinds::{AuditEvaluations, Bucketing, FlagKind, Op, Risk};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The newest payload schema this engine understands.
pub const SCHEMA_VERSION: u32 = 1;

/// A flags document: what `vexil snapshot build` reads and what a snapshot payload
/// carries (the payload adds environment, version and validity times).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagsDocument {
    /// Payload schema; an engine rejects a schema it does not know.
    #[serde(default = "default_schema")]
    pub schema: u32,
    /// Environment the snapshot was published for (payloads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Strictly increasing snapshot version within the environment (payloads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// RFC 3339 time the snapshot was issued (payloads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// RFC 3339 time after which the snapshot is stale (payloads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The flags, in any order.
    #[serde(default)]
    pub flags: Vec<FlagDef>,
    /// Named, reusable clauses.
    #[serde(default)]
    pub segments: BTreeMap<String, Clause>,
    /// Mutual-exclusion groups: each owns its own bucket space.
    #[serde(default)]
    pub exclusion_groups: BTreeMap<String, ExclusionGroup>,
}

fn default_schema() -> u32 {
    SCHEMA_VERSION
}

fn default_true() -> bool {
    true
}

/// One feature flag.
#[derive(Debug, Clone, Serialize)]
pub struct FlagDef {
    /// Unique key, used by applications to evaluate the flag.
    pub key: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the flag does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Owning team or person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// What kind of flag this is.
    #[serde(default)]
    pub kind: FlagKind,
    /// The deployment strategy of the seed document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Risk level, which drives governance.
    #[serde(default)]
    pub risk: Risk,
    /// Compliance packs that apply (`MiFID_II`, `Dodd_Frank`, `HIPAA`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compliance: Vec<String>,
    /// RFC 3339 time after which the flag should be removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The kill switch: `false` serves `off_variant` with reason `DISABLED`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Variant name → value. All values share one type.
    pub variants: BTreeMap<String, Value>,
    /// Variant served when the flag is disabled or a guard phase fails; without one,
    /// those phases return the caller's default (with the same reason), as
    /// OpenFeature and flagd answer a disabled flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_variant: Option<String>,
    /// Flags that must evaluate to one of the listed variants first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
    /// Mutual exclusion: the part of a group's bucket space this flag owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion: Option<Exclusion>,
    /// The seed's `mutual_exclusions`: flags never on for the same unit as this one.
    /// A declaration that an exclusion group must back (see `compile::exclusions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutual_exclusions: Vec<String>,
    /// Clauses that must hold or the result is `off_variant` with reason `DENIED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Clause>,
    /// Ordered targeting rules; the first match serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Served when no rule matches.
    pub fallthrough: Serve,
    /// Which evaluations produce audit events.
    #[serde(default)]
    pub audit_evaluations: AuditEvaluations,
    /// Context attributes that are private (never leave the evaluating process).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private_attributes: Vec<String>,
    /// Returned with every evaluation as OpenFeature flag metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
}

/// Deployment strategies of the seed document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Strategy {
    ProgressiveRollout,
    TargetedRelease,
    KillSwitch,
    ABTesting,
    CanaryRelease,
    OperationalToggle,
}

/// A prerequisite: `flag` must evaluate to one of `variants`.
#[derive(Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prerequisite {
    /// Key of the prerequisite flag.
    pub flag: String,
    /// Variants of that flag that satisfy the prerequisite.
    pub variants: Vec<String>,
}

/// The part `[start, end)` of an exclusion group's bucket space a flag owns.
#[derive(Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// Name of the exclusion group.
    pub group: String,
    /// `[start, end)` on the 0..100 000 bucket scale.
    pub range: [u32; 2],
}

/// An exclusion group: flags in it own disjoint ranges of its bucket space.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionGroup {
    /// Salt of the group's bucketing (defaults to the group name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Description for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A targeting rule.
#[derive(Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Identifier reported as `rule_id` when the rule serves.
    pub id: String,
    /// Condition; the rule serves when it holds.
    pub when: Clause,
    /// What the rule serves.
    pub serve: Serve,
    /// Description for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What to serve: a fixed variant, a percentage rollout, or the caller's default.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// A fixed variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// A percentage rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// `true`: the caller's default value, without a variant (and without an error),
    /// for flags whose source system answers some contexts with the application's
    /// default (flagd's flags without a default variant).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub caller_default: bool,
}

/// A percentage rollout over the 0..100 000 bucket space.
#[derive(Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// Attribute holding the unit (default `targetingKey`), or several tried in
    /// order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UnitAttributes>,
    /// Bucketing salt (default: the flag key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Variant → percent, filled cumulatively in the order written.
    pub weights: Weights,
    /// How units are hashed into buckets (default Vexil's own): a flag migrated from
    /// another system keeps every unit in the bucket it had there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucketing: Option<Bucketing>,
    /// What a context without a unit gets (default: the caller's default with
    /// `TARGETING_KEY_MISSING`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_unit: Option<MissingUnit>,
    /// For `unleash_variants` and `flagd`: the total of the source's weights it hashes
    /// into (defaults 1000 and 100 000), scaled onto the bucket space so that every
    /// source threshold has an exact cut (see the README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
}

/// What a rollout does for a context that has none of its unit attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingUnit {
    /// The caller's default with `TARGETING_KEY_MISSING`.
    #[default]
    Error,
    /// The flag's fallthrough is served instead (reason `DEFAULT`, or `SPLIT` for a
    /// rollout): flagd's `fractional` without its bucketing key. Rules only.
    Fallthrough,
}

/// Where a rollout finds its unit: one attribute path (`"by": "account.id"`), or
/// several tried in order, the first the context has being the unit (`"by":
/// ["targetingKey", "sessionId"]`: signed-in users by their id, anonymous visitors by
/// their session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitAttributes {
    /// One attribute.
    One(String),
    /// The first of these attributes the context has.
    FirstOf(Vec<String>),
}

impl UnitAttributes {
    /// The attribute paths, in the order they are tried.
    pub fn paths(&self) -> &[String] {
        match self {
            UnitAttributes::One(path) => std::slice::from_ref(path),
            UnitAttributes::FirstOf(paths) => paths,
        }
    }
}

impl Serialize for UnitAttributes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            UnitAttributes::One(path) => serializer.serialize_str(path),
            UnitAttributes::FirstOf(paths) => paths.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for UnitAttributes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UnitVisitor;
        impl<'de> Visitor<'de> for UnitVisitor {
            type Value = UnitAttributes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute path or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UnitAttributes, E> {
                Ok(UnitAttributes::One(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<UnitAttributes, A::Error> {
                let mut paths = Vec::new();
                while let Some(path) = seq.next_element::<String>()? {
                    paths.push(path);
                }
                Ok(UnitAttributes::FirstOf(paths))
            }
        }
        deserializer.deserialize_any(UnitVisitor)
    }
}

/// Rollout weights, kept in the order they were written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weights(pub Vec<(String, f64)>);

impl Serialize for Weights {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (variant, weight) in &self.0 {
            map.serialize_entry(variant, weight)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Weights {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WeightsVisitor;
        impl<'de> Visitor<'de> for WeightsVisitor {
            type Value = Weights;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of variant name to percentage")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Weights, A::Error> {
                let mut weights = Vec::new();
                while let Some((variant, weight)) = map.next_entry::<String, f64>()? {
                    if weights.iter().any(|(v, _): &(String, f64)| *v == variant) {
                        return Err(de::Error::custom(format!(
                            "variant `{variant}` appears twice in weights"
                        )));
                    }
                    weights.push((variant, weight));
                }
                Ok(Weights(weights))
            }
        }
        deserializer.deserialize_map(WeightsVisitor)
    }
}

/// A condition over the evaluation context.
///
/// Exactly one form is used: `{all}`, `{any}`, `{not}`, `{segment}`, an attribute
/// test `{attr, op, values, ignore_case?}`, or a bucket test `{bucket}`. Deserialised as one struct with optional
/// fields so an error can say precisely what is wrong.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// All sub-clauses must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Clause>>,
    /// At least one sub-clause must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Clause>>,
    /// The sub-clause must not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Clause>>,
    /// The named segment must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Dotted path into the context (`user.account_tier`), or `$now`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attr: Option<String>,
    /// The operator of an attribute test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// Values the attribute is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    /// String operators compare case-insensitively.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
    /// The unit falls in a range of a rollout's bucket space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<BucketTest>,
    /// Read the attribute as JavaScript-based systems do: for `lt`…`gte`, text as
    /// JavaScript's `Number()` reads it; for the semver operators, versions as flagd
    /// reads them (`v1.2.3`, `1.2`, numbers). See [`super::lenient`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lenient: bool,
}

/// A bucket test: holds when the context has a unit (as a rollout finds it) and the
/// unit's position in the bucket space is in `[range[0] %, range[1] %)`. Without a
/// unit it does not hold, so a rule it gates falls through to the next rule.
#[derive(Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BucketTest {
    /// Attribute holding the unit (default `targetingKey`), or several tried in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UnitAttributes>,
    /// Bucketing salt (default: the flag key; required in segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// How units are hashed (default Vexil's own), as in rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucketing: Option<Bucketing>,
    /// `[from, to)` in percent of the bucket space, with up to 3 decimals.
    pub range: [f64; 2],
    /// The weight total the scheme hashes into, as a rollout's `total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
}

impl Clause {
    /// Calls `f` with every attribute path this clause tests, and the name of every
    /// segment it refers to (segments are not expanded).
    pub fn visit(&self, f: &mut dyn FnMut(ClauseRef<'_>)) {
        for list in [&self.all, &self.any].into_iter().flatten() {
            list.iter().for_each(|c| c.visit(f));
        }
        if let Some(inner) = &self.not {
            inner.visit(f);
        }
        if let Some(segment) = &self.segment {
            f(ClauseRef::Segment(segment));
        }
        if let Some(attr) = &self.attr {
            f(ClauseRef::Attr(attr));
        }
        if let Some(bucket) = &self.bucket {
            match &bucket.by {
                Some(by) => by.paths().iter().for_each(|p| f(ClauseRef::Attr(p))),
                None => f(ClauseRef::Attr("targetingKey")),
            }
        }
    }
}

/// What a clause refers to, as reported by [`Clause::visit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClauseRef<'a> {
    /// An attribute path (`provider.type`, `$now`).
    Attr(&'a str),
    /// A segment name.
    Segment(&'a str),
}

impl FlagDef {
    /// Every context attribute the flag reads: its access clause, its rules (segments
    /// expanded through `segments`) and its rollout units.
    pub fn attributes(&self, segments: &BTreeMap<String, Clause>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut pending: Vec<&Clause> = self.access.iter().collect();
        pending.extend(self.rules.iter().map(|r| &r.when));
        let mut seen_segments: Vec<&str> = Vec::new();
        while let Some(clause) = pending.pop() {
            clause.visit(&mut |r| match r {
                ClauseRef::Attr(a) if !a.starts_with('$') => out.push(a.to_string()),
                ClauseRef::Segment(name) => {
                    if let Some((key, seg)) = segments.get_key_value(name) {
                        if !seen_segments.contains(&key.as_str()) {
                            seen_segments.push(key.as_str());
                            pending.push(seg);
                        }
                    }
                }
                ClauseRef::Attr(_) => {}
            });
        }
        let serves = self
            .rules
            .iter()
            .map(|r| &r.serve)
            .chain([&self.fallthrough]);
        for rollout in serves.filter_map(|s| s.rollout.as_ref()) {
            match &rollout.by {
                Some(by) => out.extend(by.paths().iter().cloned()),
                None => out.push("targetingKey".to_string()),
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

// Deserialisation (see `super::de` for why these are not derived). Flag-level fields
// outside the model are descriptive metadata and are skipped; inside prerequisites,
// exclusions, rules, serves, rollouts and clauses an unknown field is an error.
map_struct!(FlagsDocument, "a flags document", allow, {
    schema = default_schema(), environment = None, version = None, issued_at = None,
    expires_at = None, flags = Vec::new(), segments = BTreeMap::new(),
    exclusion_groups = BTreeMap::new(),
});
map_struct!(FlagDef, "a flag", allow, {
    key, name = None, description = None, owner = None, tags = Vec::new(),
    kind = FlagKind::default(), strategy = None, risk = Risk::default(),
    compliance = Vec::new(), expires_at = None, enabled = default_true(), variants,
    off_variant = None, prerequisites = Vec::new(), exclusion = None,
    mutual_exclusions = Vec::new(), access = None,
    rules = Vec::new(), fallthrough, audit_evaluations = AuditEvaluations::default(),
    private_attributes = Vec::new(), metadata = BTreeMap::new(),
});
map_struct!(Prerequisite, "a prerequisite", deny, { flag, variants });
map_struct!(Exclusion, "an exclusion", deny, { group, range });
map_struct!(ExclusionGroup, "an exclusion group", deny, { salt = None, description = None });
map_struct!(Rule, "a rule", deny, { id, when, serve, description = None });
map_struct!(Serve, "a serve", deny, { variant = None, rollout = None, caller_default = false });
map_struct!(Rollout, "a rollout", deny, {
    by = None, salt = None, weights, bucketing = None, missing_unit = None, total = None,
});
str_enum!(MissingUnit, { Error = "error", Fallthrough = "fallthrough" });
map_struct!(Clause, "a clause", deny, {
    all = None, any = None, not = None, segment = None, attr = None, op = None,
    values = None, ignore_case = false, bucket = None, lenient = false,
});
map_struct!(BucketTest, "a bucket test", deny, {
    by = None, salt = None, bucketing = None, range, total = None,
});
str_enum!(FlagKind, {
    Release = "release", Experiment = "experiment", Ops = "ops",
    KillSwitch = "kill_switch", Permission = "permission",
});
str_enum!(Strategy, {
    ProgressiveRollout = "progressive_rollout", TargetedRelease = "targeted_release",
    KillSwitch = "kill_switch", ABTesting = "a_b_testing", CanaryRelease = "canary_release",
    OperationalToggle = "operational_toggle",
});
str_enum!(Risk, { Low = "low", Medium = "medium", High = "high", Critical = "critical" });
str_enum!(Bucketing, {
    Vexil = "vexil", Unleash = "unleash", UnleashVariants = "unleash_variants", Flagd = "flagd",
});
str_enum!(AuditEvaluations, { None = "none", Denied = "denied", All = "all" });
str_enum!(Op, {
    In = "in", NotIn = "not_in", Eq = "eq", Neq = "neq", Contains = "contains",
    StartsWith = "starts_with", EndsWith = "ends_with", Matches = "matches", Lt = "lt",
    Lte = "lte", Gt = "gt", Gte = "gte", SemverLt = "semver_lt", SemverLte = "semver_lte",
    SemverEq = "semver_eq", SemverGte = "semver_gte", SemverGt = "semver_gt",
    Before = "before", After = "after", Exists = "exists", InCidr = "in_cidr",
});
