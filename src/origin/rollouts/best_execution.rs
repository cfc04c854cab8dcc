//! The best-execution guard: the treated variant's execution quality (a tracked
//! value such as `track("order.executed", { value: price_improvement_bps })`) may not
//! be worse than the control's beyond a tolerance, judged with a test that stays
//! valid however often the scheduler looks.
//!
//! # The test
//!
//! Each variant's tracked values give their count `n`, mean `m = Σx / n` and sample
//! variance `s² = (Σx² − n·m²) / (n − 1)` (edges report `value_sum`,
//! `value_sq_sum` and `value_count` per event and variant). The difference of means
//! in the better direction, `d = m_T − m_C` (or `m_C − m_T` when lower is better), is
//! approximately normal with variance `V = s_T²/n_T + s_C²/n_C`. With a normal
//! mixture over the true difference of variance `τ²` (a mixture SPRT, Robbins 1970;
//! Johari et al. 2017), the interval
//!
//! ```text
//! d ± r,   r = sqrt( V·(V + τ²)/τ² · ( 2·ln(1/α) + ln((V + τ²)/V) ) ),   α = 1 − confidence
//! ```
//!
//! covers the true difference at every check at once with probability at least
//! `1 − α` (an always-valid confidence sequence), so peeking at each scheduler pass
//! does not inflate false alarms. `τ²` is the difference's variance at `min_samples`
//! values per variant, `(s_T² + s_C²) / min_samples`, which makes the sequence
//! tightest around the planned sample size. The variances are plug-in estimates: the
//! guarantee is the normal approximation's, good once each variant has tens of values.
//!
//! # The decision
//!
//! - fewer than `min_samples` values in either variant, or no variance known (a batch
//!   from an SDK that does not send `value_sq_sum`): `insufficient`, which holds the
//!   stage (like the rate guards' `min_samples`) but never rolls back;
//! - at a stage serving the treatment to everyone (100 %), fewer than `min_samples`
//!   control values: `no_control`, which neither holds the stage nor rolls back (there
//!   is nothing left to compare with; earlier stages made the comparison);
//! - the whole interval below `−tolerance` (treatment worse by more than the
//!   tolerance, with the stated confidence): `worse`, a breach that rolls back;
//! - the whole interval above `−tolerance`: `not_worse`;
//! - otherwise `undecided`: no breach, the stage may advance.
//!
//! Only tracked values are supported: edges report latencies as a histogram, whose
//! buckets give no variance exact enough for this test.

use super::{Judgement, OriginError};
use crate::metrics::{Batch, OutcomeStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A plan's best-execution guard that cannot be judged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    /// No event named.
    #[error("a best_execution guard names its tracked `event` (such as \"order.executed\")")]
    NoEvent,
    /// Latency has no variance at the origin.
    #[error("best_execution `metric` \"latency\" is not supported: edges report latencies as histograms, which carry no variance for the test; use \"value\"")]
    Latency,
    /// Tolerance negative or not a number.
    #[error(
        "best_execution `tolerance` must be a finite number ≥ 0 (in the metric's unit), not {0}"
    )]
    Tolerance(f64),
    /// Confidence outside (0, 1).
    #[error(
        "best_execution `confidence` must be between 0 and 1 exclusive (such as 0.95), not {0}"
    )]
    Confidence(f64),
    /// No samples asked for.
    #[error("best_execution `min_samples` must be at least 2 (values per variant)")]
    MinSamples,
}

impl From<GuardError> for OriginError {
    fn from(e: GuardError) -> Self {
        OriginError::BadRequest(e.to_string())
    }
}

/// What the guard compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The value tracked with the event.
    #[default]
    Value,
    /// The latency tracked with it (refused: see [`GuardError::Latency`]).
    Latency,
}

/// Execution quality of the treated variant against the control's: the treatment may
/// not be worse than control by more than `tolerance` with `confidence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BestExecution {
    /// The tracked event (`order.executed`).
    pub event: String,
    /// What is compared (`value`).
    #[serde(default)]
    pub metric: Metric,
    /// Whether higher is better (default: true for `value`, false for `latency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub higher_is_better: Option<bool>,
    /// How much worse the treatment may be, in the metric's unit (default 0).
    #[serde(default)]
    pub tolerance: f64,
    /// The confidence of the interval (default 0.95).
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Values each variant needs before the guard decides (default 100).
    #[serde(default = "default_min_samples")]
    pub min_samples: u64,
}

