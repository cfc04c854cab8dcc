//! The OpenFeature Remote Evaluation Protocol's `GET /ofrep/v1/configuration`
//! ([`OfrepConfiguration`]): what a provider may rely on. Its field names are the
//! protocol's (camelCase), not this API's.

use serde::{Deserialize, Serialize};

/// `GET /ofrep/v1/configuration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfrepConfiguration {
    /// The flag management system's name: `vexil`.
    pub name: String,
    /// What it supports.
    pub capabilities: OfrepCapabilities,
}

/// An OFREP server's capabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfrepCapabilities {
    /// How providers learn that evaluations changed.
    pub cache_invalidation: CacheInvalidation,
    /// The flag types evaluated.
    pub flag_evaluation: FlagEvaluation,
}

/// Cache invalidation: providers poll, with the bulk evaluation's ETag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheInvalidation {
    /// Polling's settings.
    pub polling: Polling,
}

/// Polling for changed evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Polling {
    /// Whether providers may poll.
    pub enabled: bool,
    /// The shortest interval between polls, ms.
    pub min_polling_interval_ms: u64,
}

/// The types of flag values evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagEvaluation {
    /// `boolean`, `string`, `integer`, `double` and `object`.
    pub supported_types: Vec<String>,
}
