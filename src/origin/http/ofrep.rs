//! OFREP (`/ofrep/v1`): single and bulk evaluation with SDK keys, and the configuration.

use super::error::ApiError;
use super::extract::{bearer, Segs};
use super::{App, MAX_BODY};
use crate::origin::api::OfrepConfiguration;
use crate::origin::auth::Principal;
use crate::origin::OriginError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

fn ofrep_json(status: u16, body: Value, extra: &[(header::HeaderName, String)]) -> Response {
    ofrep_text(status, body.to_string(), extra)
}

/// An OFREP answer already written as JSON text.
fn ofrep_text(status: u16, body: String, extra: &[(header::HeaderName, String)]) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name.clone(), v);
        }
    }
    response
}

fn ofrep_error(e: OriginError) -> Response {
    let status = match &e {
        OriginError::Unauthorized(_) => 401,
        OriginError::Forbidden(_) => 403,
        OriginError::NotFound(_) => 404,
        OriginError::BadRequest(_) => 400,
        _ => 500,
    };
    ofrep_json(status, json!({ "errorDetails": e.to_string() }), &[])
}

/// The SDK key of an OFREP request (`Authorization: Bearer` or `X-API-Key`).
fn ofrep_key(headers: &HeaderMap) -> Result<String, OriginError> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Ok(k.trim().to_string());
    }
    bearer(headers)
}

/// OFREP's JSON error for a body that could not be read: 413 for one over
/// [`MAX_BODY`] (`key` is the flag of a single evaluation).
fn ofrep_body_error(e: axum::extract::rejection::BytesRejection, key: Option<&str>) -> Response {
    let (status, details) = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        (413, format!("the body is larger than {MAX_BODY} bytes"))
    } else {
        (400, format!("cannot read the body: {e}"))
    };
    let mut answer = json!({ "errorCode": "GENERAL", "errorDetails": details });
    if let Some(key) = key {
        answer["key"] = json!(key);
    }
    ofrep_json(status, answer, &[])
}

/// The `context` of an OFREP body, or the OFREP failure to answer.
fn ofrep_context(body: &[u8]) -> Result<Value, (&'static str, String)> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| ("PARSE_ERROR", format!("the body is not JSON: {e}")))?;
    match parsed.get("context") {
        Some(c) if c.is_object() => Ok(c.clone()),
        _ => Err((
            "INVALID_CONTEXT",
            "the body must be {\"context\": {...}}".to_string(),
        )),
    }
}

/// What an OFREP request evaluates with: the key, its environment, the snapshot.
struct OfrepCall {
    who: Principal,
    env: String,
    version: u64,
    snapshot: Arc<crate::engine::Snapshot>,
    now: i64,
}

/// Authenticates, rate-limits and loads the environment's snapshot.
async fn ofrep_prepare(app: &App, headers: &HeaderMap) -> Result<OfrepCall, Response> {
    let secret = ofrep_key(headers).map_err(ofrep_error)?;
    let state = app.ofrep.clone();
    let out = app
        .blocking(move |origin| {
            origin.read(|op| {
                let (who, env) = crate::origin::ofrep::environment_of(op.db, &secret)?;
                if let Err(wait) = state.1.take(who.id, op.now_ms) {
                    return Ok(Err(wait));
                }
                let (version, snapshot) = state.0.current(op.db, &env)?;
                Ok(Ok(OfrepCall {
                    who,
                    env,
                    version,
                    snapshot,
                    now: op.now_ms,
                }))
            })
        })
        .await
        .map_err(|ApiError(e)| ofrep_error(e))?;
    out.map_err(|wait| {
        ofrep_json(
            429,
            json!({ "errorDetails": format!("rate limit exceeded; retry in {wait} s") }),
            &[(header::RETRY_AFTER, wait.to_string())],
        )
    })
}

/// Counts `results` as the key's metrics and, when one is audited, commits its
/// audit entry before the answer leaves (as the SDK path audits through ingest).
async fn ofrep_record(
    app: &App,
    call: &OfrepCall,
    context: &Value,
    results: &[crate::engine::Details],
) {
    let state = app.ofrep.clone();
    let audited = state.2.record(crate::origin::ofrep_metrics::Evaluation {
        who: &call.who,
        env: &call.env,
        version: call.version,
        snapshot: &call.snapshot,
        context,
        results,
        now_ms: call.now,
    });
    if audited {
        let key = call.who.id;
        let flushed = app
            .blocking(move |origin| state.2.flush(origin, Some(key)))
            .await;
        if let Err(ApiError(e)) = flushed {
            // Kept for the next scheduler pass, which retries.
            crate::origin::log(format_args!("OFREP evaluation audit deferred: {e}"));
        }
    }
}

pub(super) async fn ofrep_single(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(key): Segs<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let call = match ofrep_prepare(&app, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return ofrep_body_error(e, Some(&key)),
    };
    let context = match ofrep_context(&body) {
        Ok(c) => c,
        Err((code, details)) => {
            return ofrep_json(
                400,
                json!({ "key": key, "errorCode": code, "errorDetails": details }),
                &[],
            )
        }
    };
    let d = call
        .snapshot
        .details_for_context(&key, &context, Value::Null, None, call.now);
    ofrep_record(&app, &call, &context, std::slice::from_ref(&d)).await;
    let (status, answer) = crate::origin::ofrep::single(&d);
    ofrep_text(status, answer, &[])
}

pub(super) async fn ofrep_bulk(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let call = match ofrep_prepare(&app, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return ofrep_body_error(e, None),
    };
    let context = match ofrep_context(&body) {
        Ok(c) => c,
        Err((code, details)) => {
            return ofrep_json(
                400,
                json!({ "errorCode": code, "errorDetails": details }),
                &[],
            )
        }
    };
    let (answer, etag, results) =
        crate::origin::ofrep::bulk(&call.snapshot, call.version, &call.env, &context, call.now);
    // Counted even when answered 304: the caller serves these values again.
    ofrep_record(&app, &call, &context, &results).await;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return r;
    }
    ofrep_text(200, answer, &[(header::ETAG, etag)])
}

pub(super) async fn ofrep_configuration() -> Json<OfrepConfiguration> {
    Json(crate::origin::ofrep::configuration())
}
