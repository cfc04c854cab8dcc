//! Webhooks: notifications of change requests, approvals, rejections, applied
//! changes and kill switches (and rollout stages), per environment.
//!
//! Operations emit [`DomainEvent`](super::outbox::DomainEvent)s into the outbox in
//! the transaction of the change they describe; the outbox's webhook consumer turns
//! them into deliveries (the `deliveries` table) in a write transaction, so a
//! notification exists exactly when its change was committed. A delivery task posts
//! them, signed with HMAC-SHA256, retrying with exponential backoff; every attempt
//! is recorded.

use super::api::{
    CreatedWebhook, Delivery, DeliveryAttempt, DeliveryList, Envelope, Webhook, WebhookList,
    WebhookRemoved,
};
use super::{rfc3339, Op, Origin, OriginError};
use crate::origin::db::{params, Db};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Events a webhook can receive: the domain events that are notifications (all
/// but `snapshot.published`), in the order the API lists them.
pub const EVENTS: &[&str] = super::outbox::TYPES
    .split_at(super::outbox::WEBHOOK_TYPES)
    .0;

/// `sha256=<hex>` HMAC-SHA256 of `body` keyed with `secret`: the value of the
/// `X-Vexil-Signature` header.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Queues `event` for every webhook of `env` subscribed to it, `data` being the
/// event's document as the API answers it, the envelope dated `at_ms`. Called by the
/// outbox's webhook consumer only: operations emit a
/// [`DomainEvent`](super::outbox::DomainEvent) instead.
pub(in crate::origin) fn enqueue_at(
    db: &Db,
    env: &str,
    event: &str,
    data: &serde_json::Value,
    at_ms: i64,
) -> Result<(), OriginError> {
    let at = rfc3339(at_ms);
    let hooks = db.query(
        "SELECT id, events FROM webhooks WHERE environment = ?1 AND deleted_at IS NULL",
        params![env],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
    )?;
    for (hook, events) in hooks {
        let events: Vec<String> = serde_json::from_str(&events)?;
        if !events.is_empty() && !events.iter().any(|e| e == event) {
            continue;
        }
        let id: i64 = db.query_row(
            "INSERT INTO deliveries (webhook_id, event, body, status, created_at, next_attempt_ms)
             VALUES (?1, ?2, '', 'pending', ?3, ?4) RETURNING id",
            params![hook, event, at, at_ms],
            |r| r.get::<i64>(0),
        )?;
        let body = Envelope {
            id,
            event: event.to_string(),
            environment: env.to_string(),
            at: at.clone(),
            data: data.clone(),
        };
        db.execute(
            "UPDATE deliveries SET body = ?1 WHERE id = ?2",
            params![serde_json::to_string(&body)?, id],
        )?;
    }
    Ok(())
}

/// Adds a webhook to `env`. Without a secret one is generated; it is returned once.
pub fn add(
    op: &Op<'_>,
    env: &str,
    url: &str,
    secret: Option<String>,
    events: Vec<String>,
) -> Result<CreatedWebhook, OriginError> {
    super::publish::require_environment(op.db, env)?;
    let parsed = url.parse::<axum::http::Uri>().ok();
    let scheme_ok = parsed
        .as_ref()
        .and_then(|u| u.scheme_str())
        .is_some_and(|s| s == "http" || s == "https");
    if !scheme_ok || parsed.as_ref().and_then(|u| u.host()).is_none() {
        return Err(OriginError::BadRequest(format!(
            "`url` {url:?} is not an http(s) URL"
        )));
    }
    if let Some(bad) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        return Err(OriginError::BadRequest(format!(
            "unknown event `{bad}`; events are {}",
            EVENTS.join(", ")
        )));
    }
    let secret = match secret {
        Some(s) if s.len() >= 16 => s,
        Some(_) => {
            return Err(OriginError::BadRequest(
                "`secret` must be at least 16 characters".into(),
            ))
        }
        None => {
            let mut bytes = [0u8; 24];
            getrandom::fill(&mut bytes)
                .map_err(|e| OriginError::Internal(format!("no randomness: {e}")))?;
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
    };
    let id: i64 = op.db.query_row(
        "INSERT INTO webhooks (environment, url, secret, events, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![env, url, secret, serde_json::to_string(&events)?, op.now()],
        |r| r.get::<i64>(0),
    )?;
    Ok(CreatedWebhook {
        id,
        environment: env.to_string(),
        url: url.to_string(),
        events,
        secret,
    })
}

/// The webhooks of `env` (without secrets).
pub fn list(db: &Db, env: &str) -> Result<WebhookList, OriginError> {
    super::publish::require_environment(db, env)?;
    let rows = db.query(
        "SELECT id, url, events, created_at FROM webhooks
         WHERE environment = ?1 AND deleted_at IS NULL ORDER BY id",
        params![env],
        |r| {
            Ok(Webhook {
                id: r.get(0)?,
                url: r.get(1)?,
                // Written by `add` from a list of names.
                events: serde_json::from_str(&r.get::<String>(2)?).unwrap_or_default(),
                created_at: r.get(3)?,
            })
        },
    )?;
    Ok(WebhookList { webhooks: rows })
}

/// Removes a webhook; its pending deliveries are dropped, its history kept.
pub fn remove(op: &Op<'_>, id: i64) -> Result<WebhookRemoved, OriginError> {
    let changed = op.db.execute(
        "UPDATE webhooks SET deleted_at = ?1 WHERE id = ?2 AND deleted_at IS NULL",
        params![op.now(), id],
    )?;
    if changed == 0 {
        return Err(OriginError::NotFound(format!("no webhook {id}")));
    }
    op.db.execute(
        "UPDATE deliveries SET status = 'failed', last_error = 'webhook removed'
         WHERE webhook_id = ?1 AND status = 'pending'",
        params![id],
    )?;
    Ok(WebhookRemoved { id, deleted: true })
}

/// Deliveries, newest first, with their attempts.
pub fn deliveries(
    db: &Db,
    webhook: Option<i64>,
    status: Option<&str>,
) -> Result<DeliveryList, OriginError> {
    if let Some(s) = status.filter(|s| !["pending", "delivered", "failed"].contains(s)) {
        return Err(OriginError::BadRequest(format!(
            "unknown status `{s}`; statuses are pending, delivered, failed"
        )));
    }
    let rows = db.query(
        "SELECT id, webhook_id, event, status, attempts, last_status, last_error, created_at,
                next_attempt_ms, delivered_at
         FROM deliveries WHERE (CAST(?1 AS BIGINT) IS NULL OR webhook_id = ?1)
           AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)
         ORDER BY id DESC LIMIT 500",
        params![webhook, status],
        |r| {
            let status: String = r.get(3)?;
            let next: i64 = r.get(8)?;
            Ok(Delivery {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                event: r.get(2)?,
                next_attempt_at: (status == "pending").then(|| rfc3339(next)),
                status,
                attempts: r.get(4)?,
                last_status: r.get(5)?,
                last_error: r.get(6)?,
                created_at: r.get(7)?,
                delivered_at: r.get(9)?,
                attempt_log: Vec::new(),
            })
        },
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        row.attempt_log = db.query(
            "SELECT attempt, at, status, error FROM delivery_attempts WHERE delivery_id = ?1
             ORDER BY attempt",
            params![row.id],
            |r| {
                Ok(DeliveryAttempt {
                    attempt: r.get(0)?,
                    at: r.get(1)?,
                    status: r.get(2)?,
                    error: r.get(3)?,
                })
            },
        )?;
        out.push(row);
    }
    Ok(DeliveryList { deliveries: out })
}

