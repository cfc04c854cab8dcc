//! Where a unit falls in a rollout's bucket space under each bucketing scheme, and
//! bucket tests: clauses that hold when the context's unit falls inside a range.
//!
//! A bucket test is the condition half of a rollout: `{"bucket": {"by", "salt",
//! "bucketing", "range": [from, to]}}` holds when the context has a unit and its
//! position is in `[from %, to %)`. A context without a unit does not satisfy it, so a
//! rule gated by one falls through to the next rule, as Unleash's strategies do
//! (units outside a strategy's percentage are checked against the later strategies).

use super::clause::ClauseEnv;
use super::compile::{thousandths, MAX_UNIT_ATTRIBUTES};
use super::context::{AttrId, Needs, ResolvedContext, TARGETING_KEY};
use super::hash::{murmur3_x86_32_concat as murmur, salt_prefix, BUCKETS};
use super::model::{BucketTest, Bucketing, UnitAttributes};

/// The weight total a scheme hashes into unless told otherwise: 1000 for Unleash's
/// variants, the bucket space for flagd (others have none).
pub(crate) fn default_total(bucketing: Bucketing) -> u32 {
    match bucketing {
        Bucketing::UnleashVariants => 1000,
        _ => BUCKETS,
    }
}

/// The weight total of a rollout or bucket test: `total` where the scheme takes one
/// (`unleash_variants`, `flagd`; 1..=100 000), else the scheme's default.
pub(crate) fn total(bucketing: Bucketing, total: Option<u32>) -> Result<u32, String> {
    match (total, bucketing) {
        (None, b) => Ok(default_total(b)),
        (Some(t), Bucketing::UnleashVariants | Bucketing::Flagd) if (1..=BUCKETS).contains(&t) => {
            Ok(t)
        }
        (Some(t), Bucketing::UnleashVariants | Bucketing::Flagd) => {
            Err(format!("total {t} must be from 1 to {BUCKETS}"))
        }
        (Some(_), _) => Err("`total` belongs with `unleash_variants` or `flagd` bucketing".into()),
    }
}

/// Where `unit` falls on the 0..100 000 scale under `bucketing`, after `prefix`
/// (see [`prefix`]). `total` is the weight total Unleash or flagd hash into
/// ([`default_total`] unless a rollout says otherwise); other schemes ignore it.
/// Totals are scaled onto the bucket space strictly increasingly (total ≤ 100 000),
/// so each of the source system's thresholds has an exact cut.
#[inline]
pub(crate) fn position(bucketing: Bucketing, prefix: &[u8], unit: &str, total: u32) -> u32 {
    let bytes = unit.as_bytes();
    match bucketing {
        Bucketing::Vexil => murmur(prefix, bytes, 0) % BUCKETS,
        // 1..=100 → its first thousandth: `n ≤ p` becomes `position < p%`.
        Bucketing::Unleash => (murmur(prefix, bytes, 0) % 100) * 1000,
        // `h % total` scaled onto the bucket space: strictly increasing while
        // total ≤ 100 000, so every threshold of Unleash's has an exact cut.
        Bucketing::UnleashVariants => {
            let n = murmur(prefix, bytes, 86_028_157) % total;
            (u64::from(n) * u64::from(BUCKETS) / u64::from(total)) as u32
        }
        // (h × total) >> 32 picks the same variant at any scale of integer weights.
        // flagd's `(h × total) >> 32`, then scaled.
        Bucketing::Flagd => {
            let n = (u64::from(murmur(prefix, bytes, 0)) * u64::from(total)) >> 32;
            (n * u64::from(BUCKETS) / u64::from(total)) as u32
        }
    }
}

/// The bytes a scheme hashes before the unit: `salt.` (Vexil), `salt:` (Unleash),
/// `salt` (flagd).
pub(crate) fn prefix(bucketing: Bucketing, salt: &str) -> Box<[u8]> {
    match bucketing {
        Bucketing::Vexil => salt_prefix(salt),
        Bucketing::Unleash | Bucketing::UnleashVariants => {
            format!("{salt}:").into_bytes().into_boxed_slice()
        }
        Bucketing::Flagd => salt.as_bytes().into(),
    }
}

/// The scheme's name as written in flags files.
pub(crate) fn bucketing_name(b: Bucketing) -> &'static str {
    match b {
        Bucketing::Vexil => "vexil",
        Bucketing::Unleash => "unleash",
        Bucketing::UnleashVariants => "unleash_variants",
        Bucketing::Flagd => "flagd",
    }
}

