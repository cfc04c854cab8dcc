//! The judgement of a stage: the treated variant's health against the guards.

use super::{EventGuard, Guards};
use crate::origin::api::Figures;
use crate::origin::edge_metrics::VariantHealth;

/// How the guards judged a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Figures of the treated variant in the stage's window.
    pub figures: Figures,
    /// Guards that failed, in words.
    pub breaches: Vec<String>,
    /// Whether there were enough samples to judge the rate guards.
    pub enough_samples: bool,
}

/// Judges the treated variant's health against the guards.
pub fn judge(h: &VariantHealth, g: &Guards) -> Judgement {
    let enough = h.samples() >= g.min_samples.max(1);
    let mut breaches = Vec::new();
    if enough {
        if let Some(rate) = h.error_rate().filter(|r| *r > g.max_error_rate) {
            breaches.push(format!("error rate {rate:.2}% > {}%", g.max_error_rate));
        }
        if let Some(rate) = h.success_rate().filter(|r| *r < g.min_success_rate) {
            breaches.push(format!("success rate {rate:.2}% < {}%", g.min_success_rate));
        }
        if let Some(ms) = h.latency.mean().filter(|ms| *ms > g.max_latency_ms) {
            breaches.push(format!("mean latency {ms:.1} ms > {} ms", g.max_latency_ms));
        }
    }
    for guard in &g.events {
        match guard {
            // Counts need no sample size: one adverse event too many is a breach.
            EventGuard::Max { event, max } => {
                let n = h.events.get(event).copied().unwrap_or(0);
                if n > *max {
                    breaches.push(format!("{event} happened {n} times > {max}"));
                }
            }
            EventGuard::Rate { event, percent } if enough && h.evaluations > 0 => {
                let n = h.events.get(event).copied().unwrap_or(0);
                let rate = 100.0 * n as f64 / h.evaluations as f64;
                if rate > *percent {
                    breaches.push(format!("{event} rate {rate:.2}% > {percent}%"));
                }
            }
            EventGuard::Rate { .. } => {}
        }
    }
    Judgement {
        figures: Figures {
            evaluations: h.evaluations,
            samples: h.samples(),
            error_rate: h.error_rate(),
            success_rate: h.success_rate(),
            latency_mean_ms: h.latency.mean(),
            events: h.events.clone(),
            best_execution: Vec::new(),
        },
        breaches,
        enough_samples: enough,
    }
}
