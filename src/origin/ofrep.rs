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
use serde_json::Value;
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
        db: &crate::origin::db::Db,
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

/// A token bucket per SDK key ([`crate::ofrep::RateLimiter`], as the edge has).
pub struct RateLimiter(Mutex<crate::ofrep::RateLimiter<i64>>);

impl RateLimiter {
    /// `per_second` requests a second on average, bursts of `burst`.
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter(Mutex::new(crate::ofrep::RateLimiter::new(
            f64::from(per_second),
            f64::from(burst),
        )))
    }

    /// Takes a token for `key` at `now_ms`; `Err(seconds)` to wait when there is none.
    pub fn take(&self, key: i64, now_ms: i64) -> Result<(), u64> {
        let mut limiter = self.0.lock().unwrap_or_else(|p| p.into_inner());
        limiter.take(key, now_ms)
    }
}

/// Who is asking: an SDK key (of either kind), which names the environment.
pub fn environment_of(
    db: &crate::origin::db::Db,
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

/// `d` as the shared OFREP writer ([`crate::ofrep`]) takes it, handed to `f`.
fn as_evaluation<R>(d: &Details, f: impl FnOnce(&crate::ofrep::Evaluation<'_>) -> R) -> R {
    let value = serde_json::to_string(&d.value).unwrap_or_else(|_| "null".into());
    let metadata = serde_json::to_string(&d.flag_metadata).unwrap_or_else(|_| "{}".into());
    f(&crate::ofrep::Evaluation {
        key: &d.flag_key,
        value: &value,
        variant: d.variant.as_deref(),
        reason: d.reason,
        rule_id: d.rule_id.as_deref(),
        metadata: &metadata,
        error: d
            .error_code
            .map(|c| (c, d.error_message.as_deref().unwrap_or_default())),
    })
}

/// A single evaluation's answer: its status and JSON text.
pub fn single(d: &Details) -> (u16, String) {
    let mut out = String::new();
    let status = as_evaluation(d, |e| crate::ofrep::write_single(&mut out, e));
    (status, out)
}

/// The bulk answer (JSON text), its ETag (the snapshot version and a hash of the
/// context) and the evaluations behind it (for metrics and audit).
pub fn bulk(
    snapshot: &Snapshot,
    version: u64,
    env: &str,
    context: &Value,
    now_ms: i64,
) -> (String, String, Vec<Details>) {
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
    let mut answer = String::new();
    let mut flags = crate::ofrep::Bulk::new(&mut answer);
    for d in &details {
        as_evaluation(d, |e| flags.push(e));
    }
    flags.finish(version, env);
    let digest = Sha256::digest(audit::canonical_json(context).as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{version}-{hash}\"");
    (answer, etag, details)
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
    fn keys_have_their_own_buckets() {
        let limiter = RateLimiter::new(2, 3);
        for _ in 0..3 {
            assert!(limiter.take(1, 0).is_ok());
        }
        assert_eq!(limiter.take(1, 0), Err(1));
        assert!(limiter.take(2, 0).is_ok());
    }
}
