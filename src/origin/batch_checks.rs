//! What the origin checks in a metrics batch before storing it.
//!
//! [`check`] refuses claims no edge could have made: counts past the configured
//! bounds (or past `u64`), outcomes exceeding the calls they belong to, a window
//! in the future or implausibly long, audit events outside the window. Such a
//! batch is refused whole (422) and counted as a reject of its key: one forged
//! figure makes every figure of the batch suspect.
//!
//! [`withhold_private`] drops dimension values that must never have left the
//! edge: a dimension the flag declares private (per its current definition), and
//! unit ids (`targetingKey` and every rollout `by` attribute of the environment)
//! on every flag. The rest of the batch is kept: it holds nothing private.

use super::OriginError;
use crate::engine::edit::FlagDoc;
use crate::metrics::privacy::{covers, is_withheld, TARGETING_KEY};
use crate::metrics::Batch;
use crate::origin::db::{params, Db};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// What one batch may claim (`[metrics]` in `vexil.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Evaluations of one flag, or calls of one tracked event, in one batch.
    pub max_evaluations: u64,
    /// Outcomes attributed to a flag variant beyond its evaluations in the batch.
    pub max_outcomes_beyond_evaluations: u64,
    /// The longest window of one batch, milliseconds.
    pub max_window_ms: i64,
    /// How far past the origin's clock a window or audit event may end, ms.
    pub clock_skew_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_evaluations: 10_000_000,
            max_outcomes_beyond_evaluations: 100_000,
            max_window_ms: 24 * 3_600_000,
            clock_skew_ms: 5 * 60_000,
        }
    }
}

/// `ms` for people, to the second (`1h`, `5m 30s`).
fn span(ms: i64) -> String {
    let secs = (ms.max(0) as u64).saturating_add(500) / 1000;
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

/// The sum of `counts`, or the refusal naming `path` when it passes `u64`.
fn total<'a>(path: &str, counts: impl IntoIterator<Item = &'a u64>) -> Result<u64, String> {
    counts
        .into_iter()
        .try_fold(0u64, |sum, &n| sum.checked_add(n))
        .ok_or_else(|| format!("`{path}` add up to more than 2^64"))
}

/// Refuses a batch claiming what no edge could have seen; the message names the
/// first offending figure by its path in the batch.
pub fn check(batch: &Batch, limits: &Limits, now_ms: i64) -> Result<(), String> {
    let max = limits.max_evaluations;
    let w = batch.window;
    if w.start_ms < 0 || w.start_ms > w.end_ms {
        return Err(format!(
            "`window` {}..{} is not a time range (start_ms must be at least 0 and at most end_ms)",
            w.start_ms, w.end_ms
        ));
    }
    if w.end_ms > now_ms.saturating_add(limits.clock_skew_ms) {
        return Err(format!(
            "`window.end_ms` {} is {} ahead of the origin's clock; at most {} of clock skew is allowed",
            w.end_ms,
            span(w.end_ms - now_ms),
            span(limits.clock_skew_ms)
        ));
    }
    if w.end_ms - w.start_ms > limits.max_window_ms {
        return Err(format!(
            "`window` spans {}; one batch covers at most {} (`metrics.max_window`)",
            span(w.end_ms - w.start_ms),
            span(limits.max_window_ms)
        ));
    }
    let mut evaluations: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (flag, stats) in &batch.flags {
        let path = format!("flags.{flag}");
        let served = total(
            &format!("{path}.variants.*.count"),
            stats.variants.values().map(|v| &v.count),
        )?;
        let errors = total(&format!("{path}.errors"), stats.errors.values())?;
        let defaults = total(&format!("{path}.defaults"), stats.defaults.values())?;
        let all = served
            .checked_add(errors)
            .and_then(|n| n.checked_add(defaults))
            .ok_or_else(|| format!("`{path}` counts more than 2^64 evaluations"))?;
        if all > max {
            return Err(format!(
                "`{path}` claims {all} evaluations in one batch; at most {max} (`metrics.max_evaluations_per_batch`)"
            ));
        }
        for (variant, v) in &stats.variants {
            let path = format!("{path}.variants.{variant}");
            let reasons = total(&format!("{path}.reasons"), v.reasons.values())?;
            if reasons > v.count {
                return Err(format!(
                    "`{path}.reasons` add up to {reasons}, more than its count {}",
                    v.count
                ));
            }
            for (dim, values) in &v.dimensions {
                let n = total(&format!("{path}.dimensions.{dim}"), values.values())?;
                if n > v.count {
                    return Err(format!(
                        "`{path}.dimensions.{dim}` add up to {n}, more than its count {}",
                        v.count
                    ));
                }
            }
            evaluations.insert((flag, variant), v.count);
        }
    }
    for (key, n) in &batch.unknown_flags {
        if *n > max {
            return Err(format!(
                "`unknown_flags.{key}` claims {n} evaluations; at most {max}"
            ));
        }
    }
    let mut outcomes: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (event, e) in &batch.events {
        let path = format!("events.{event}");
        if e.count > max {
            return Err(format!(
                "`{path}.count` claims {} calls in one batch; at most {max}",
                e.count
            ));
        }
        if e.unattributed > e.count {
            return Err(format!(
                "`{path}.unattributed` is {}, more than its count {}",
                e.unattributed, e.count
            ));
        }
        for (flag, variants) in &e.attributions {
            // One call is attributed to at most one variant of a flag.
            let per_flag = total(
                &format!("{path}.attributions.{flag}.*.count"),
                variants.values().map(|o| &o.count),
            )?;
            if per_flag > e.count {
                return Err(format!(
                    "`{path}.attributions.{flag}` holds {per_flag} outcomes, more than the event's {} calls",
                    e.count
                ));
            }
            for (variant, o) in variants {
                let path = format!("{path}.attributions.{flag}.{variant}");
                let judged = o.success.checked_add(o.failure);
                if judged.is_none_or(|n| n > o.count) {
                    return Err(format!(
                        "`{path}`: success {} + failure {} is more than its count {}",
                        o.success, o.failure, o.count
                    ));
                }
                if o.value_count > o.count || o.latency.count() > o.count {
                    return Err(format!(
                        "`{path}` carries more values or latencies than its count {}",
                        o.count
                    ));
                }
                if !o.value_sum.is_finite() {
                    return Err(format!("`{path}.value_sum` is not a finite number"));
                }
                if o.value_sq_sum.is_some_and(|q| !(q.is_finite() && q >= 0.0)) {
                    return Err(format!(
                        "`{path}.value_sq_sum` is not a finite, non-negative number"
                    ));
                }
                let n = outcomes.entry((flag, variant)).or_default();
                *n = n.saturating_add(o.count);
            }
        }
    }
    for ((flag, variant), n) in outcomes {
        let seen = evaluations.get(&(flag, variant)).copied().unwrap_or(0);
        let bound = seen.saturating_add(limits.max_outcomes_beyond_evaluations);
        if n > bound {
            return Err(format!(
                "`{flag}` variant `{variant}` has {n} outcomes attributed but {seen} evaluations in the batch; \
                 at most {} more outcomes than evaluations (`metrics.max_outcomes_beyond_evaluations`)",
                limits.max_outcomes_beyond_evaluations
            ));
        }
    }
    for (i, a) in batch.audit.iter().enumerate() {
        let from = w.start_ms.saturating_sub(limits.clock_skew_ms);
        let to = w.end_ms.saturating_add(limits.clock_skew_ms);
        if a.at_ms < from || a.at_ms > to {
            return Err(format!(
                "`audit[{i}].at_ms` {} lies outside the batch's window {}..{}",
                a.at_ms, w.start_ms, w.end_ms
            ));
        }
    }
    let d = batch.dropped;
    if [d.audit, d.events, d.unknown_flags]
        .iter()
        .any(|n| *n > max)
    {
        return Err(format!("`dropped` claims more than {max} of something"));
    }
    Ok(())
}

