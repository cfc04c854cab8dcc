//! The HTTP API (`/api/v1`, see `docs/api.md`): thin handlers that authenticate,
//! check the role, and run one origin operation on a blocking thread.

use super::auth::{self, Principal};
use super::changes::{self, BulkOperation, Proposal};
use super::publish::{self, EnvState};
use super::{audit, edge_metrics, reports, rollouts, scheduled, webhooks, Op, Origin, OriginError};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct App {
    /// The origin.
    pub origin: Arc<Origin>,
    /// Wakes the webhook deliverer after a write.
    pub wake: Arc<Notify>,
    /// Real-time events.
    pub events: super::events::Hub,
    /// OFREP: compiled snapshots, the rate limiter, and the keys' metrics.
    pub ofrep: Arc<(
        super::ofrep::Snapshots,
        super::ofrep::RateLimiter,
        super::ofrep_metrics::OfrepMetrics,
    )>,
}

/// An error answer: `{"error": {"code", "message", "details"?}}`.
#[derive(Debug)]
pub struct ApiError(pub OriginError);

impl From<OriginError> for ApiError {
    fn from(e: OriginError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let message = e.to_string();
        let (status, code, details) = match &e {
            OriginError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", None),
            OriginError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            OriginError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            OriginError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            OriginError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            OriginError::Invalid(issues) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some(json!(issues
                    .iter()
                    .map(|i| json!({ "path": i.path, "message": i.message }))
                    .collect::<Vec<_>>())),
            ),
            OriginError::Policy(v) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "policy_violation",
                Some(json!(v)),
            ),
            OriginError::Implausible(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "implausible_batch", None)
            }
            OriginError::BulkFailed(report) => {
                let mut body = report.clone();
                body["error"] = json!({ "code": "bulk_failed", "message": message });
                return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
            }
            OriginError::Config(_)
            | OriginError::Io(_)
            | OriginError::Db(_)
            | OriginError::AuditBroken(_)
            | OriginError::Internal(_) => {
                super::log(format_args!("error: {message}"));
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(details) = details {
            error["details"] = details;
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult<T = Json<Value>> = Result<T, ApiError>;

/// A JSON body, decoded with the path of any problem; an empty body reads as `{}`.
pub struct Body<T>(pub T);

/// The answer to a body over [`MAX_BODY`]: 413 `too_large`.
fn too_large() -> Response {
    let message = format!("the body is larger than {MAX_BODY} bytes");
    let body = json!({ "error": { "code": "too_large", "message": message } });
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError(OriginError::BadRequest(format!(
                    "cannot read the body: {e}"
                )))
                .into_response()
            }
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let de = &mut serde_json::Deserializer::from_slice(text);
        serde_path_to_error::deserialize(de).map(Body).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let at = if path == "." {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            ApiError(OriginError::BadRequest(format!(
                "invalid JSON body{at}: {inner}"
            )))
            .into_response()
        })
    }
}

/// Query parameters, with a JSON error when they do not parse.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e| {
                ApiError(OriginError::BadRequest(format!(
                    "bad query parameters: {}",
                    e.body_text()
                )))
            })
    }
}

/// Path parameters, with a JSON error when they do not parse.
pub struct Segs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Segs(v))
            .map_err(|e| {
                ApiError(OriginError::BadRequest(format!(
                    "bad path: {}",
                    e.body_text()
                )))
            })
    }
}

fn bearer(headers: &HeaderMap) -> Result<String, OriginError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        OriginError::Unauthorized("missing `Authorization: Bearer <token>`".into())
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OriginError::Unauthorized("`Authorization` must be `Bearer <token>`".into()))
}