fn default_confidence() -> f64 {
    0.95
}

fn default_min_samples() -> u64 {
    100
}

impl BestExecution {
    /// Refuses what cannot be judged.
    pub fn validate(&self) -> Result<(), GuardError> {
        if self.event.trim().is_empty() {
            return Err(GuardError::NoEvent);
        }
        if self.metric == Metric::Latency {
            return Err(GuardError::Latency);
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(GuardError::Tolerance(self.tolerance));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(GuardError::Confidence(self.confidence));
        }
        if self.min_samples < 2 {
            return Err(GuardError::MinSamples);
        }
        Ok(())
    }

    /// Whether a higher figure is better.
    pub fn higher_is_better(&self) -> bool {
        self.higher_is_better
            .unwrap_or(self.metric == Metric::Value)
    }
}

/// Moments of the values tracked with one event by one variant (or the control's
/// variants together).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Values counted.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The sum of their squares; none when some batch did not report it.
    pub sq_sum: Option<f64>,
}

impl Moments {
    /// The moments of an outcome's values; none when it carries no value.
    pub fn of(o: &OutcomeStats) -> Option<Moments> {
        (o.value_count > 0).then_some(Moments {
            count: o.value_count,
            sum: o.value_sum,
            sq_sum: o.value_sq_sum,
        })
    }

    /// Adds `other`'s values (a sum of squares stays known only if both knew it).
    pub fn merge(&mut self, other: &Moments) {
        self.sq_sum = match (self.count, other.count) {
            (_, 0) => self.sq_sum,
            (0, _) => other.sq_sum,
            _ => self.sq_sum.zip(other.sq_sum).map(|(a, b)| a + b),
        };
        self.count = self.count.saturating_add(other.count);
        self.sum += other.sum;
    }

    /// Mean and sample variance, when there are two values and a sum of squares.
    pub fn mean_variance(&self) -> Option<(f64, f64)> {
        let n = self.count as f64;
        let sq = self.sq_sum.filter(|_| self.count >= 2)?;
        let mean = self.sum / n;
        let variance = ((sq - n * mean * mean) / (n - 1.0)).max(0.0);
        (mean.is_finite() && variance.is_finite()).then_some((mean, variance))
    }
}

/// Merges `from` into `into`, event by event.
pub fn merge_all(into: &mut BTreeMap<String, Moments>, from: &BTreeMap<String, Moments>) {
    for (event, m) in from {
        into.entry(event.clone()).or_default().merge(m);
    }
}

/// The control's values in `batch`: every variant of `flag` but `treated`, by event.
pub fn control_values(batch: &Batch, flag: &str, treated: &str) -> BTreeMap<String, Moments> {
    let mut out = BTreeMap::new();
    for (event, stats) in &batch.events {
        let Some(variants) = stats.attributions.get(flag) else {
            continue;
        };
        for (variant, o) in variants {
            if let Some(m) = Moments::of(o).filter(|_| variant != treated) {
                out.entry(event.clone())
                    .or_insert_with(Moments::default)
                    .merge(&m);
            }
        }
    }
    out
}

/// The guard's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Too few values, or no variance known: holds the stage, never rolls back.
    Insufficient,
    /// Everyone is served the treatment and too few control values remain: nothing to
    /// compare with, so neither holds the stage nor rolls back.
    NoControl,
    /// Worse than control beyond the tolerance: rolls back.
    Worse,
    /// Not worse beyond the tolerance, with the confidence.
    NotWorse,
    /// Neither shown yet.
    Undecided,
}

/// One check of the guard, as the rollout's `last_check` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The tracked event.
    pub event: String,
    /// What was compared.
    pub metric: Metric,
    /// Whether higher is better.
    pub higher_is_better: bool,
    /// Values per variant.
    pub treatment_n: u64,
    /// Values of the control.
    pub control_n: u64,
    /// Means, when known.
    pub treatment_mean: Option<f64>,
    /// The control's mean.
    pub control_mean: Option<f64>,
    /// The always-valid interval of the difference in the better direction
    /// (treatment − control when higher is better), `[low, high]`.
    pub interval: Option<[f64; 2]>,
    /// How much worse the treatment may be.
    pub tolerance: f64,
    /// The interval's confidence.
    pub confidence: f64,
    /// Values each variant needs.
    pub min_samples: u64,
    /// The verdict.
    pub decision: Decision,
}

