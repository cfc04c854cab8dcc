//! Percentages on a rollout's scale: thousandths of the bucket space, and the
//! positions a rollout's units sit at when it has fewer (a `total`, a coarse
//! bucketing).

use super::EditError;
use crate::engine::bucket::{default_total, total_fits};
use crate::engine::compile::thousandths;
use crate::engine::hash::BUCKETS;
use crate::engine::kinds::Bucketing;
use crate::engine::model::Rollout;
use serde_json::{json, Value};

/// A percentage of units as the engine reads a weight: thousandths of the bucket
/// space, by the engine's own [`thousandths`] (so `1.001` is accepted and `1.0001`
/// refused, as a weight in a document would be).
pub fn percentage(percent: f64) -> Result<u32, EditError> {
    thousandths(percent).map_err(EditError::Percentage)
}

/// A percentage, in thousandths of the bucket space, as JSON: `5`, `1.001`.
pub fn percent_json(thousandths: u32) -> Value {
    if thousandths % 1000 == 0 {
        json!(thousandths / 1000)
    } else {
        json!(f64::from(thousandths) / 1000.0)
    }
}

/// How many evenly spaced positions a rollout's units sit at: its `total` when it
/// has one (`unleash_variants` and `flagd` put a unit at `n × 100 000 / total`, `n`
/// from 0 to `total − 1`), 100 for `unleash` (whole percentages), 1000 for
/// `unleash_variants` without one, otherwise every thousandth of the bucket space.
/// A `total` the engine would refuse is ignored: the document does not compile.
pub fn positions(rollout: &Rollout) -> u32 {
    let bucketing = rollout.bucketing.unwrap_or_default();
    match rollout.total {
        Some(t) if total_fits(bucketing, t) => t,
        _ if bucketing == Bucketing::Unleash => 100,
        _ => default_total(bucketing),
    }
}

/// Where the first `n` of `positions` positions end on the bucket scale: the largest
/// cut below which exactly those units fall, `⌊n × 100 000 / positions⌋` (units sit
/// at `⌊k × 100 000 / positions⌋`, at least one thousandth apart, and a unit is
/// below a cut when its position is less than it).
pub(super) fn cut(n: u32, positions: u32) -> u32 {
    (u64::from(n) * u64::from(BUCKETS) / u64::from(positions)) as u32
}

/// How many of `positions` units fall below `cut`, the inverse of [`cut`]: units sit
/// at `⌊k × 100 000 / positions⌋`, so `⌈cut × positions / 100 000⌉` of them (at most
/// all).
pub(super) fn units_below(cut: u32, positions: u32) -> u32 {
    let (c, p) = (u64::from(cut), u64::from(positions));
    (c * p).div_ceil(u64::from(BUCKETS)).min(p) as u32
}

/// The number of a rollout's `positions` that `thousandths` of the bucket space
/// stands for: the nearest whole number, if the percentage is within 0.001 of it
/// (with `positions` dividing the bucket space, exactly it); otherwise
/// [`EditError::Inexpressible`], naming the two nearest.
pub(super) fn positions_for(
    thousandths: u32,
    positions: u32,
    rollout: Option<&Rollout>,
) -> Result<u32, EditError> {
    let (t, p, b) = (
        u64::from(thousandths),
        u64::from(positions),
        u64::from(BUCKETS),
    );
    // Nearest n to t × p / b, halves up.
    let n = (2 * t * p + b) / (2 * b);
    if (t * p).abs_diff(n * b) < p {
        return Ok(n as u32);
    }
    let below_n = (t * p / b) as u32;
    let share = |n: u32| {
        let exact = (2 * u64::from(n) * b + p) / (2 * p);
        percent_json(exact as u32).to_string()
    };
    let why = match rollout {
        Some(Rollout {
            total: Some(total),
            bucketing,
            ..
        }) if *total == positions => format!(
            "`{}` bucketing with `total` {total}",
            json!(bucketing.unwrap_or_default())
                .as_str()
                .unwrap_or_default()
        ),
        Some(r) => format!(
            "`{}` bucketing",
            json!(r.bucketing.unwrap_or_default())
                .as_str()
                .unwrap_or_default()
        ),
        None => "the bucket space".into(),
    };
    Err(EditError::Inexpressible {
        percent: percent_json(thousandths).to_string(),
        positions,
        why,
        below: share(below_n),
        below_n,
        above: share(below_n + 1),
        above_n: below_n + 1,
    })
}