impl App {
    /// Runs `f` on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Origin) -> Result<T, OriginError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let origin = self.origin.clone();
        tokio::task::spawn_blocking(move || f(&origin))
            .await
            .map_err(|e| {
                ApiError(OriginError::Internal(format!(
                    "a request handler failed: {e}"
                )))
            })?
            .map_err(ApiError)
    }

    /// Authenticates, then runs `f` with the caller on a blocking thread.
    async fn as_caller<T: Send + 'static>(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&Origin, Principal) -> Result<T, OriginError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let secret = bearer(headers)?;
        self.blocking(move |origin| {
            let who = origin.read(|op| auth::authenticate(op.db, &secret))?;
            f(origin, who)
        })
        .await
    }

    /// A read by any token with a role.
    async fn read(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&Op<'_>) -> Result<Value, OriginError> + Send + 'static,
    ) -> ApiResult {
        self.as_caller(headers, move |origin, who| {
            who.require_read()?;
            origin.read(f)
        })
        .await
        .map(Json)
    }

    /// A write; `check` decides whether the caller may make it.
    async fn write(
        &self,
        headers: &HeaderMap,
        check: fn(&Principal) -> Result<(), OriginError>,
        f: impl FnOnce(&Op<'_>, &Principal) -> Result<Value, OriginError> + Send + 'static,
    ) -> ApiResult {
        let out = self
            .as_caller(headers, move |origin, who| {
                check(&who)?;
                origin.write(|op| f(op, &who))
            })
            .await;
        self.wake.notify_one();
        out.map(Json)
    }

    /// A read only admins may make.
    async fn admin_read(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&Op<'_>) -> Result<Value, OriginError> + Send + 'static,
    ) -> ApiResult {
        self.as_caller(headers, move |origin, who| {
            who.require_admin()?;
            origin.read(f)
        })
        .await
        .map(Json)
    }

    /// An admin's write, recorded in the audit log as `action` on `subject` with the
    /// details `f` returns beside its answer.
    async fn admin(
        &self,
        headers: &HeaderMap,
        action: &'static str,
        subject: &'static str,
        f: impl FnOnce(&Op<'_>) -> Result<(Value, Value), OriginError> + Send + 'static,
    ) -> ApiResult {
        self.write(headers, Principal::require_admin, move |op, who| {
            let (answer, details) = f(op)?;
            audit::record(op, &who.name, action, subject, details)?;
            Ok(answer)
        })
        .await
    }

    /// A change proposed by an editor, built from the environment's state.
    async fn propose(
        &self,
        headers: &HeaderMap,
        env: String,
        reason: Option<String>,
        build: impl FnOnce(&Op<'_>, &EnvState) -> Result<Proposal, OriginError> + Send + 'static,
    ) -> ApiResult {
        self.write(headers, Principal::require_edit, move |op, who| {
            let state = publish::load_state(op.db, &env)?;
            let mut p = build(op, &state)?;
            p.reason = reason.filter(|r| !r.trim().is_empty());
            changes::submit_and_publish(op, who, p)
        })
        .await
    }
}

fn created(result: ApiResult) -> Result<(StatusCode, Json<Value>), ApiError> {
    result.map(|body| (StatusCode::CREATED, body))
}

// ---- Handlers ---------------------------------------------------------------------

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn keys(State(app): State<App>) -> Json<Value> {
    let now = app.origin.now_ms();
    let keys = app.origin.keys.lock().unwrap_or_else(|p| p.into_inner());
    Json(keys.public_listing(now))
}

async fn whoami(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    app.as_caller(&headers, |_, who| Ok(json!(who)))
        .await
        .map(Json)
}

async fn policies(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    app.read(&headers, |op| {
        let g = &op.config.governance;
        let hours = g.trading_hours.as_ref().map(|h| {
            json!({ "weekdays": h.weekdays,
                    "open": format!("{:02}:{:02}", h.open_minute / 60, h.open_minute % 60),
                    "close": format!("{:02}:{:02}", h.close_minute / 60, h.close_minute % 60) })
        });
        Ok(json!({
            "policies": super::governance::POLICIES,
            "config": { "naming": g.naming.as_str(), "trading_hours": hours, "min_retention_days": g.min_retention_days },
        }))
    })
    .await
}

async fn environments(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    app.read(&headers, |op| reports::environments(op.db)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEnvironment {
    name: String,
}

async fn create_environment(
    State(app): State<App>,
    headers: HeaderMap,
    Body(body): Body<NewEnvironment>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    created(
        app.write(&headers, Principal::require_admin, move |op, who| {
            publish::create_environment(op, &who.name, &body.name)
        })
        .await,
    )
}

/// The newest published snapshot of `env` for a caller allowed to read it: anyone when
/// snapshots are public, otherwise a token or SDK key for that environment. `verb`
/// names the refused action in the error ("`key` may not {verb} `env`").
async fn latest_for_reader(
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

/// `GET /environments/{env}/events`: server-sent events, `snapshot` (a new version)
/// and `kill` (a flag was disabled), starting with the current version.
async fn events(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    use futures_util::StreamExt as _;
    let current = latest_for_reader(&app, &headers, &env, "follow")
        .await?
        .map_or(0, |p| p.version);
    let receiver = app.events.subscribe();
    let first = super::events::Event {
        kind: "snapshot",
        environment: env.clone(),
        version: current,
        flag: None,
        reason: None,
    };
    let to_sse = |e: super::events::Event| {
        Ok::<_, std::convert::Infallible>(
            SseEvent::default()
                .event(e.kind)
                .data(serde_json::to_string(&e).unwrap_or_default()),
        )
    };
    let initial = futures_util::stream::once(std::future::ready(to_sse(first)));
    let updates = futures_util::stream::unfold((receiver, env), move |(mut rx, env)| async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match rx.recv().await {
                Ok(e) if e.environment == env => return Some((to_sse(e), (rx, env))),
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(initial.chain(updates))
        .keep_alive(KeepAlive::default())
        .into_response())
}

async fn snapshot(
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

async fn snapshots(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
) -> ApiResult {
    app.read(&headers, move |op| publish::history(op.db, &env, 100))
        .await
}

async fn snapshot_version(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, version)): Segs<(String, u64)>,
) -> Result<Response, ApiError> {
    let envelope = app
        .as_caller(&headers, move |origin, who| {
            who.require_read()?;
            origin.read(|op| publish::at_version(op.db, &env, version))
        })
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        envelope.envelope,
    )
        .into_response())
}

/// A published snapshot's payload as a flags document (what `vexil snapshot
/// inspect` prints), for reading what edges of that version evaluate.
async fn snapshot_document(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, version)): Segs<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    let envelope = app
        .as_caller(&headers, move |origin, who| {
            who.require_read()?;
            origin.read(|op| publish::at_version(op.db, &env, version))
        })
        .await?;
    let snapshot = crate::snapshot::open_signed(envelope.envelope.as_bytes())
        .map_err(|e| ApiError::from(OriginError::Internal(format!("stored snapshot: {e}"))))?;
    Ok(Json(snapshot.to_document()))
}

#[derive(Deserialize, Default)]
struct FlagListQuery {
    #[serde(default)]
    archived: bool,
}

async fn flag_list(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
    Params(q): Params<FlagListQuery>,
) -> ApiResult {
    app.read(&headers, move |op| reports::flag_list(op, &env, q.archived))
        .await
}

async fn flag_detail(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
) -> ApiResult {
    app.read(&headers, move |op| reports::flag_detail(op.db, &env, &key))
        .await
}

async fn flag_history(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
) -> ApiResult {
    app.read(&headers, move |op| reports::flag_history(op.db, &env, &key))
        .await
}

async fn audit_report(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
) -> ApiResult {
    app.read(&headers, move |op| reports::audit_report(op, &env, &key))
        .await
}

async fn segments(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
) -> ApiResult {
    app.read(&headers, move |op| {
        let state = publish::load_state(op.db, &env)?;
        Ok(json!({ "segments": state.segments, "exclusion_groups": state.exclusion_groups }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagBody {
    flag: Value,
    reason: Option<String>,
    /// RFC 3339: apply once approved and due (a scheduled change).
    apply_at: Option<String>,
}

async fn flag_create(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
    Body(body): Body<FlagBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let e = env.clone();
    created(
        app.propose(&headers, env, body.reason, move |_, s| {
            scheduled::with_apply_at(changes::create(s, &e, body.flag)?, body.apply_at.as_deref())
        })
        .await,
    )
}

async fn flag_update(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(body): Body<FlagBody>,
) -> ApiResult {
    let e = env.clone();
    app.propose(&headers, env, body.reason, move |_, s| {
        scheduled::with_apply_at(
            changes::update(s, &e, &key, body.flag)?,
            body.apply_at.as_deref(),
        )
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutBody {
    percentage: f64,
    variant: Option<String>,
    rule: Option<String>,
    reason: Option<String>,
    apply_at: Option<String>,
}

async fn flag_rollout(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<RolloutBody>,
) -> ApiResult {
    let e = env.clone();
    app.propose(&headers, env, b.reason, move |_, s| {
        let p = changes::rollout(
            s,
            &e,
            &key,
            b.percentage,
            b.variant.as_deref(),
            b.rule.as_deref(),
        )?;
        scheduled::with_apply_at(p, b.apply_at.as_deref())
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

async fn flag_kill(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    if b.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError(OriginError::BadRequest(
            "the kill switch needs a `reason`".into(),
        )));
    }
    let e = env.clone();
    app.propose(&headers, env, b.reason, move |_, s| {
        changes::kill(s, &e, &key)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    comment: Option<String>,
}

async fn flag_review(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReviewBody>,
) -> ApiResult {
    app.write(&headers, any_token, move |op, who| {
        super::reviews::record(
            op,
            who,
            &env,
            &key,
            b.comment.as_deref().unwrap_or_default(),
        )
    })
    .await
}

async fn flag_enable(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    let e = env.clone();
    app.propose(&headers, env, b.reason, move |_, s| {
        changes::enable(s, &e, &key)
    })
    .await
}

async fn flag_archive(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    let e = env.clone();
    app.propose(&headers, env, b.reason, move |_, s| {
        changes::archive(s, &e, &key)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    to_revision: Option<i64>,
    reason: Option<String>,
}

async fn flag_rollback(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<RollbackBody>,
) -> ApiResult {
    let e = env.clone();
    app.propose(&headers, env, b.reason, move |op, s| {
        changes::rollback(op.db, s, &e, &key, b.to_revision)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentBody {
    clause: Value,
    reason: Option<String>,
    apply_at: Option<String>,
}

async fn segment_set(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, name)): Segs<(String, String)>,
    Body(b): Body<SegmentBody>,
) -> ApiResult {
    let e = env.clone();
    app.propose(&headers, env, b.reason, move |_, s| {
        scheduled::with_apply_at(
            changes::segment(s, &e, &name, Some(b.clause))?,
            b.apply_at.as_deref(),
        )
    })
    .await
}

async fn segment_delete(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, name)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    let e = env.clone();
    app.propose(&headers, env, b.reason, move |_, s| {
        changes::segment(s, &e, &name, None)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GroupBody {
    salt: Option<String>,
    reason: Option<String>,
}

async fn exclusion_group_set(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, name)): Segs<(String, String)>,
    Body(b): Body<GroupBody>,
) -> ApiResult {
    let e = env.clone();
    let definition = match b.salt {
        Some(salt) => json!({ "salt": salt }),
        None => json!({}),
    };
    app.propose(&headers, env, b.reason, move |_, _| {
        changes::exclusion_group(&e, &name, definition)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    updates: Vec<BulkOperation>,
    reason: Option<String>,
}

async fn bulk(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
    Body(b): Body<BulkBody>,
) -> ApiResult {
    app.write(&headers, Principal::require_edit, move |op, who| {
        changes::bulk(
            op,
            who,
            &env,
            &b.updates,
            b.reason.filter(|r| !r.trim().is_empty()),
        )
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteBody {
    flag: String,
    from: String,
    to: String,
    reason: Option<String>,
}

async fn promote(
    State(app): State<App>,
    headers: HeaderMap,
    Body(b): Body<PromoteBody>,
) -> ApiResult {
    let PromoteBody {
        flag,
        from,
        to,
        reason,
    } = b;
    let to2 = to.clone();
    app.propose(&headers, to, reason, move |op, target| {
        let source = publish::load_state(op.db, &from)?;
        changes::promote(&source, &from, target, &to2, &flag)
    })
    .await
}

async fn change_list(
    State(app): State<App>,
    headers: HeaderMap,
    Params(q): Params<changes::ListFilter>,
) -> ApiResult {
    app.read(&headers, move |op| {
        Ok(serde_json::to_value(changes::list(op.db, &q)?)?)
    })
    .await
}

async fn change_get(State(app): State<App>, headers: HeaderMap, Segs(id): Segs<i64>) -> ApiResult {
    app.read(&headers, move |op| changes::get(op.db, id)).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    comment: Option<String>,
    role: Option<String>,
}

fn any_token(who: &Principal) -> Result<(), OriginError> {
    if who.kind == "token" {
        Ok(())
    } else {
        Err(OriginError::Forbidden(
            "SDK keys only read snapshots".into(),
        ))
    }
}

async fn change_approve(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(id): Segs<i64>,
    Body(b): Body<ApproveBody>,
) -> ApiResult {
    app.write(&headers, any_token, move |op, who| {
        changes::approve(op, who, id, b.comment, b.role)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    comment: String,
}

async fn change_reject(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(id): Segs<i64>,
    Body(b): Body<RejectBody>,
) -> ApiResult {
    app.write(&headers, any_token, move |op, who| {
        changes::reject(op, who, id, b.comment)
    })
    .await
}

async fn change_cancel(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(id): Segs<i64>,
) -> ApiResult {
    app.write(&headers, any_token, move |op, who| {
        changes::cancel(op, who, id)
    })
    .await
}

async fn change_apply(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(id): Segs<i64>,
) -> ApiResult {
    app.write(&headers, any_token, move |op, who| {
        changes::retry(op, who, id)
    })
    .await
}

async fn audit_list(
    State(app): State<App>,
    headers: HeaderMap,
    Params(q): Params<audit::Filter>,
) -> ApiResult {
    app.read(&headers, move |op| {
        Ok(serde_json::to_value(audit::page(op.db, &q)?)?)
    })
    .await
}

async fn audit_verify(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    app.read(&headers, |op| {
        match audit::verify_stored(op.db, op.keys.audit_key()) {
            Ok(n) => Ok(json!({ "ok": true, "entries": n })),
            Err(OriginError::AuditBroken(b)) => {
                Ok(json!({ "ok": false, "broken": { "seq": b.seq, "reason": b.reason } }))
            }
            Err(e) => Err(e),
        }
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InsightQuery {
    environment: Option<String>,
}

async fn insights(
    State(app): State<App>,
    headers: HeaderMap,
    Params(q): Params<InsightQuery>,
) -> ApiResult {
    app.read(&headers, move |op| {
        reports::insights(op, q.environment.as_deref())
    })
    .await
}

async fn token_list(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    app.admin_read(&headers, |op| auth::list(op.db)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    roles: Vec<String>,
}

async fn token_create(
    State(app): State<App>,
    headers: HeaderMap,
    Body(b): Body<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    created(
        app.admin(&headers, "token.created", "tokens", move |op| {
            let made = auth::create_token(op, &b.name, &b.roles)?;
            let details = json!({ "id": made.id, "name": made.name, "roles": made.roles });
            Ok((json!(made), details))
        })
        .await,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSdkKey {
    name: String,
    environment: String,
    /// `client` or `server` (the default, as keys were before kinds existed).
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SdkKeyQuery {
    environment: Option<String>,
}

async fn sdk_key_list(
    State(app): State<App>,
    headers: HeaderMap,
    Params(q): Params<SdkKeyQuery>,
) -> ApiResult {
    app.admin_read(&headers, move |op| {
        auth::list_sdk_keys(op.db, q.environment.as_deref())
    })
    .await
}

async fn sdk_key_create(
    State(app): State<App>,
    headers: HeaderMap,
    Body(b): Body<NewSdkKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    created(
        app.admin(&headers, "sdk_key.created", "tokens", move |op| {
            let kind = auth::SdkKind::parse(b.kind.as_deref().unwrap_or("server"))?;
            let made = auth::create_sdk_key(op, &b.name, &b.environment, kind)?;
            let details = json!({ "id": made.id, "name": made.name, "environment": made.environment,
                                  "sdk_kind": kind.as_str() });
            Ok((json!(made), details))
        })
        .await,
    )
}

async fn token_revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(id): Segs<i64>,
) -> ApiResult {
    app.admin(&headers, "token.revoked", "tokens", move |op| {
        Ok((auth::revoke(op, id)?, json!({ "id": id })))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    overlap: Option<String>,
}

async fn keys_rotate(
    State(app): State<App>,
    headers: HeaderMap,
    Body(b): Body<RotateBody>,
) -> ApiResult {
    let overlap = b
        .overlap
        .map(|text| {
            humantime::parse_duration(&text).map_err(|e| {
                OriginError::BadRequest(format!(
                    "`overlap` {text:?} is not a duration such as 7d: {e}"
                ))
            })
        })
        .transpose()?;
    app.as_caller(&headers, move |origin, who| {
        who.require_admin()?;
        origin.rotate_key(&who.name, overlap)
    })
    .await
    .map(Json)
}

async fn webhook_list(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
) -> ApiResult {
    app.admin_read(&headers, move |op| webhooks::list(op.db, &env))
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    secret: Option<String>,
    #[serde(default)]
    events: Vec<String>,
}

async fn webhook_add(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
    Body(b): Body<NewWebhook>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    created(
        app.admin(&headers, "webhook.added", "webhooks", move |op| {
            let made = webhooks::add(op, &env, &b.url, b.secret, b.events)?;
            let details = json!({ "id": made["id"], "environment": env, "url": made["url"], "events": made["events"] });
            Ok((made, details))
        })
        .await,
    )
}

async fn webhook_remove(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(id): Segs<i64>,
) -> ApiResult {
    app.admin(&headers, "webhook.removed", "webhooks", move |op| {
        Ok((webhooks::remove(op, id)?, json!({ "id": id })))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    webhook: Option<i64>,
    status: Option<String>,
}

async fn webhook_deliveries(
    State(app): State<App>,
    headers: HeaderMap,
    Params(q): Params<DeliveryQuery>,
) -> ApiResult {
    app.admin_read(&headers, move |op| {
        webhooks::deliveries(op.db, q.webhook, q.status.as_deref())
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BeaconQuery {
    key: Option<String>,
}

/// `POST /metrics`: a batch from an edge or a page. Browsers' `sendBeacon` cannot set
/// headers, so an SDK key (never a token) may come as `?key=`. An implausible batch
/// is refused (422) and counted against the key.
async fn metrics_ingest(
    State(app): State<App>,
    mut headers: HeaderMap,
    Params(q): Params<BeaconQuery>,
    Body(batch): Body<crate::metrics::Batch>,
) -> ApiResult {
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
    app.wake.notify_one();
    out.map(Json)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MetricsQuery {
    env: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn time_param(name: &str, text: Option<&str>, default: i64) -> Result<i64, OriginError> {
    match text {
        None => Ok(default),
        Some(t) => crate::engine::time::parse_rfc3339_ms(t).ok_or_else(|| {
            OriginError::BadRequest(format!("`{name}` {t:?} is not an RFC 3339 time"))
        }),
    }
}

async fn flag_metrics(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(key): Segs<String>,
    Params(q): Params<MetricsQuery>,
) -> ApiResult {
    let env = q.env.clone().ok_or_else(|| {
        ApiError(OriginError::BadRequest(
            "`env` (the environment) is required".into(),
        ))
    })?;
    app.read(&headers, move |op| {
        let to = time_param("to", q.to.as_deref(), op.now_ms + 1)?;
        let from = time_param("from", q.from.as_deref(), to - 86_400_000)?;
        if from >= to {
            return Err(OriginError::BadRequest("`from` must be before `to`".into()));
        }
        edge_metrics::flag_report(op.db, &env, &key, from, to)
    })
    .await
}

async fn rollout_start(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((env, key)): Segs<(String, String)>,
    Body(plan): Body<rollouts::Plan>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    created(
        app.write(&headers, Principal::require_edit, move |op, who| {
            rollouts::start(op, who, &env, &key, plan)
        })
        .await,
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RolloutQuery {
    flag: Option<String>,
}

async fn rollout_list(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
    Params(q): Params<RolloutQuery>,
) -> ApiResult {
    app.read(&headers, move |op| {
        rollouts::list(op.db, &env, q.flag.as_deref())
    })
    .await
}

async fn rollout_get(State(app): State<App>, headers: HeaderMap, Segs(id): Segs<i64>) -> ApiResult {
    app.read(&headers, move |op| rollouts::get(op.db, id)).await
}

async fn rollout_control(
    State(app): State<App>,
    headers: HeaderMap,
    Segs((id, action)): Segs<(i64, String)>,
) -> ApiResult {
    if !matches!(action.as_str(), "pause" | "resume" | "abort") {
        return Err(ApiError(OriginError::NotFound(format!(
            "no rollout action `{action}`; actions are pause, resume, abort"
        ))));
    }
    app.write(&headers, Principal::require_edit, move |op, who| {
        rollouts::control(op, who, id, &action)
    })
    .await
}

async fn publish_targets(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    app.admin_read(&headers, |op| super::targets::status(op.db))
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    flag: Value,
}

/// `POST /environments/{env}/validate`: a flag document checked as its create or
/// update would be, without applying anything.
async fn validate_flag(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
    Body(b): Body<ValidateBody>,
) -> ApiResult {
    app.as_caller(&headers, move |origin, who| {
        who.require_edit()?;
        origin.read(|op| {
            let state = publish::load_state(op.db, &env)?;
            let key = changes::document_key(&b.flag)?.to_string();
            let p = if state.flags.contains_key(&key) {
                changes::update(&state, &env, &key, b.flag)?
            } else {
                changes::create(&state, &env, b.flag)?
            };
            changes::dry_run(op, &p)
        })
    })
    .await
    .map(Json)
}

// ---- OFREP ---------------------------------------------------------------------------

fn ofrep_json(status: u16, body: Value, extra: &[(header::HeaderName, String)]) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        Json(body),
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
                let (who, env) = super::ofrep::environment_of(op.db, &secret)?;
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
    let audited = state.2.record(super::ofrep_metrics::Evaluation {
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
            super::log(format_args!("OFREP evaluation audit deferred: {e}"));
        }
    }
}

async fn ofrep_single(
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
    ofrep_json(super::ofrep::status_of(&d), super::ofrep::result(&d), &[])
}

async fn ofrep_bulk(
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
        super::ofrep::bulk(&call.snapshot, call.version, &call.env, &context, call.now);
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
    ofrep_json(200, answer, &[(header::ETAG, etag)])
}

async fn ofrep_configuration() -> Json<Value> {
    Json(super::ofrep::configuration())
}

async fn not_found() -> ApiError {
    ApiError(OriginError::NotFound(
        "no such route; see docs/api.md".into(),
    ))
}

async fn method_not_allowed() -> Response {
    let body = json!({ "error": { "code": "method_not_allowed", "message": "this route does not take that method" } });
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// The API's routes, plus the console and the `vexil` package as static files.
pub fn router(app: App) -> Router {
    let www = app.origin.www.clone();
    let env_routes = Router::new()
        .route("/snapshot", get(snapshot))
        .route("/events", get(events))
        .route("/snapshots", get(snapshots))
        .route("/snapshots/{version}", get(snapshot_version))
        .route("/snapshots/{version}/document", get(snapshot_document))
        .route("/flags", get(flag_list).post(flag_create))
        .route("/flags/{key}", get(flag_detail).put(flag_update))
        .route("/flags/{key}/history", get(flag_history))
        .route("/flags/{key}/audit-report", get(audit_report))
        .route("/flags/{key}/rollout", post(flag_rollout))
        .route("/flags/{key}/kill", post(flag_kill))
        .route("/flags/{key}/review", post(flag_review))
        .route("/flags/{key}/enable", post(flag_enable))
        .route("/flags/{key}/archive", post(flag_archive))
        .route("/flags/{key}/rollback", post(flag_rollback))
        .route("/segments", get(segments))
        .route("/segments/{name}", put(segment_set).delete(segment_delete))
        .route("/exclusion-groups/{name}", put(exclusion_group_set))
        .route("/bulk", post(bulk))
        .route("/validate", post(validate_flag))
        .route("/flags/{key}/rollouts", post(rollout_start))
        .route("/rollouts", get(rollout_list))
        .route("/webhooks", get(webhook_list).post(webhook_add));
    let api = Router::new()
        .route("/health", get(health))
        .route("/keys", get(keys))
        .route("/keys/rotate", post(keys_rotate))
        .route("/whoami", get(whoami))
        .route("/policies", get(policies))
        .route("/environments", get(environments).post(create_environment))
        .nest("/environments/{env}", env_routes)
        .route("/promote", post(promote))
        .route("/changes", get(change_list))
        .route("/changes/{id}", get(change_get))
        .route("/changes/{id}/approve", post(change_approve))
        .route("/changes/{id}/reject", post(change_reject))
        .route("/changes/{id}/cancel", post(change_cancel))
        .route("/changes/{id}/apply", post(change_apply))
        .route("/audit", get(audit_list))
        .route("/audit/verify", get(audit_verify))
        .route("/insights", get(insights))
        .route("/metrics", post(metrics_ingest))
        .route("/publish-targets", get(publish_targets))
        .route("/rollouts/{id}", get(rollout_get))
        .route("/rollouts/{id}/{action}", post(rollout_control))
        .route("/flags/{key}/metrics", get(flag_metrics))
        .route("/tokens", get(token_list).post(token_create))
        .route("/tokens/{id}", delete(token_revoke))
        .route("/sdk-keys", get(sdk_key_list).post(sdk_key_create))
        .route("/webhooks/deliveries", get(webhook_deliveries))
        .route("/webhooks/{id}", delete(webhook_remove));
    // Tokens travel in the Authorization header, never in cookies, so any origin may
    // call the API (browsers running the SDK, the console served elsewhere).
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods(tower_http::cors::Any)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([
            header::ETAG,
            header::HeaderName::from_static("x-vexil-snapshot-version"),
        ]);
    let api = api
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(cors);
    let ofrep = Router::new()
        .route("/evaluate/flags", post(ofrep_bulk))
        .route("/evaluate/flags/{key}", post(ofrep_single))
        .route("/configuration", get(ofrep_configuration))
        .fallback(not_found)
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods(tower_http::cors::Any)
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_NONE_MATCH,
                    header::HeaderName::from_static("x-api-key"),
                ])
                .expose_headers([header::ETAG, header::RETRY_AFTER]),
        );
    let mut router = Router::new().nest("/api/v1", api).nest("/ofrep/v1", ofrep);
    if let Some(www) = www {
        let pkg = www.pkg.clone();
        router = router
            .nest_service("/pkg", tower_http::services::ServeDir::new(pkg))
            .fallback_service(tower_http::services::ServeDir::new(www.console));
    } else {
        router = router.fallback(not_found);
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Re-signs snapshots before they expire, every minute.
async fn refresh(origin: Arc<Origin>) {
    loop {
        let o = origin.clone();
        let done = tokio::task::spawn_blocking(move || o.write(publish::refresh_due)).await;
        if let Ok(Err(e)) = done {
            super::log(format_args!("snapshot refresh failed: {e}"));
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// Runs the rollout scheduler every `interval`, first ingesting what OFREP
/// evaluated since the last pass (as its keys' metrics).
async fn schedule_rollouts(
    origin: Arc<Origin>,
    wake: Arc<Notify>,
    interval: Duration,
    ofrep: Arc<(
        super::ofrep::Snapshots,
        super::ofrep::RateLimiter,
        super::ofrep_metrics::OfrepMetrics,
    )>,
) {
    loop {
        let o = origin.clone();
        let state = ofrep.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || state.2.flush(&o, None)).await {
            super::log(format_args!("OFREP metrics: {e}"));
        }
        let o = origin.clone();
        match tokio::task::spawn_blocking(move || o.write(rollouts::tick)).await {
            Ok(Ok(done)) => {
                for line in &done {
                    super::log(format_args!("{line}"));
                }
                if !done.is_empty() {
                    wake.notify_one();
                }
            }
            Ok(Err(e)) => super::log(format_args!("rollout scheduler: {e}")),
            Err(e) => super::log(format_args!("rollout scheduler failed: {e}")),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Serves the API on `listen` until SIGINT or SIGTERM.
pub async fn serve(origin: Arc<Origin>, listen: &str) -> Result<(), OriginError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| OriginError::Io(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| OriginError::Io(format!("cannot read the bound address: {e}")))?;
    let wake = Arc::new(Notify::new());
    tokio::spawn(webhooks::run(origin.clone(), wake.clone()));
    tokio::spawn(refresh(origin.clone()));
    tokio::spawn(super::targets::run(origin.clone()));
    tokio::spawn(super::health::run(origin.clone(), wake.clone()));
    let limiter =
        super::ofrep::RateLimiter::new(origin.config.ofrep_per_second, origin.config.ofrep_burst);
    let audit_key = origin
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .audit_key()
        .to_vec();
    let ofrep = Arc::new((
        super::ofrep::Snapshots::default(),
        limiter,
        super::ofrep_metrics::OfrepMetrics::new(&audit_key),
    ));
    let interval = origin.config.rollout_check_interval;
    tokio::spawn(schedule_rollouts(
        origin.clone(),
        wake.clone(),
        interval,
        ofrep.clone(),
    ));
    let hub = super::events::Hub::default();
    tokio::spawn(super::events::watch(origin.clone(), hub.clone()));
    let app = App {
        origin: origin.clone(),
        wake,
        events: hub,
        ofrep: ofrep.clone(),
    };
    {
        use std::io::Write as _;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }
    let served = axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| OriginError::Io(format!("server failed: {e}")));
    // What OFREP evaluated since the last scheduler pass is not lost on shutdown.
    if let Err(e) = ofrep.2.flush(&origin, None) {
        super::log(format_args!("OFREP metrics at shutdown: {e}"));
    }
    served
}