/// The half-width of the normal-mixture confidence sequence for an estimate of
/// variance `v`, mixture variance `tau2`, at level `alpha` (see the module's formula).
pub fn half_width(v: f64, tau2: f64, alpha: f64) -> f64 {
    (v * (v + tau2) / tau2 * (2.0 * (1.0 / alpha).ln() + ((v + tau2) / v).ln())).sqrt()
}

/// Judges `guard` on the treated variant's and the control's values of its event;
/// `everyone_treated` when the stage serves the treatment to 100 %.
pub fn check(
    guard: &BestExecution,
    treated: Option<&Moments>,
    control: Option<&Moments>,
    everyone_treated: bool,
) -> Check {
    let empty = Moments::default();
    let (t, c) = (treated.unwrap_or(&empty), control.unwrap_or(&empty));
    let higher = guard.higher_is_better();
    let (tm, cm) = (t.mean_variance(), c.mean_variance());
    let mut out = Check {
        event: guard.event.clone(),
        metric: guard.metric,
        higher_is_better: higher,
        treatment_n: t.count,
        control_n: c.count,
        treatment_mean: (t.count > 0).then(|| t.sum / t.count as f64),
        control_mean: (c.count > 0).then(|| c.sum / c.count as f64),
        interval: None,
        tolerance: guard.tolerance,
        confidence: guard.confidence,
        min_samples: guard.min_samples,
        decision: Decision::Insufficient,
    };
    if everyone_treated && c.count < guard.min_samples {
        out.decision = Decision::NoControl;
        return out;
    }
    let enough = t.count >= guard.min_samples && c.count >= guard.min_samples;
    let (Some((mt, vt)), Some((mc, vc)), true) = (tm, cm, enough) else {
        return out;
    };
    let d = if higher { mt - mc } else { mc - mt };
    let v = vt / t.count as f64 + vc / c.count as f64;
    let tau2 = (vt + vc) / guard.min_samples as f64;
    let (low, high) = if v > 0.0 && tau2 > 0.0 {
        let r = half_width(v, tau2, 1.0 - guard.confidence);
        (d - r, d + r)
    } else {
        (d, d) // Every value alike in both: the difference is known exactly.
    };
    out.interval = Some([low, high]);
    out.decision = if high < -guard.tolerance {
        Decision::Worse
    } else if low > -guard.tolerance {
        Decision::NotWorse
    } else {
        Decision::Undecided
    };
    out
}

/// Adds the best-execution guards' checks of a stage to its judgement: their
/// figures (`best_execution`), their breaches, and holding the stage while one has
/// too few values. `everyone_treated` when the stage serves the treatment to 100 %.
pub fn judge_stage(
    guards: &[BestExecution],
    treated: &BTreeMap<String, Moments>,
    control: &BTreeMap<String, Moments>,
    everyone_treated: bool,
    judgement: &mut Judgement,
) {
    if guards.is_empty() {
        return;
    }
    let checks: Vec<Check> = guards
        .iter()
        .map(|g| {
            check(
                g,
                treated.get(&g.event),
                control.get(&g.event),
                everyone_treated,
            )
        })
        .collect();
    for c in &checks {
        judgement.breaches.extend(c.breach());
        if c.decision == Decision::Insufficient {
            judgement.enough_samples = false;
        }
    }
    judgement.figures.best_execution = checks;
}

impl Check {
    /// The breach, in words, when the treatment is worse.
    pub fn breach(&self) -> Option<String> {
        let [low, high] = self.interval?;
        (self.decision == Decision::Worse).then(|| {
            format!(
                "best execution: {} value worse than control beyond tolerance {} ({}% interval of the difference [{low:.3}, {high:.3}])",
                self.event,
                self.tolerance,
                self.confidence * 100.0
            )
        })
    }
}

#[cfg(test)]
#[path = "best_execution_tests.rs"]
mod tests;
