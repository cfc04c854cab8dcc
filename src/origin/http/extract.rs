//! What handlers take from a request: the JSON body, query and path extractors, and
//! the authentication and role helpers on [`App`].

use super::caller::{Admin, Editor, Reader};
use super::error::{too_large, ApiError, ApiResult};
use super::App;
use crate::origin::api::Change;
use crate::origin::auth::Principal;
use crate::origin::changes::{self, Proposal};
use crate::origin::publish::{self, EnvState};
use crate::origin::{audit, Op, Origin, OriginError};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// A JSON body, decoded with the path of any problem; an empty body reads as `{}`.
pub struct Body<T>(pub T);

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

pub(super) fn bearer(headers: &HeaderMap) -> Result<String, OriginError> {
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
    pub(super) async fn blocking<T: Send + 'static>(
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

    /// Authenticates `headers`, then runs `f` with the caller on a blocking thread:
    /// for `POST /metrics` alone, whose SDK key may come in the query.
    pub(super) async fn as_caller<T: Send + 'static>(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&Origin, Principal) -> Result<T, OriginError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let who = self.authenticate(headers).await?;
        self.blocking(move |origin| f(origin, who)).await
    }

    /// A read by a caller with a role.
    pub(super) async fn read<T: Serialize + Send + 'static>(
        &self,
        _who: &Reader,
        f: impl FnOnce(&Op<'_>) -> Result<T, OriginError> + Send + 'static,
    ) -> ApiResult<Json<T>> {
        self.blocking(move |origin| origin.read(f)).await.map(Json)
    }

    /// A write by `who`, whose role its extractor checked; wakes the webhook
    /// deliverer and the event watcher (a kill reaches subscribers at once, not at
    /// the watcher's next poll).
    pub(super) async fn write<T: Serialize + Send + 'static>(
        &self,
        who: Principal,
        f: impl FnOnce(&Op<'_>, &Principal) -> Result<T, OriginError> + Send + 'static,
    ) -> ApiResult<Json<T>> {
        let out = self
            .blocking(move |origin| origin.write(|op| f(op, &who)))
            .await;
        self.wake.notify_one();
        self.events_wake.notify_one();
        out.map(Json)
    }

    /// A read only admins may make.
    pub(super) async fn admin_read<T: Serialize + Send + 'static>(
        &self,
        _who: &Admin,
        f: impl FnOnce(&Op<'_>) -> Result<T, OriginError> + Send + 'static,
    ) -> ApiResult<Json<T>> {
        self.blocking(move |origin| origin.read(f)).await.map(Json)
    }

    /// An admin's write, recorded in the audit log as `action` on `subject` with the
    /// details `f` returns beside its answer.
    pub(super) async fn admin<T: Serialize + Send + 'static>(
        &self,
        who: Admin,
        action: &'static str,
        subject: &'static str,
        f: impl FnOnce(&Op<'_>) -> Result<(T, Value), OriginError> + Send + 'static,
    ) -> ApiResult<Json<T>> {
        self.write(who.0, move |op, who| {
            let (answer, details) = f(op)?;
            audit::record(op, &who.name, action, subject, details)?;
            Ok(answer)
        })
        .await
    }

    /// A change proposed by an editor, built from the environment's state.
    pub(super) async fn propose(
        &self,
        who: Editor,
        env: String,
        reason: Option<String>,
        build: impl FnOnce(&Op<'_>, &EnvState) -> Result<Proposal, OriginError> + Send + 'static,
    ) -> ApiResult<Json<Change>> {
        self.write(who.0, move |op, who| {
            let state = publish::load_state(op.db, &env)?;
            let mut p = build(op, &state)?;
            p.reason = reason.filter(|r| !r.trim().is_empty());
            changes::submit_and_publish(op, who, p)
        })
        .await
    }
}
