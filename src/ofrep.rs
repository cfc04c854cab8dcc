//! OFREP, the OpenFeature Remote Evaluation Protocol, shaped once for both of its
//! servers: the origin and the edge worker (which calls this through the wasm
//! module, so the two answer alike by construction). JSON is written as text: the
//! wasm module has no JSON library, and a snapshot already keeps variant values and
//! flag metadata as compact JSON text. Also here: the token bucket per API key that
//! both put in front of evaluation.

use crate::engine::{ErrorCode, Reason};
use crate::jsontext::{object_members, push_string, push_u64};
use fnv::FnvHashMap;
use std::hash::Hash;

/// One evaluation, as an OFREP result reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<'a> {
    /// The flag key asked for.
    pub key: &'a str,
    /// The value served, as compact JSON text (not read on error).
    pub value: &'a str,
    /// The variant served.
    pub variant: Option<&'a str>,
    /// Why it was served.
    pub reason: Reason,
    /// The rule that served it (reported as metadata `ruleId`).
    pub rule_id: Option<&'a str>,
    /// The flag's metadata, a JSON object's text.
    pub metadata: &'a str,
    /// The error, with its explanation for people.
    pub error: Option<(ErrorCode, &'a str)>,
}

/// The code OFREP reports for an engine error. A server is told no type, so a type
/// mismatch is not the caller's to fix: GENERAL.
pub fn wire_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::TypeMismatch => ErrorCode::General.as_str(),
        other => other.as_str(),
    }
}

/// The HTTP status of a single evaluation's answer.
pub fn status(error: Option<ErrorCode>) -> u16 {
    match error {
        None => 200,
        Some(ErrorCode::FlagNotFound) => 404,
        Some(ErrorCode::ProviderNotReady | ErrorCode::General) => 500,
        Some(_) => 400,
    }
}

/// Appends the OFREP result object of `e`: `{key, value, reason, variant?,
/// metadata}` (the rule in metadata `ruleId`), or `{key, errorCode, errorDetails,
/// metadata}`.
pub fn write_result(out: &mut String, e: &Evaluation<'_>) {
    out.push_str("{\"key\":");
    push_string(out, e.key);
    if let Some((code, details)) = e.error {
        out.push_str(",\"errorCode\":");
        push_string(out, wire_code(code));
        out.push_str(",\"errorDetails\":");
        push_string(out, details);
        out.push_str(",\"metadata\":");
        write_metadata(out, e.metadata, None);
        out.push('}');
        return;
    }
    out.push_str(",\"value\":");
    out.push_str(e.value);
    out.push_str(",\"reason\":");
    push_string(out, e.reason.as_str());
    if let Some(variant) = e.variant {
        out.push_str(",\"variant\":");
        push_string(out, variant);
    }
    out.push_str(",\"metadata\":");
    write_metadata(out, e.metadata, e.rule_id);
    out.push('}');
}

/// Appends the metadata object with `ruleId` set to `rule` (replacing one the flag's
/// metadata has); text that is not an object counts as no metadata.
fn write_metadata(out: &mut String, metadata: &str, rule: Option<&str>) {
    out.push('{');
    let start = out.len();
    let mut members = String::new();
    let whole = object_members(metadata, |key, member| {
        if rule.is_none() || key != "ruleId" {
            if !members.is_empty() {
                members.push(',');
            }
            members.push_str(member);
        }
    });
    if whole.is_some() {
        out.push_str(&members);
    }
    if let Some(rule) = rule {
        if out.len() > start {
            out.push(',');
        }
        out.push_str("\"ruleId\":");
        push_string(out, rule);
    }
    out.push('}');
}

/// Appends the answer of a single evaluation (what [`write_result`] writes, or for
/// an engine with no snapshot yet just `errorDetails`); returns its HTTP status.
pub fn write_single(out: &mut String, e: &Evaluation<'_>) -> u16 {
    match e.error {
        Some((ErrorCode::ProviderNotReady, details)) => write_failure(out, None, None, details),
        _ => write_result(out, e),
    }
    status(e.error.map(|(code, _)| code))
}