/// Drops, from `batch`, the dimension values private for the flag they are
/// counted on (its `private_attributes` now) and those of unit ids (on every
/// flag). Returns what was dropped, as `flag: dimension`, sorted.
pub fn withhold_private(db: &Db, env: &str, batch: &mut Batch) -> Result<Vec<String>, OriginError> {
    if batch
        .flags
        .values()
        .all(|f| f.variants.values().all(|v| v.dimensions.is_empty()))
    {
        return Ok(Vec::new());
    }
    let mut private: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut units = vec![TARGETING_KEY.to_string()];
    let rows = db.query(
        "SELECT key, document FROM flags WHERE environment = ?1",
        params![env],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?;
    for row in rows {
        let (key, text) = row;
        let doc: Value = serde_json::from_str(&text)?;
        units.extend(FlagDoc(&doc).rollout_units());
        let declared = doc
            .get("private_attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        private.insert(key, declared);
    }
    let mut dropped = std::collections::BTreeSet::new();
    for (flag, stats) in &mut batch.flags {
        let declared = private.get(flag).map_or(&[][..], Vec::as_slice);
        for v in stats.variants.values_mut() {
            v.dimensions.retain(|dim, _| {
                let withheld = is_withheld(dim, declared, &units)
                    // A dimension above a unit id (`account` for `account.id`) holds it.
                    || units.iter().any(|u| covers(dim, u));
                if withheld {
                    dropped.insert(format!("{flag}: {dim}"));
                }
                !withheld
            });
        }
    }
    Ok(dropped.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{BatchMeta, FlagStats, VariantStats};

    fn batch(count: u64, end_ms: i64) -> Batch {
        let mut b = Batch::new(BatchMeta {
            batch_id: "b".into(),
            environment: "production".into(),
            window_start_ms: end_ms - 1000,
            window_end_ms: end_ms,
            ..Default::default()
        });
        let v = VariantStats {
            count,
            ..Default::default()
        };
        b.flags.insert(
            "f".into(),
            FlagStats {
                variants: [("on".to_string(), v)].into_iter().collect(),
                ..Default::default()
            },
        );
        b
    }

    #[test]
    fn plausible_batches_pass_and_each_bound_names_its_figure() {
        let limits = Limits::default();
        let now = 1_000_000_000;
        assert_eq!(check(&batch(500, now), &limits, now), Ok(()));
        let err = check(&batch(u64::MAX, now), &limits, now).unwrap_err();
        assert!(
            err.contains("`flags.f`") && err.contains("at most 10000000"),
            "{err}"
        );
        let err = check(&batch(1, now + 3_600_000), &limits, now).unwrap_err();
        assert!(err.contains("ahead of the origin's clock"), "{err}");
        let mut long = batch(1, now);
        long.window.start_ms = 0;
        let err = check(&long, &limits, now).unwrap_err();
        assert!(err.contains("at most 1day"), "{err}");
        let mut b = batch(10, now);
        let on = b
            .flags
            .get_mut("f")
            .unwrap()
            .variants
            .get_mut("on")
            .unwrap();
        on.reasons.insert("SPLIT".into(), 11);
        let err = check(&b, &limits, now).unwrap_err();
        assert!(
            err.contains("`flags.f.variants.on.reasons` add up to 11"),
            "{err}"
        );
    }
}
