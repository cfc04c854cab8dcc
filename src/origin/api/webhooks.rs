//! Webhooks and their deliveries: `GET /environments/{env}/webhooks`
//! ([`WebhookList`]), `POST /environments/{env}/webhooks` ([`NewWebhook`] →
//! [`CreatedWebhook`]), `DELETE /webhooks/{id}` ([`WebhookRemoved`]) and
//! `GET /webhooks/deliveries` ([`DeliveryList`]); what a delivery posts
//! ([`Envelope`]).

use serde::{Deserialize, Serialize};

/// `POST /environments/{env}/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are posted (http or https).
    pub url: String,
    /// The HMAC secret (at least 16 characters); without one the origin makes one.
    pub secret: Option<String>,
    /// The events it receives; none for all of them.
    #[serde(default)]
    pub events: Vec<String>,
}

/// A newly added webhook; its secret is never shown again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedWebhook {
    /// Webhook id.
    pub id: i64,
    /// Its environment.
    pub environment: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The events it receives (empty: all).
    pub events: Vec<String>,
    /// The secret that signs its deliveries (`X-Vexil-Signature`).
    pub secret: String,
}

/// A webhook as `GET /environments/{env}/webhooks` lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Webhook id.
    pub id: i64,
    /// Where deliveries are posted.
    pub url: String,
    /// The events it receives (empty: all).
    pub events: Vec<String>,
    /// When it was added (RFC 3339).
    pub created_at: String,
}

/// `GET /environments/{env}/webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookList {
    /// The environment's webhooks, by id.
    pub webhooks: Vec<Webhook>,
}

/// `DELETE /webhooks/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookRemoved {
    /// The webhook removed.
    pub id: i64,
    /// Always `true`.
    pub deleted: bool,
}

/// One attempt to post a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: i64,
    /// When (RFC 3339).
    pub at: String,
    /// The HTTP status answered; none when nothing answered.
    pub status: Option<i64>,
    /// Why it failed (non-2xx or no answer).
    pub error: Option<String>,
}

/// An event queued for one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Delivery id (the `X-Vexil-Delivery` header).
    pub id: i64,
    /// The webhook it is for.
    pub webhook_id: i64,
    /// The event (`flag.killed`, ...).
    pub event: String,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// The HTTP status of the last attempt.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued (RFC 3339).
    pub created_at: String,
    /// When it was delivered.
    pub delivered_at: Option<String>,
    /// Every attempt, first to last.
    pub attempt_log: Vec<DeliveryAttempt>,
}

/// `GET /webhooks/deliveries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryList {
    /// Deliveries, newest first (at most 500).
    pub deliveries: Vec<Delivery>,
}

/// The body of every delivery a webhook receives (`POST` to its URL, signed in
/// `X-Vexil-Signature`), fields in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The delivery's id (also in `X-Vexil-Delivery`).
    pub id: i64,
    /// The event (`change.applied`, ...; also in `X-Vexil-Event`).
    pub event: String,
    /// The environment told.
    pub environment: String,
    /// When the event happened (RFC 3339).
    pub at: String,
    /// The event's document: the change as `GET /changes/{id}` answers it, the
    /// rollout with the event's `details`, a review notice, a probe's findings.
    pub data: serde_json::Value,
}