/// Appends an OFREP failure that is not an evaluation's: `{key?, errorCode?,
/// errorDetails}` (an unreadable body, a missing key, the rate limit...).
pub fn write_failure(out: &mut String, key: Option<&str>, code: Option<&str>, details: &str) {
    out.push('{');
    if let Some(key) = key {
        out.push_str("\"key\":");
        push_string(out, key);
        out.push(',');
    }
    if let Some(code) = code {
        out.push_str("\"errorCode\":");
        push_string(out, code);
        out.push(',');
    }
    out.push_str("\"errorDetails\":");
    push_string(out, details);
    out.push('}');
}

/// Writes a bulk answer, `{"flags": [...], "metadata": {"version", "environment"}}`:
/// [`Bulk::push`] each result, then [`Bulk::finish`].
#[derive(Debug)]
pub struct Bulk<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> Bulk<'o> {
    /// Starts a bulk answer at the end of `out`.
    pub fn new(out: &'o mut String) -> Bulk<'o> {
        out.push_str("{\"flags\":[");
        Bulk { out, first: true }
    }

    /// Appends one flag's result.
    pub fn push(&mut self, e: &Evaluation<'_>) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_result(self.out, e);
    }

    /// Closes the answer with the snapshot version and environment evaluated.
    pub fn finish(self, version: u64, environment: &str) {
        self.out.push_str("],\"metadata\":{\"version\":\"");
        push_u64(self.out, version);
        self.out.push_str("\",\"environment\":");
        push_string(self.out, environment);
        self.out.push_str("}}");
    }
}

/// Most keys a [`RateLimiter`] keeps buckets for; past it, buckets that have filled
/// up again (keys idle for a while) are forgotten, so unknown keys cannot grow it.
pub const MAX_RATE_KEYS: usize = 10_000;

/// A token bucket per key: `per_second` requests a second on average, bursts of
/// `burst`.
#[derive(Debug, Clone)]
pub struct RateLimiter<K> {
    per_second: f64,
    burst: f64,
    /// Tokens left and when they were counted (epoch milliseconds), per key.
    buckets: FnvHashMap<K, (f64, i64)>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// A limiter of `per_second` requests a second and bursts of `burst` (at least 1
    /// each).
    pub fn new(per_second: f64, burst: f64) -> RateLimiter<K> {
        let at_least_one = |x: f64| if x >= 1.0 { x } else { 1.0 };
        RateLimiter {
            per_second: at_least_one(per_second),
            burst: at_least_one(burst),
            buckets: FnvHashMap::default(),
        }
    }

    /// Takes a token for `key` at `now_ms`; `Err(seconds)` to wait when there is none.
    pub fn take(&mut self, key: K, now_ms: i64) -> Result<(), u64> {
        if self.buckets.len() >= MAX_RATE_KEYS && !self.buckets.contains_key(&key) {
            self.forget_full(now_ms);
        }
        let (per_second, burst) = (self.per_second, self.burst);
        let (tokens, last) = self.buckets.entry(key).or_insert((burst, now_ms));
        let refill = (now_ms - *last).max(0) as f64 / 1000.0 * per_second;
        *tokens = (*tokens + refill).min(burst);
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / per_second).ceil() as u64;
            Err(wait.max(1))
        }
    }

    /// Drops the buckets that are full again at `now_ms` (a new bucket starts full,
    /// so forgetting them changes no answer); all of them if none is.
    fn forget_full(&mut self, now_ms: i64) {
        let (per_second, burst) = (self.per_second, self.burst);
        self.buckets.retain(|_, (tokens, last)| {
            *tokens + (now_ms - *last).max(0) as f64 / 1000.0 * per_second < burst
        });
        if self.buckets.len() >= MAX_RATE_KEYS {
            self.buckets.clear();
        }
    }
}

#[cfg(test)]
mod tests;
