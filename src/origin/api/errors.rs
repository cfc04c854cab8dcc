//! The error answer of every `/api/v1` route: `{"error": {code, message, details?}}`
//! ([`ErrorAnswer`]), with a stable `code` for programs and a message for people
//! (the codes and their statuses are listed in `docs/api.md`). OFREP's routes answer
//! in the protocol's own shape instead.

use serde::{Deserialize, Serialize};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// What went wrong.
    pub error: ErrorBody,
}

/// What went wrong: its code, its message and, for some codes, the problems one by one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `too_large`, `invalid`, `policy_violation`, `implausible_batch`,
    /// `bulk_failed`, `method_not_allowed` or `internal`.
    pub code: String,
    /// The error in words (for `invalid` and `policy_violation`, a headline followed
    /// by the details).
    pub message: String,
    /// The problems: the engine's (`invalid`, with `path`) or the policies'
    /// (`policy_violation`, with `policy`); absent for other codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
}

impl ErrorBody {
    /// An error without details.
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code: code.to_string(),
            message: message.into(),
            details: None,
        }
    }
}

/// One problem of an `invalid` or `policy_violation` error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Where in the flags the engine finds it (`flags[checkout].fallthrough.variant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The policy violated (`expiry-required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// What is wrong.
    pub message: String,
}
