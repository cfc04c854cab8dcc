//! Published snapshots: the newest (with ETag and caching), the history, and one version.

use super::caller::Reader;
use super::error::{ApiError, ApiResult};
use super::extract::{bearer, Segs};
use super::App;
use crate::origin::api::SnapshotList;
use crate::origin::auth;
use crate::origin::publish;
use crate::origin::OriginError;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

/// The newest published snapshot of `env` for a caller allowed to read it: anyone when
/// snapshots are public, otherwise a token or SDK key for that environment. `verb`
/// names the refused action in the error ("`key` may not {verb} `env`").
pub(super) async fn latest_for_reader(
    app: &App,
    headers: &HeaderMap,
    env: &str,
    verb: &'static str,
) -> Result<Option<publish::Published>, ApiError> {
    let secret = if app.origin.config.public_snapshots {
        None
    } else {
        Some(bearer(headers)?)
    };
    let env = env.to_string();
    app.blocking(move |origin| {
        origin.read(|op| {
            if let Some(secret) = secret {
                let who = auth::authenticate(op.db, &secret)?;
                if !who.can_read_snapshot(&env) {
                    return Err(OriginError::Forbidden(format!(
                        "`{}` may not {verb} `{env}`",
                        who.name
                    )));
                }
            }
            publish::require_environment(op.db, &env)?;
            publish::latest(op.db, &env)
        })
    })
    .await
}

pub(super) async fn snapshot(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
) -> Result<Response, ApiError> {
    let public = app.origin.config.public_snapshots;
    let max_age = app.origin.config.snapshot_max_age;
    let latest = latest_for_reader(&app, &headers, &env, "read the snapshot of")
        .await?
        .ok_or_else(|| {
            ApiError(OriginError::NotFound(format!(
                "`{env}` has no snapshot yet"
            )))
        })?;
    let cache = if public {
        format!("public, max-age={max_age}, stale-while-revalidate=60, stale-if-error=86400")
    } else {
        "private, no-cache".to_string()
    };
    let mut response_headers = HeaderMap::new();
    let etag = HeaderValue::from_str(&latest.etag).map_err(|_| {
        ApiError(OriginError::Internal(
            "stored ETag is not a header value".into(),
        ))
    })?;
    response_headers.insert(header::ETAG, etag);
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&cache).unwrap_or(HeaderValue::from_static("no-cache")),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
    response_headers.insert(
        "x-vexil-snapshot-version",
        HeaderValue::from(latest.version),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == latest.etag || t.trim() == "*")
        });
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((StatusCode::OK, response_headers, latest.envelope).into_response())
}

pub(super) async fn snapshots(
    State(app): State<App>,
    who: Reader,
    Segs(env): Segs<String>,
) -> ApiResult<Json<SnapshotList>> {
    app.read(&who, move |op| publish::history(op.db, &env, 100))
        .await
}

pub(super) async fn snapshot_version(
    State(app): State<App>,
    _who: Reader,
    Segs((env, version)): Segs<(String, u64)>,
) -> Result<Response, ApiError> {
    let envelope = app
        .blocking(move |origin| origin.read(|op| publish::at_version(op.db, &env, version)))
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        envelope.envelope,
    )
        .into_response())
}

/// A published snapshot's payload as a flags document (what `vexil snapshot
/// inspect` prints), for reading what edges of that version evaluate.
pub(super) async fn snapshot_document(
    State(app): State<App>,
    _who: Reader,
    Segs((env, version)): Segs<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    let envelope = app
        .blocking(move |origin| origin.read(|op| publish::at_version(op.db, &env, version)))
        .await?;
    let snapshot = crate::snapshot::open_signed(envelope.envelope.as_bytes())
        .map_err(|e| ApiError::from(OriginError::Internal(format!("stored snapshot: {e}"))))?;
    Ok(Json(snapshot.to_document()))
}
