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

fn delta(a: &Value, b: &Value) -> Option<f64> {
    match (a.as_f64(), b.as_f64()) {
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
    let evaluations = m["total_evaluations"].as_f64().unwrap_or(0.0);

    let mut by_variant = BTreeMap::new();
    for (name, v) in m["variants"].as_object().into_iter().flatten() {
        let count = v["count"].as_f64().unwrap_or(0.0);
        by_variant.insert(
            name.clone(),
            VariantAdoption {
                evaluations: v["count"].as_u64().unwrap_or(0),
                share_percent: ratio(count, evaluations),
                unique_units: v["unique_units"].as_f64().unwrap_or(0.0),
                success_rate: v["success_rate"].as_f64(),
                latency_mean_ms: v["latency_mean_ms"].as_f64(),
            },
        );
    }

    // Each tracked event per variant, and how the variant compares with the control.
    let control = FlagDoc(doc).off_variant();
    let mut events = BTreeMap::new();
    for (event, per_variant) in m["outcomes"].as_object().into_iter().flatten() {
        let base = control.and_then(|c| per_variant.get(c));
        let mut variants = BTreeMap::new();
        for (variant, o) in per_variant.as_object().into_iter().flatten() {
            let vs_control = base
                .filter(|_| Some(variant.as_str()) != control)
                .map(|base| VsControl {
                    value_mean: delta(&o["value_mean"], &base["value_mean"]),
                    success_rate: delta(&o["success_rate"], &base["success_rate"]),
                });
            let shown = EventOutcome {
                count: o["count"].as_u64().unwrap_or(0),
                value_mean: o["value_mean"].as_f64(),
                success_rate: o["success_rate"].as_f64(),
                latency_mean_ms: o["latency_mean_ms"].as_f64(),
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

    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(FlagInsights {
        flag: key.into(),
        environment: env.into(),
        days,
        from: text(&m["from"]),
        to: text(&m["to"]),
        performance: Performance {
            evaluations: m["total_evaluations"].as_u64().unwrap_or(0),
            evaluations_per_day: (evaluations / f64::from(days)).round(),
            error_rate: m["error_rate"].as_f64(),
            success_rate: m["success_rate"].as_f64(),
            avg_response_time_ms: m["avg_response_time_ms"].as_f64(),
            p95_response_time_ms: m["p95_response_time_ms"].as_f64(),
        },
        adoption: Adoption {
            unique_units: m["unique_units"].as_f64().unwrap_or(0.0),
            by_variant,
            geography: serde_json::from_value(m["geography"].clone()).unwrap_or_default(),
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
