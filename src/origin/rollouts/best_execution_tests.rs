//! The best-execution test's statistics: known inputs give known decisions, and
//! checking after every batch under no difference rarely raises a false alarm.

use super::*;

fn guard(tolerance: f64) -> BestExecution {
    BestExecution {
        event: "order.executed".into(),
        metric: Metric::Value,
        higher_is_better: None,
        tolerance,
        confidence: 0.95,
        min_samples: 100,
    }
}

/// Moments of `n` values with mean `mean` and sample variance `var`.
fn moments(n: u64, mean: f64, var: f64) -> Moments {
    let nf = n as f64;
    Moments {
        count: n,
        sum: nf * mean,
        sq_sum: Some(var * (nf - 1.0) + nf * mean * mean),
    }
}

#[test]
fn the_interval_follows_the_mixture_formula() {
    // V = 4/100 + 4/100 = 0.08 and τ² = (4 + 4)/100 = 0.08:
    // r² = 0.08 · 2 · (2 ln 20 + ln 2) = 1.06954…
    let c = check(
        &guard(0.5),
        Some(&moments(100, 8.0, 4.0)),
        Some(&moments(100, 10.0, 4.0)),
        false,
    );
    let [low, high] = c.interval.expect("judged");
    let r = (0.16f64 * (2.0 * 20f64.ln() + 2f64.ln())).sqrt();
    assert!((r - 1.034_18).abs() < 1e-4, "{r}");
    assert!((low - (-2.0 - r)).abs() < 1e-9 && (high - (-2.0 + r)).abs() < 1e-9);
    assert_eq!(c.decision, Decision::Worse);
    assert!(c.breach().expect("a breach").contains("order.executed"));
    assert_eq!((c.treatment_mean, c.control_mean), (Some(8.0), Some(10.0)));
}

#[test]
fn decisions_depend_on_the_tolerance_direction_and_samples() {
    let worse = (moments(100, 8.0, 4.0), moments(100, 10.0, 4.0));
    let decide =
        |g: &BestExecution, t: &Moments, c: &Moments| check(g, Some(t), Some(c), false).decision;
    // Worse by 2 ± 1.03: beyond a 0.5 tolerance, not shown beyond 1.0, within 3.5.
    assert_eq!(decide(&guard(1.0), &worse.0, &worse.1), Decision::Undecided);
    assert_eq!(decide(&guard(3.5), &worse.0, &worse.1), Decision::NotWorse);
    // Lower is better: the same figures make the treatment better.
    let lower = BestExecution {
        higher_is_better: Some(false),
        ..guard(0.0)
    };
    assert_eq!(decide(&lower, &worse.0, &worse.1), Decision::NotWorse);
    // Too few values, or no variance: insufficient, never a breach.
    let few = moments(99, 0.0, 4.0);
    assert_eq!(decide(&guard(0.5), &few, &worse.1), Decision::Insufficient);
    let old_sdk = Moments {
        sq_sum: None,
        ..worse.0.clone()
    };
    let c = check(&guard(0.5), Some(&old_sdk), Some(&worse.1), false);
    assert_eq!((c.decision, c.breach()), (Decision::Insufficient, None));
    assert_eq!(
        check(&guard(0.5), None, None, false).decision,
        Decision::Insufficient
    );
    // At 100 % nothing is left to compare with: no control, which holds nothing.
    let all = check(&guard(0.5), Some(&worse.0), None, true);
    assert_eq!((all.decision, all.breach()), (Decision::NoControl, None));
    // Stale edges may still report the control: then it is judged.
    assert_eq!(
        check(&guard(0.5), Some(&worse.0), Some(&worse.1), true).decision,
        Decision::Worse
    );
}

#[test]
fn moments_merge_and_lose_the_variance_with_an_old_batch() {
    let mut m = moments(10, 2.0, 1.0);
    m.merge(&moments(10, 4.0, 1.0));
    let (mean, var) = m.mean_variance().expect("known");
    assert!((mean - 3.0).abs() < 1e-12);
    // Within each half 1 (× 9 each), between halves 10 · 1² twice: (18 + 20) / 19 = 2.
    assert!((var - 2.0).abs() < 1e-12, "{var}");
    m.merge(&Moments::default());
    assert!(m.mean_variance().is_some(), "no values change nothing");
    m.merge(&Moments {
        count: 1,
        sum: 3.0,
        sq_sum: None,
    });
    assert_eq!(m.mean_variance(), None);
}

