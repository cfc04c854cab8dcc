//! Human summaries of the origin's answers: changes, metrics, rollouts.

use super::api::shown;
use vexil::origin::api::{Change, FlagMetrics, Rollout};

/// One line for a change, then what it waits for or what stopped it.
pub fn print_change(c: &Change) {
    let target = c.target().unwrap_or("?");
    let status = c.status.as_str();
    let head = format!(
        "change #{} {}: {} `{target}` in {}",
        c.id, status, c.kind, c.environment
    );
    match status {
        "applied" => println!(
            "{head} (revision {}, snapshot v{})",
            shown(c.applied.as_ref().map(|a| a.revision)),
            shown(c.applied.as_ref().and_then(|a| a.snapshot_version))
        ),
        _ => println!("{head}"),
    }
    for r in &c.required {
        let by = r
            .approved_by
            .as_ref()
            .map_or("waiting".to_string(), |b| format!("approved by {b}"));
        // Why, when the current version (or a flag using a segment) requires it.
        let note = r.note.as_ref().map_or(String::new(), |n| format!("; {n}"));
        println!("  needs {} ({}{note}): {by}", r.role, r.policy);
    }
    if let (Some(at), "pending") = (&c.apply_at, status) {
        println!("  scheduled: applies at {at} once approved (cancel with `vexil changes cancel`)");
    }
    if let Some(level) = c.oversight_level {
        println!("  clinical oversight level {level}");
    }
    if let Some(r) = &c.rejection {
        println!("  rejected by {}: {}", r.by, r.comment);
    }
    if let Some(why) = &c.conflict {
        println!("  conflict: {why}");
    }
    for v in c.blocked.iter().flatten() {
        println!("  held back by {}: {}", v.policy, v.message);
    }
}

/// A flag's metrics report: its totals, then one line per variant.
pub fn print_metrics(m: &FlagMetrics) {
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x}%"));
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x} ms"));
    println!("{} in {}, {} to {}", m.flag, m.environment, m.from, m.to);
    println!("  evaluations        {}", m.total_evaluations);
    println!("  error rate         {}", pct(m.error_rate));
    println!("  success rate       {}", pct(m.success_rate));
    println!(
        "  response time      mean {}, p95 {}",
        ms(m.avg_response_time_ms),
        ms(m.p95_response_time_ms)
    );
    println!("  unique units       {}", shown(m.unique_units));
    for (name, v) in &m.variants {
        println!(
            "  variant {name:<10} {} evaluations, {} units, outcome errors {}, reasons {}",
            v.count,
            shown(v.unique_units),
            pct(v.outcome_error_rate),
            serde_json::to_string(&v.reasons).unwrap_or_default()
        );
    }
    if !m.geography.is_empty() {
        let list: Vec<String> = m
            .geography
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("  geography          {}", list.join(", "));
    }
}

/// A rollout: its stage, guards' last check, metrics sources and history.
pub fn print_rollout(r: &Rollout) {
    let stages: Vec<String> = r.stages.iter().map(shown).collect();
    println!(
        "rollout #{} of {} in {}: {} — stage {} of {} ({}%), variant {}",
        r.id,
        r.flag,
        r.environment,
        r.status,
        r.stage,
        stages.len(),
        shown(r.percentage),
        r.variant
    );
    println!(
        "  stages {} (from {}%), each {} s",
        stages.join(" → "),
        shown(r.start_percentage),
        r.stage_duration_ms / 1000
    );
    if let Some(at) = &r.stage_ends_at {
        println!("  this stage may advance from {at}");
    }
    if let Some(c) = &r.last_check {
        let f = &c.figures;
        println!(
            "  last check {}: {} evaluations, {} samples, error rate {}, success rate {}, latency {}",
            c.at, f.evaluations, f.samples, shown(f.error_rate), shown(f.success_rate),
            shown(f.latency_mean_ms)
        );
        for b in &f.best_execution {
            let interval = match b.interval {
                Some([low, high]) => format!("interval [{}, {}]", shown(low), shown(high)),
                None => "no interval yet".into(),
            };
            // No values yet: no mean (not a missing field).
            let mean = |v: Option<f64>| v.map_or("none".to_string(), shown);
            println!(
                "  best execution {}: control {} ({} values), treatment {} ({} values), {interval} against {} tolerated: {}",
                b.event, mean(b.control_mean), b.control_n, mean(b.treatment_mean),
                b.treatment_n, shown(b.tolerance), shown(b.decision)
            );
        }
        for b in &c.breaches {
            println!("  breach: {b}");
        }
    }
    for k in &r.metrics_keys {
        println!(
            "  metrics from SDK key #{} {} ({}): {} batches, {} evaluations, {} samples{}",
            k.id,
            k.name,
            k.kind,
            k.batches,
            k.evaluations,
            k.samples,
            if k.counted {
                ""
            } else {
                " — not counted (client key)"
            }
        );
    }
    for h in &r.history {
        let reason = h
            .details
            .as_ref()
            .and_then(|d| d.reason())
            .map_or(String::new(), |r| format!(": {r}"));
        let counted: Vec<String> = h
            .details
            .as_ref()
            .map_or(&[][..], |d| d.keys())
            .iter()
            .filter(|k| k.counted)
            .map(|k| format!("#{} {}", k.id, k.name))
            .collect();
        let keys = if counted.is_empty() {
            String::new()
        } else {
            format!(" (on metrics of {})", counted.join(", "))
        };
        println!("  {} {}{reason}{keys}", h.at, h.event);
    }
}
