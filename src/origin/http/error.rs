//! How an [`OriginError`] becomes an HTTP answer: the JSON error body and its status.

use super::MAX_BODY;
use crate::origin::api::{BulkFailure, ErrorAnswer, ErrorBody, ErrorDetail};
use crate::origin::OriginError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

/// An error answer: `{"error": {"code", "message", "details"?}}` ([`ErrorAnswer`]).
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
                Some(
                    issues
                        .iter()
                        .map(|i| ErrorDetail {
                            path: Some(i.path.clone()),
                            policy: None,
                            message: i.message.clone(),
                        })
                        .collect(),
                ),
            ),
            OriginError::Policy(v) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "policy_violation",
                Some(
                    v.iter()
                        .map(|v| ErrorDetail {
                            path: None,
                            policy: Some(v.policy.to_string()),
                            message: v.message.clone(),
                        })
                        .collect(),
                ),
            ),
            OriginError::Implausible(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "implausible_batch", None)
            }
            OriginError::BulkFailed(report) => {
                let body = BulkFailure {
                    report: (**report).clone(),
                    error: ErrorBody::new("bulk_failed", message),
                };
                return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
            }
            OriginError::Config(_)
            | OriginError::Tls(_)
            | OriginError::Io(_)
            | OriginError::Db(_)
            | OriginError::AuditBroken(_)
            | OriginError::Internal(_) => {
                crate::origin::log(format_args!("error: {message}"));
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let error = ErrorBody {
            details,
            ..ErrorBody::new(code, message)
        };
        let mut response = (status, Json(ErrorAnswer { error })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub(super) type ApiResult<T = Json<Value>> = Result<T, ApiError>;

/// The answer to a body over [`MAX_BODY`]: 413 `too_large`.
pub(super) fn too_large() -> Response {
    let message = format!("the body is larger than {MAX_BODY} bytes");
    let body = ErrorAnswer {
        error: ErrorBody::new("too_large", message),
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// A successful answer as `201 Created`.
pub(super) fn created<T>(result: ApiResult<Json<T>>) -> Result<(StatusCode, Json<T>), ApiError> {
    result.map(|body| (StatusCode::CREATED, body))
}

pub(super) async fn not_found() -> ApiError {
    ApiError(OriginError::NotFound(
        "no such route; see docs/api.md".into(),
    ))
}

pub(super) async fn method_not_allowed() -> Response {
    let body = ErrorAnswer {
        error: ErrorBody::new("method_not_allowed", "this route does not take that method"),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