#[test]
fn plans_that_cannot_be_judged_are_refused() {
    assert_eq!(guard(0.5).validate(), Ok(()));
    let bad = [
        (
            BestExecution {
                event: " ".into(),
                ..guard(0.5)
            },
            GuardError::NoEvent,
        ),
        (
            BestExecution {
                metric: Metric::Latency,
                ..guard(0.5)
            },
            GuardError::Latency,
        ),
        (guard(-1.0), GuardError::Tolerance(-1.0)),
        (
            BestExecution {
                confidence: 1.0,
                ..guard(0.5)
            },
            GuardError::Confidence(1.0),
        ),
        (
            BestExecution {
                min_samples: 1,
                ..guard(0.5)
            },
            GuardError::MinSamples,
        ),
    ];
    for (g, e) in bad {
        assert_eq!(g.validate(), Err(e));
    }
    let parsed: BestExecution =
        serde_json::from_value(serde_json::json!({ "event": "order.executed" })).expect("defaults");
    assert_eq!(
        (parsed.confidence, parsed.min_samples, parsed.tolerance),
        (0.95, 100, 0.0)
    );
    assert!(parsed.higher_is_better());
    assert!(serde_json::from_value::<BestExecution>(
        serde_json::json!({ "event": "e", "tolerence": 1 })
    )
    .is_err());
}

/// A small deterministic generator: SplitMix64, and normal draws by Box–Muller.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u = self.next().max(f64::MIN_POSITIVE);
        let v = self.next();
        mean + sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn add(m: &mut Moments, x: f64) {
    m.merge(&Moments {
        count: 1,
        sum: x,
        sq_sum: Some(x * x),
    });
}

/// A fixed (not always-valid) 95% interval's verdict: worse when its upper end is below 0.
fn naive_worse(t: &Moments, c: &Moments) -> bool {
    let ((mt, vt), (mc, vc)) = (t.mean_variance().unwrap(), c.mean_variance().unwrap());
    mt - mc + 1.96 * (vt / t.count as f64 + vc / c.count as f64).sqrt() < 0.0
}

/// Runs `runs` rollouts of `peeks` checks, 20 values per variant between checks, the
/// treatment's mean `shift` from the control's; returns how many ever breached.
fn breaching_runs(runs: u64, peeks: u64, shift: f64, seed: u64) -> u64 {
    breaching_runs_by(runs, peeks, shift, seed, &|t, c| {
        let g = BestExecution {
            min_samples: 20,
            ..guard(0.0)
        };
        check(&g, Some(t), Some(c), false).decision == Decision::Worse
    })
}

fn breaching_runs_by(
    runs: u64,
    peeks: u64,
    shift: f64,
    seed: u64,
    worse: &dyn Fn(&Moments, &Moments) -> bool,
) -> u64 {
    let mut rng = Rng(seed);
    (0..runs)
        .filter(|_| {
            let (mut t, mut c) = (Moments::default(), Moments::default());
            (0..peeks).any(|_| {
                for _ in 0..20 {
                    add(&mut t, rng.normal(5.0 + shift, 3.0));
                    add(&mut c, rng.normal(5.0, 3.0));
                }
                worse(&t, &c)
            })
        })
        .count() as u64
}

#[test]
fn peeking_after_every_batch_rarely_breaches_when_nothing_differs() {
    // 200 rollouts checked 100 times each: a fixed 95% interval checked that often
    // would cross far more than 5% of the time; the mixture stays under α.
    let alarms = breaching_runs(200, 100, 0.0, 7);
    assert!(alarms <= 10, "{alarms} of 200 null rollouts breached");
    let naive = breaching_runs_by(200, 100, 0.0, 7, &naive_worse);
    assert!(
        naive > 3 * alarms.max(5),
        "a fixed interval peeked at: {naive} of 200"
    );
    // A real deterioration (half a standard deviation) is caught nearly always.
    let caught = breaching_runs(50, 100, -1.5, 11);
    assert!(caught >= 48, "only {caught} of 50 worse rollouts breached");
}
