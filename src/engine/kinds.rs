//! The small enumerations shared by the flag model (as written) and the compiled
//! form (as evaluated): flag kinds, risk levels, audit policies, bucketing schemes
//! and clause operators. Kept apart from the serde model so the wasm build, which
//! has no model, still has them.

/// Flag kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum FlagKind {
    /// A feature being released.
    #[default]
    Release,
    /// An experiment comparing variants.
    Experiment,
    /// An operational toggle.
    Ops,
    /// An emergency switch.
    KillSwitch,
    /// An entitlement.
    Permission,
}

/// Risk levels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[allow(missing_docs)]
pub enum Risk {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

/// Which evaluations of a flag are audited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum AuditEvaluations {
    /// No evaluation is audited.
    #[default]
    None,
    /// Evaluations refused by `access` are audited.
    Denied,
    /// Every evaluation is audited (HIPAA).
    All,
}

/// How a rollout hashes a unit into its bucket. Every scheme is deterministic and
/// monotonic in the weights; the non-default ones reproduce other systems exactly (for
/// ASCII units), so a migrated flag keeps each unit where it was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Bucketing {
    /// Vexil's own: `murmur3(salt + "." + unit) % 100 000` (salt: the flag key).
    #[default]
    Vexil,
    /// Unleash's gradual rollout: `murmur3(groupId + ":" + unit) % 100 + 1`, served
    /// while at most the percentage (groupId: the salt, default the flag key).
    Unleash,
    /// Unleash's variants: `murmur3(groupId + ":" + unit, seed 86028157) % 1000 + 1`
    /// against cumulative weights out of 1000.
    UnleashVariants,
    /// flagd's `fractional`: `(murmur3(salt + unit) × total weight) >> 32` (salt: the
    /// flag key, as flagd's default `flagKey + targetingKey`; `""` for none).
    Flagd,
}

/// Attribute test operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[allow(missing_docs)]
pub enum Op {
    In,
    NotIn,
    Eq,
    Neq,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Lt,
    Lte,
    Gt,
    Gte,
    SemverLt,
    SemverLte,
    SemverEq,
    SemverGte,
    SemverGt,
    Before,
    After,
    Exists,
    InCidr,
}

impl Op {
    /// The operator's name as written in flags files.
    pub fn name(self) -> &'static str {
        match self {
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Eq => "eq",
            Op::Neq => "neq",
            Op::Contains => "contains",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
            Op::Matches => "matches",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::SemverLt => "semver_lt",
            Op::SemverLte => "semver_lte",
            Op::SemverEq => "semver_eq",
            Op::SemverGte => "semver_gte",
            Op::SemverGt => "semver_gt",
            Op::Before => "before",
            Op::After => "after",
            Op::Exists => "exists",
            Op::InCidr => "in_cidr",
        }
    }
}
