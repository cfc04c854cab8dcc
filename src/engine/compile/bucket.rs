//! Units and bucket spaces as written: rollouts' and bucket tests' `by`, `total` and
//! ranges, with the messages their problems get.

use super::thousandths;
use crate::engine::bucket::{coarseness, hash_prefix, prefix, total_fits, BucketCond};
use crate::engine::clause::ClauseEnv;
use crate::engine::compiled::MAX_UNIT_ATTRIBUTES;
use crate::engine::context::{AttrId, Needs, TARGETING_KEY};
use crate::engine::hash::BUCKETS;
use crate::engine::kinds::Bucketing;
use crate::engine::model::{BucketTest, UnitAttributes};

/// The scheme's name as written in flags files.
pub(crate) fn bucketing_name(b: Bucketing) -> &'static str {
    match b {
        Bucketing::Vexil => "vexil",
        Bucketing::Unleash => "unleash",
        Bucketing::UnleashVariants => "unleash_variants",
        Bucketing::Flagd => "flagd",
    }
}

/// A written `total`, checked: it belongs with `unleash_variants` or `flagd`, from 1
/// to 100 000.
pub(crate) fn total(bucketing: Bucketing, total: Option<u32>) -> Result<Option<u32>, String> {
    match total {
        None => Ok(None),
        Some(t) if total_fits(bucketing, t) => Ok(Some(t)),
        Some(t) if matches!(bucketing, Bucketing::UnleashVariants | Bucketing::Flagd) => {
            Err(format!("total {t} must be from 1 to {BUCKETS}"))
        }
        Some(_) => Err("`total` belongs with `unleash_variants` or `flagd` bucketing".into()),
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

/// Compiles a bucket test; `salt` defaults to the flag's key (a segment has none, so
/// there the salt must be written).
pub(crate) fn compile(test: &BucketTest, env: &mut dyn ClauseEnv) -> Result<BucketCond, String> {
    if let Some(p) = by_problems(test.by.as_ref()).into_iter().next() {
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
    if let (None, Some((step, what))) = (total, coarseness(bucketing)) {
        if from % step != 0 || to % step != 0 {
            return Err(format!(
                "{} bucketing places units in {what}; this range is finer",
                bucketing_name(bucketing)
            ));
        }
    }
    Ok(BucketCond {
        units: unit_ids(test.by.as_ref(), env),
        prefix: hash_prefix(bucketing, prefix(bucketing, &salt)),
        bucketing,
        total,
        from,
        to,
    })
}
