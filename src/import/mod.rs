//! Migration: flag definitions from Unleash (client features API JSON) and flagd
//! (flag definition JSON with JSONLogic targeting) translated into a Vexil flags
//! document. What cannot be translated faithfully is reported flag by flag; the CLI
//! (`vexil import`) refuses a lossy translation unless told `--allow-lossy`.
//! Rollouts keep their original hashing (`"bucketing"`), so no user changes variant
//! on migration day.

pub mod clauses;
pub mod flagd;
pub mod unleash;

use serde::Serialize;
use serde_json::{Map, Value};

/// A translation and what it lost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Imported {
    /// The Vexil flags document: `{flags, segments}`.
    pub document: Map<String, Value>,
    /// What could not be carried over exactly, per flag.
    pub lossy: Vec<Loss>,
}

/// One thing a translation could not carry over exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loss {
    /// The flag (or segment) concerned.
    pub flag: String,
    /// What differs, for people.
    pub message: String,
}

/// Why an import failed outright.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input is not the expected format.
    #[error("{0}")]
    Format(String),
}

fn loss(out: &mut Vec<Loss>, flag: &str, message: impl Into<String>) {
    out.push(Loss {
        flag: flag.to_string(),
        message: message.into(),
    });
}