/// The step (in thousandths of a percent) a scheme places units at, and its name in
/// messages, for the schemes coarser than the bucket scale.
pub(crate) fn coarseness(b: Bucketing) -> Option<(u32, &'static str)> {
    match b {
        Bucketing::Unleash => Some((1000, "whole percentages")),
        Bucketing::UnleashVariants => Some((100, "tenths of a percent (weights out of 1000)")),
        Bucketing::Vexil | Bucketing::Flagd => None,
    }
}

/// What is wrong with a `by`, if anything (no `by` means `targetingKey`).
pub(crate) fn by_problems(by: Option<&UnitAttributes>) -> Vec<String> {
    let mut out = Vec::new();
    let paths = by.map_or(&[][..], |b| b.paths());
    if by.is_some() && paths.is_empty() {
        out.push("`by` lists no attributes".to_string());
    }
    if paths.len() > MAX_UNIT_ATTRIBUTES {
        out.push(format!(
            "`by` lists {} attributes; the limit is {MAX_UNIT_ATTRIBUTES}",
            paths.len()
        ));
    }
    for p in paths {
        if p.is_empty() || p.starts_with('$') || p.split('.').any(str::is_empty) {
            out.push(format!("`{p}` is not an attribute path"));
        }
    }
    out
}

/// The attribute ids of a `by`, interned as units.
pub(crate) fn unit_ids(by: Option<&UnitAttributes>, env: &mut dyn ClauseEnv) -> Box<[AttrId]> {
    let needs = Needs {
        unit: true,
        ..Needs::default()
    };
    match by {
        None => Box::new([TARGETING_KEY]),
        Some(b) => b.paths().iter().map(|p| env.attr(p, needs)).collect(),
    }
}

/// A compiled bucket test.
#[derive(Debug, Clone)]
pub(crate) struct BucketCond {
    units: Box<[AttrId]>,
    prefix: Box<[u8]>,
    bucketing: Bucketing,
    total: u32,
    from: u32,
    to: u32,
}

impl BucketCond {
    /// Whether the context has a unit whose position is in `[from, to)`.
    #[inline]
    pub(crate) fn matches(&self, ctx: &ResolvedContext) -> bool {
        self.units
            .iter()
            .find_map(|&u| ctx.unit(u))
            .is_some_and(|unit| {
                let p = position(self.bucketing, &self.prefix, unit, self.total);
                self.from <= p && p < self.to
            })
    }

    /// The attributes it reads.
    pub(crate) fn units(&self) -> &[AttrId] {
        &self.units
    }
}

/// Compiles a bucket test; `salt` defaults to the flag's key (a segment has none, so
/// there the salt must be written).
pub(crate) fn compile(test: &BucketTest, env: &mut dyn ClauseEnv) -> Result<BucketCond, String> {
    let problems = by_problems(test.by.as_ref());
    if let Some(p) = problems.into_iter().next() {
        return Err(p);
    }
    let salt =
        match (&test.salt, env.flag_key()) {
            (Some(s), _) => s.clone(),
            (None, Some(key)) => key.to_string(),
            (None, None) => return Err(
                "a bucket test in a segment needs a `salt` (in a flag it defaults to the flag key)"
                    .into(),
            ),
        };
    let [from, to] = test.range;
    let (from, to) = (thousandths(from)?, thousandths(to)?);
    if from >= to {
        return Err(format!(
            "bucket range [{}, {}) is empty; `range` is [from, to) in percent with from < to",
            test.range[0], test.range[1]
        ));
    }
    let bucketing = test.bucketing.unwrap_or_default();
    let total = total(bucketing, test.total)?;
    // With an explicit total, ranges are an import's exact thresholds.
    let coarse = test
        .total
        .is_none()
        .then(|| coarseness(bucketing))
        .flatten();
    if let Some((step, what)) = coarse {
        if from % step != 0 || to % step != 0 {
            return Err(format!(
                "{} bucketing places units in {what}; this range is finer",
                bucketing_name(bucketing)
            ));
        }
    }
    Ok(BucketCond {
        units: unit_ids(test.by.as_ref(), env),
        prefix: prefix(bucketing, &salt),
        bucketing,
        total,
        from,
        to,
    })
}
