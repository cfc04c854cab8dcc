//! The origin's error type: one variant per kind of failure, each mapped to one HTTP
//! status in [`super::http`].

use super::{api, audit, db, governance::Violation, tls};
use crate::engine::Issue;

/// Errors of the origin. Each maps to one HTTP status in [`http`].
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    /// Malformed request: bad JSON, a missing field, a bad parameter.
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or unknown ones.
    #[error("{0}")]
    Unauthorized(String),
    /// The credentials do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The flags would not compile.
    #[error("the flags would not compile: {}", issues_text(.0))]
    Invalid(Vec<Issue>),
    /// Governance refuses the change.
    #[error("the change violates {} polic{}: {}", .0.len(), if .0.len() == 1 { "y" } else { "ies" }, violations_text(.0))]
    Policy(Vec<Violation>),
    /// A metrics batch claims what no edge could have seen; refused whole.
    #[error("implausible metrics batch: {0}")]
    Implausible(String),
    /// A bulk update failed; the report says which operations and why.
    #[error("the bulk update failed; nothing was applied")]
    BulkFailed(Box<api::BulkReport>),
    /// Bad settings or data directory.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The TLS certificate or key cannot serve.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] db::DbError),
    /// The audit chain does not verify.
    #[error(transparent)]
    AuditBroken(#[from] audit::Broken),
    /// A bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
}

fn issues_text(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn violations_text(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.policy, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<crate::engine::edit::EditError> for OriginError {
    /// An unknown rule is not found; every other edit refused is a bad request.
    fn from(e: crate::engine::edit::EditError) -> Self {
        match e {
            crate::engine::edit::EditError::NoRule { .. } => OriginError::NotFound(e.to_string()),
            _ => OriginError::BadRequest(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for OriginError {
    fn from(e: serde_json::Error) -> Self {
        OriginError::Internal(format!("stored JSON is unreadable: {e}"))
    }
}
