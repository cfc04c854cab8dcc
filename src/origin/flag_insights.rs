//! One flag's insights report (the seed's `generate_flag_insights`): performance,
//! adoption, business impact per variant against the control, lifecycle, and the
//! recommendations with their reasons, over the last N days of edge metrics.

use super::api::{
    Adoption, BusinessImpact, EventOutcome, FlagInsights, Lifecycle, Performance, Recommendation,
    VariantAdoption, VsControl,
};
use super::{edge_metrics, publish, reports, Op, OriginError};
use crate::engine::edit::FlagDoc;
use serde_json::Value;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// The longest window a report covers.
pub const MAX_DAYS: u32 = 90;

fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| (1000.0 * part / whole).round() / 10.0)
}

fn delta(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(((a - b) * 1000.0).round() / 1000.0),
        _ => None,
    }
}

/// The report for flag `key` in `env` over the last `days` days.
pub fn report(op: &Op<'_>, env: &str, key: &str, days: u32) -> Result<FlagInsights, OriginError> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(OriginError::BadRequest(format!(
            "`days` must be 1 to {MAX_DAYS}, not {days}"
        )));
    }
    let state = publish::load_state(op.db, env)?;
    let row = state
        .flags
        .get(key)
        .ok_or_else(|| OriginError::NotFound(format!("no flag `{key}` in `{env}`")))?;
    let doc = &row.document;
    let from = op.now_ms - i64::from(days) * DAY_MS;
    let m = edge_metrics::flag_report(op.db, env, key, from, op.now_ms + 1)?;
    let evaluations = m.total_evaluations as f64;

    let by_variant = m
        .variants
        .iter()
        .map(|(name, v)| {
            let adoption = VariantAdoption {
                evaluations: v.count,
                share_percent: ratio(v.count as f64, evaluations),
                unique_units: v.unique_units,
                success_rate: v.success_rate,
                latency_mean_ms: v.latency_mean_ms,
            };
            (name.clone(), adoption)
        })
        .collect();

    // Each tracked event per variant, and how the variant compares with the control.
    let control = FlagDoc(doc).off_variant();
    let mut events = BTreeMap::new();
    for (event, per_variant) in &m.outcomes {
        let base = control.and_then(|c| per_variant.get(c));
        let mut variants = BTreeMap::new();
        for (variant, o) in per_variant {
            let vs_control = base
                .filter(|_| Some(variant.as_str()) != control)
                .map(|base| VsControl {
                    value_mean: delta(o.value_mean, base.value_mean),
                    success_rate: delta(o.success_rate, base.success_rate),
                });
            let shown = EventOutcome {
                count: o.count,
                value_mean: o.value_mean,
                success_rate: o.success_rate,
                latency_mean_ms: o.latency_mean_ms,
                vs_control,
            };
            variants.insert(variant.clone(), shown);
        }
        events.insert(event.clone(), variants);
    }

    let expires_ms = doc
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(crate::engine::time::parse_rfc3339_ms);
    let state_name = if row.archived {
        "archived"
    } else if !FlagDoc(doc).enabled() {
        "disabled"
    } else if expires_ms.is_some_and(|at| at <= op.now_ms) {
        "expired"
    } else {
        "active"
    };
    let created_at = super::audit::list(
        op.db,
        &super::audit::Filter {
            environment: Some(env.into()),
            flag: Some(key.into()),
            limit: Some(1),
            ..Default::default()
        },
    )?
    .into_iter()
    .next()
    .map(|l| l.entry.at);

    let recommendations = reports::insights(op, Some(env), Some(key))?
        .insights
        .into_iter()
        .map(|i| Recommendation {
            kind: i.kind,
            reason: i.message,
            recommendation: i.recommendation,
        })
        .collect();

    Ok(FlagInsights {
        flag: key.into(),
        environment: env.into(),
        days,
        from: m.from,
        to: m.to,
        performance: Performance {
            evaluations: m.total_evaluations,
            evaluations_per_day: (evaluations / f64::from(days)).round(),
            error_rate: m.error_rate,
            success_rate: m.success_rate,
            avg_response_time_ms: m.avg_response_time_ms,
            p95_response_time_ms: m.p95_response_time_ms,
        },
        adoption: Adoption {
            unique_units: m.unique_units,
            by_variant,
            geography: m.geography,
        },
        business_impact: BusinessImpact {
            control: control.map(str::to_string),
            events,
        },
        lifecycle: Lifecycle {
            state: state_name.into(),
            revision: row.revision,
            created_at,
            last_changed_at: row.updated_at.clone(),
            last_changed_by: row.updated_by.clone(),
            days_since_change: (op.now_ms - row.updated_at_ms) / DAY_MS,
            expires_at: doc
                .get("expires_at")
                .and_then(Value::as_str)
                .map(str::to_string),
            expires_in_days: expires_ms.map(|at| (at - op.now_ms).div_euclid(DAY_MS)),
        },
        recommendations,
    })
}
