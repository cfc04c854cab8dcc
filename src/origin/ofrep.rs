//! OFREP at the origin (`/ofrep/v1/...`): the OpenFeature Remote Evaluation Protocol
//! for clients that cannot run the wasm engine. SDK keys authenticate (they name the
//! environment); evaluation uses the same engine, on the environment's newest
//! published snapshot, compiled once per version. A token bucket per key answers
//! bursts beyond the configured rate with `429` and `Retry-After`. Evaluations are
//! counted and audited as the key's own metrics ([`super::ofrep_metrics`]).

use super::api::ofrep::{
    CacheInvalidation, FlagEvaluation, OfrepCapabilities, OfrepConfiguration, Polling,
};
use super::{audit, auth, publish, OriginError};
use crate::engine::{Details, Snapshot};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Compiled snapshots by environment, replaced when a newer version is published.
#[derive(Default)]
pub struct Snapshots {
    by_env: Mutex<HashMap<String, (u64, Arc<Snapshot>)>>,
}

impl Snapshots {
    /// The newest snapshot of `env`, compiled.
    pub fn current(
        &self,
        db: &rusqlite::Connection,
        env: &str,
    ) -> Result<(u64, Arc<Snapshot>), OriginError> {
        let latest = publish::latest(db, env)?
            .ok_or_else(|| OriginError::NotFound(format!("`{env}` has no snapshot yet")))?;
        let mut cache = self.by_env.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((version, snapshot)) = cache.get(env) {
            if *version == latest.version {
                return Ok((*version, snapshot.clone()));
            }
        }
        let snapshot = Arc::new(
            crate::snapshot::open_signed(latest.envelope.as_bytes())
                .map_err(|e| OriginError::Internal(format!("stored snapshot: {e}")))?,
        );
        cache.insert(env.to_string(), (latest.version, snapshot.clone()));
        Ok((latest.version, snapshot))
    }
}

/// A token bucket per key.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, (f64, i64)>>,
}

impl RateLimiter {
    /// `per_second` requests a second on average, bursts of `burst`.
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes a token for `key` at `now_ms`; `Err(seconds)` to wait when there is none.
    pub fn take(&self, key: i64, now_ms: i64) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets.entry(key).or_insert((self.burst, now_ms));
        let refill = (now_ms - *last).max(0) as f64 / 1000.0 * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - *tokens) / self.per_second).ceil() as u64).max(1))
        }
    }
}

/// Who is asking: an SDK key (of either kind), which names the environment.
pub fn environment_of(
    db: &rusqlite::Connection,
    secret: &str,
) -> Result<(auth::Principal, String), OriginError> {
    let who = auth::authenticate(db, secret)?;
    match (who.kind, who.environment.clone()) {
        ("sdk", Some(env)) => Ok((who, env)),
        _ => Err(OriginError::Forbidden(
            "OFREP evaluates with an SDK key, which names the environment".into(),
        )),
    }
}

/// An OFREP result for engine details.
pub fn result(d: &Details) -> Value {
    let mut metadata: Map<String, Value> = d
        .flag_metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(code) = d.error_code {
        let code = match code.as_str() {
            "TYPE_MISMATCH" => "GENERAL",
            other => other,
        };
        return json!({ "key": d.flag_key, "errorCode": code, "errorDetails": d.error_message, "metadata": metadata });
    }
    if let Some(rule) = &d.rule_id {
        metadata.insert("ruleId".into(), json!(rule));
    }
    json!({ "key": d.flag_key, "value": d.value, "reason": d.reason.as_str(), "variant": d.variant, "metadata": metadata })
}

/// The HTTP status of a single evaluation's result.
pub fn status_of(d: &Details) -> u16 {
    match d.error_code.map(|c| c.as_str()) {
        None => 200,
        Some("FLAG_NOT_FOUND") => 404,
        Some("GENERAL") => 500,
        Some(_) => 400,
    }
}

/// The bulk answer, its ETag (the snapshot version and a hash of the context) and
/// the evaluations behind it (for metrics and audit).
pub fn bulk(
    snapshot: &Snapshot,
    version: u64,
    env: &str,
    context: &Value,
    now_ms: i64,
) -> (Value, String, Vec<Details>) {
    let details: Vec<Details> = match snapshot.resolve_context(context) {
        Ok(resolved) => snapshot
            .flags()
            .iter()
            .map(|f| snapshot.details(&f.key, &resolved, Value::Null, None, now_ms))
            .collect(),
        Err(_) => snapshot
            .flags()
            .iter()
            .map(|f| snapshot.details_for_context(&f.key, context, Value::Null, None, now_ms))
            .collect(),
    };
    let flags: Vec<Value> = details.iter().map(result).collect();
    let digest = Sha256::digest(audit::canonical_json(context).as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{version}-{hash}\"");
    (
        json!({ "flags": flags, "metadata": { "version": version.to_string(), "environment": env } }),
        etag,
        details,
    )
}

/// `GET /ofrep/v1/configuration`: providers poll (at most once a second) and may
/// evaluate every JSON type.
pub fn configuration() -> OfrepConfiguration {
    OfrepConfiguration {
        name: "vexil".into(),
        capabilities: OfrepCapabilities {
            cache_invalidation: CacheInvalidation {
                polling: Polling {
                    enabled: true,
                    min_polling_interval_ms: 1000,
                },
            },
            flag_evaluation: FlagEvaluation {
                supported_types: ["boolean", "string", "integer", "double", "object"]
                    .map(str::to_string)
                    .to_vec(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn the_bucket_refills_at_the_configured_rate() {
        let limiter = RateLimiter::new(2, 3);
        for _ in 0..3 {
            assert!(limiter.take(1, 0).is_ok());
        }
        assert_eq!(limiter.take(1, 0), Err(1));
        assert!(limiter.take(2, 0).is_ok(), "keys have their own buckets");
        assert!(
            limiter.take(1, 500).is_ok(),
            "half a second brings one token at 2/s"
        );
        assert!(limiter.take(1, 500).is_err());
    }
}