/// A delivery due now.
#[derive(Debug, Clone)]
pub struct Due {
    id: i64,
    url: String,
    secret: String,
    event: String,
    body: String,
    attempts: i64,
}

/// Deliveries due at `now_ms`, oldest first.
pub fn due(db: &Db, now_ms: i64) -> Result<Vec<Due>, OriginError> {
    let rows = db.query(
        "SELECT d.id, w.url, w.secret, d.event, d.body, d.attempts FROM deliveries d
         JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND d.next_attempt_ms <= ?1 ORDER BY d.id LIMIT 50",
        params![now_ms],
        |r| {
            Ok(Due {
                id: r.get(0)?,
                url: r.get(1)?,
                secret: r.get(2)?,
                event: r.get(3)?,
                body: r.get(4)?,
                attempts: r.get(5)?,
            })
        },
    )?;
    Ok(rows)
}

/// Posts one delivery; `Ok(status)` for any HTTP answer, `Err` for no answer.
pub fn send(agent: &ureq::Agent, d: &Due) -> Result<u16, String> {
    let response = agent
        .post(&d.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", concat!("vexil/", env!("CARGO_PKG_VERSION")))
        .header("X-Vexil-Event", &d.event)
        .header("X-Vexil-Delivery", d.id.to_string())
        .header("X-Vexil-Signature", signature(&d.secret, d.body.as_bytes()))
        .send(d.body.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

/// Records an attempt's outcome: delivered on 2xx, else retried after 1 s, 2 s,
/// 4 s, ... until `max_attempts`, then failed.
pub fn record(op: &Op<'_>, d: &Due, outcome: Result<u16, String>) -> Result<(), OriginError> {
    let attempt = d.attempts + 1;
    let (code, error) = match &outcome {
        Ok(code) if (200..300).contains(code) => (Some(*code), None),
        Ok(code) => (Some(*code), Some(format!("HTTP {code}"))),
        Err(e) => (None, Some(e.clone())),
    };
    op.db.execute(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, status, error)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![d.id, attempt, op.now(), code, error],
    )?;
    let status = if error.is_none() {
        "delivered"
    } else if attempt >= i64::from(op.config.webhook_max_attempts) {
        "failed"
    } else {
        "pending"
    };
    let backoff = 1000i64 << (attempt - 1).clamp(0, 20);
    op.db.execute(
        "UPDATE deliveries SET status = ?1, attempts = ?2, last_status = ?3, last_error = ?4,
                next_attempt_ms = ?5, delivered_at = CASE WHEN ?1 = 'delivered' THEN ?6 ELSE NULL END
         WHERE id = ?7",
        params![status, attempt, code, error, op.now_ms + backoff, op.now(), d.id],
    )?;
    Ok(())
}

/// Delivers what is due, forever; `wake` is notified after commits that queue events.
/// Only while this replica leads (see [`super::leader`]): each delivery is posted by
/// one replica.
pub async fn run(
    origin: std::sync::Arc<Origin>,
    wake: std::sync::Arc<tokio::sync::Notify>,
    leader: super::leader::Leadership,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    loop {
        leader.until_leading().await;
        let batch = origin.read(|op| due(op.db, op.now_ms)).unwrap_or_default();
        for d in batch {
            // Stepped down mid-batch: the new leader posts the rest.
            if !leader.is_leader() {
                break;
            }
            let (agent, origin) = (agent.clone(), origin.clone());
            let done = tokio::task::spawn_blocking(move || {
                let outcome = send(&agent, &d);
                origin.write(|op| record(op, &d, outcome))
            })
            .await;
            if let Ok(Err(e)) = done {
                super::log(format_args!("webhooks: cannot record a delivery: {e}"));
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
