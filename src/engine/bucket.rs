//! Where a unit falls in a rollout's bucket space under each bucketing scheme, and
//! bucket tests: clauses that hold when the context's unit falls inside a range.
//!
//! A bucket test is the condition half of a rollout: `{"bucket": {"by", "salt",
//! "bucketing", "range": [from, to]}}` holds when the context has a unit and its
//! position is in `[from %, to %)`. A context without a unit does not satisfy it, so a
//! rule gated by one falls through to the next rule, as Unleash's strategies do
//! (units outside a strategy's percentage are checked against the later strategies).

use super::context::{AttrId, ResolvedContext};
use super::hash::{salt_prefix, HashPrefix, BUCKETS};
use super::kinds::Bucketing;

/// The weight total a scheme hashes into unless told otherwise: 1000 for Unleash's
/// variants, the bucket space for flagd (others have none).
pub(crate) fn default_total(bucketing: Bucketing) -> u32 {
    match bucketing {
        Bucketing::UnleashVariants => 1000,
        _ => BUCKETS,
    }
}

/// Whether `total` is one `bucketing` can take: 1..=100 000, for `unleash_variants`
/// and `flagd` only.
pub(crate) fn total_fits(bucketing: Bucketing, total: u32) -> bool {
    matches!(bucketing, Bucketing::UnleashVariants | Bucketing::Flagd)
        && (1..=BUCKETS).contains(&total)
}

/// Where `unit` falls on the 0..100 000 scale under `bucketing`, after `prefix`
/// (see [`prefix`]). `total` is the weight total Unleash or flagd hash into
/// ([`default_total`] unless a rollout says otherwise); other schemes ignore it.
/// Totals are scaled onto the bucket space strictly increasingly (total ≤ 100 000),
/// so each of the source system's thresholds has an exact cut.
#[inline]
pub(crate) fn position(bucketing: Bucketing, prefix: &HashPrefix, unit: &str, total: u32) -> u32 {
    let h = prefix.hash(unit.as_bytes());
    let total = total.max(1);
    match bucketing {
        Bucketing::Vexil => h % BUCKETS,
        // 1..=100 → its first thousandth: `n ≤ p` becomes `position < p%`.
        Bucketing::Unleash => (h % 100) * 1000,
        // `h % total` scaled onto the bucket space: strictly increasing while
        // total ≤ 100 000, so every threshold of Unleash's has an exact cut.
        Bucketing::UnleashVariants => {
            let n = h % total;
            (u64::from(n) * u64::from(BUCKETS) / u64::from(total)) as u32
        }
        // flagd's `(h × total) >> 32`, then scaled.
        Bucketing::Flagd => {
            let n = (u64::from(h) * u64::from(total)) >> 32;
            (n * u64::from(BUCKETS) / u64::from(total)) as u32
        }
    }
}

/// A scheme's hash prefix from its bytes (see [`prefix`]), with the seed the scheme
/// hashes with (Unleash's variants use 86 028 157, the others 0).
pub(crate) fn hash_prefix(bucketing: Bucketing, bytes: Box<[u8]>) -> HashPrefix {
    let seed = match bucketing {
        Bucketing::UnleashVariants => 86_028_157,
        _ => 0,
    };
    HashPrefix::new(bytes, seed)
}

/// The bytes a scheme hashes before the unit: `salt.` (Vexil), `salt:` (Unleash),
/// `salt` (flagd).
#[cfg_attr(not(feature = "authoring"), allow(dead_code))] // payloads carry prefixes
pub(crate) fn prefix(bucketing: Bucketing, salt: &str) -> Box<[u8]> {
    match bucketing {
        Bucketing::Vexil => salt_prefix(salt),
        Bucketing::Unleash | Bucketing::UnleashVariants => {
            let mut out = salt.as_bytes().to_vec();
            out.push(b':');
            out.into_boxed_slice()
        }
        Bucketing::Flagd => salt.as_bytes().into(),
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

/// A compiled bucket test.
#[derive(Debug, Clone)]
pub(crate) struct BucketCond {
    pub(crate) units: Box<[AttrId]>,
    pub(crate) prefix: HashPrefix,
    pub(crate) bucketing: Bucketing,
    /// The weight total, when written (see [`super::compiled::Rollout::total`]).
    pub(crate) total: Option<u32>,
    pub(crate) from: u32,
    pub(crate) to: u32,
}

impl BucketCond {
    /// Whether the context has a unit whose position is in `[from, to)`.
    #[inline]
    pub(crate) fn matches(&self, ctx: &ResolvedContext) -> bool {
        let total = self.total.unwrap_or_else(|| default_total(self.bucketing));
        self.units
            .iter()
            .find_map(|&u| ctx.unit(u))
            .is_some_and(|unit| {
                let p = position(self.bucketing, &self.prefix, unit, total);
                self.from <= p && p < self.to
            })
    }

    /// The attributes it reads.
    pub(crate) fn units(&self) -> &[AttrId] {
        &self.units
    }
}
