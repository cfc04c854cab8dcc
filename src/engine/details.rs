//! OpenFeature-shaped evaluation results with JSON values, for native adapters (the
//! origin's OFREP, the CLI, tests). The wasm module hands outcomes to its host
//! instead, which keeps the values.

use super::compiled::{FlagId, Snapshot, ValueType};
use super::context::ResolvedContext;
use super::eval::{ErrorCode, Outcome, Reason};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// An OpenFeature-shaped evaluation result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Details {
    /// The flag key.
    pub flag_key: String,
    /// The value served (the caller's default on error).
    pub value: Value,
    /// The variant served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Why this value was served (an OpenFeature reason).
    pub reason: Reason,
    /// The rule that served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Error code, when the default was returned because of an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// What went wrong, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The flag's metadata.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub flag_metadata: BTreeMap<String, Value>,
}

impl Details {
    /// The caller's default, returned because of `code`.
    pub fn error(key: &str, default: Value, code: ErrorCode, message: String) -> Details {
        Details {
            flag_key: key.to_string(),
            value: default,
            variant: None,
            reason: Reason::Error,
            rule_id: None,
            error_code: Some(code),
            error_message: Some(message),
            flag_metadata: BTreeMap::new(),
        }
    }
}

impl Snapshot {
    /// [`Snapshot::details`] for a caller's raw JSON context: a context that is not
    /// an object gives the default with `INVALID_CONTEXT`. For one-off evaluations
    /// (the CLI, previews); evaluating many flags should resolve the context once.
    pub fn details_for_context(
        &self,
        key: &str,
        ctx: &Value,
        default: Value,
        expected: Option<ValueType>,
        now_ms: i64,
    ) -> Details {
        match self.resolve_context(ctx) {
            Ok(resolved) => self.details(key, &resolved, default, expected, now_ms),
            Err(e) => Details::error(key, default, ErrorCode::InvalidContext, e.to_string()),
        }
    }

    /// A human explanation of an error outcome of flag `key` (`id` in this snapshot).
    pub fn error_message(
        &self,
        key: &str,
        id: Option<FlagId>,
        outcome: &Outcome,
    ) -> Option<String> {
        outcome.error?;
        let mut message = String::new();
        self.write_error_message(&mut message, key, id, outcome);
        Some(message)
    }

    /// Evaluates `key` for an already resolved context and builds OpenFeature-shaped
    /// details, returning `default` on any error. With `expected` set, a flag of
    /// another type gives `TYPE_MISMATCH`.
    pub fn details(
        &self,
        key: &str,
        ctx: &ResolvedContext,
        default: Value,
        expected: Option<ValueType>,
        now_ms: i64,
    ) -> Details {
        let id = self.flag_id(key);
        let flag = id.and_then(|id| self.flag(id));
        let mut outcome = match id {
            Some(id) => self.evaluate(id, ctx, now_ms),
            None => Outcome::error(ErrorCode::FlagNotFound),
        };
        let mut message = None;
        if let (Some(flag), Some(expected)) = (flag, expected) {
            if outcome.error.is_none() && flag.value_type != expected {
                message = Some(format!(
                    "flag `{key}` is a {} flag, but a {expected} was requested",
                    flag.value_type
                ));
                outcome = Outcome::error(ErrorCode::TypeMismatch);
            }
        }
        if message.is_none() {
            message = self.error_message(key, id, &outcome);
        }
        let (value, variant) = match (flag, outcome.variant) {
            (Some(flag), Some(v)) if outcome.error.is_none() => {
                let variant = &flag.variants[v as usize];
                let value = serde_json::from_str(&variant.value).unwrap_or(Value::Null);
                (value, Some(variant.name.to_string()))
            }
            _ => (default, None),
        };
        Details {
            flag_key: key.to_string(),
            value,
            variant,
            reason: outcome.reason,
            rule_id: flag
                .zip(outcome.rule)
                .and_then(|(f, r)| f.rule_id(r))
                .map(str::to_string),
            error_code: outcome.error,
            error_message: message,
            flag_metadata: flag
                .and_then(|f| serde_json::from_str(&f.metadata).ok())
                .unwrap_or_default(),
        }
    }
}
