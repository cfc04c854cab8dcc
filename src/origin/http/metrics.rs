//! Metrics: the ingest of edges' and pages' batches, and a flag's metrics report.

use super::caller::Reader;
use super::error::{ApiError, ApiResult};
use super::extract::{Body, Params, Segs};
use super::App;
use crate::origin::api::metrics::{BatchAnswer, FlagMetrics};
use crate::origin::auth;
use crate::origin::ops_metrics::BatchOutcome;
use crate::origin::{edge_metrics, OriginError};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct BeaconQuery {
    key: Option<String>,
}

/// `POST /metrics`: a batch from an edge or a page. Browsers' `sendBeacon` cannot set
/// headers, so an SDK key (never a token) may come as `?key=`. An implausible batch
/// is refused (422) and counted against the key.
pub(super) async fn metrics_ingest(
    State(app): State<App>,
    mut headers: HeaderMap,
    Params(q): Params<BeaconQuery>,
    Body(batch): Body<crate::metrics::Batch>,
) -> ApiResult<Json<BatchAnswer>> {
    if let Some(key) = q.key {
        if !auth::is_sdk_secret(&key) {
            return Err(ApiError(OriginError::BadRequest(
                "only SDK keys may be passed as `?key=`; send tokens in the Authorization header"
                    .into(),
            )));
        }
        let value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            ApiError(OriginError::BadRequest(
                "`key` is not a valid SDK key".into(),
            ))
        })?;
        headers.insert(header::AUTHORIZATION, value);
    }
    let out = app
        .as_caller(&headers, move |origin, who| {
            match origin.write(|op| edge_metrics::ingest(op, &who, batch)) {
                Err(OriginError::Implausible(why)) => {
                    origin.write(|op| edge_metrics::count_reject(op, &who, &why))?;
                    Err(OriginError::Implausible(why))
                }
                other => other,
            }
        })
        .await;
    app.ops.batch(match &out {
        Ok(answer) if answer.is_duplicate() => BatchOutcome::Duplicate,
        Ok(_) => BatchOutcome::Accepted,
        Err(_) => BatchOutcome::Rejected,
    });
    app.wake.notify_one();
    out.map(Json)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct MetricsQuery {
    env: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub(super) fn time_param(name: &str, text: Option<&str>, default: i64) -> Result<i64, OriginError> {
    match text {
        None => Ok(default),
        Some(t) => crate::engine::time::parse_rfc3339_ms(t).ok_or_else(|| {
            OriginError::BadRequest(format!("`{name}` {t:?} is not an RFC 3339 time"))
        }),
    }
}

pub(super) async fn flag_metrics(
    State(app): State<App>,
    who: Reader,
    Segs(key): Segs<String>,
    Params(q): Params<MetricsQuery>,
) -> ApiResult<Json<FlagMetrics>> {
    let env = q.env.clone().ok_or_else(|| {
        ApiError(OriginError::BadRequest(
            "`env` (the environment) is required".into(),
        ))
    })?;
    app.read(&who, move |op| {
        let to = time_param("to", q.to.as_deref(), op.now_ms + 1)?;
        let from = time_param("from", q.from.as_deref(), to - 86_400_000)?;
        if from >= to {
            return Err(OriginError::BadRequest("`from` must be before `to`".into()));
        }
        edge_metrics::flag_report(op.db, &env, &key, from, to)
    })
    .await
}
