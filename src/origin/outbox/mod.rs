//! The outbox: every side effect of the origin's operations comes from one stream of
//! typed [`DomainEvent`]s.
//!
//! An operation [`emit`]s its events into the `outbox` table inside its own
//! transaction, so an event exists exactly when the change it describes was
//! committed: a change rolled back leaves no event. Consumers read the stream in
//! order (`seq`):
//!
//! - *transactional* consumers ([`Consumer`], listed in [`consumers`]) write only to
//!   the database. [`dispatch`] runs them at the end of every write transaction
//!   ([`Origin::write`](crate::origin::Origin::write)), and each consumer's position
//!   (`outbox_positions`) advances in the same transaction as what it wrote: an
//!   event is consumed exactly once, never lost and never twice. What a crash left
//!   unconsumed (an event written by a transaction that did not dispatch) is
//!   consumed when the origin opens. The webhook consumer is one: it turns events
//!   into `deliveries`, which the delivery task posts.
//! - *live* consumers read the stream with [`after`] from a position of their own:
//!   server-sent events (in memory, from the head at start: a stream's subscribers
//!   do not outlive the process) and publish targets (persisted with
//!   [`set_position`], advanced only once every target has the new snapshots).
//!
//! Consumed events are deleted after a week ([`retention`]).
//!
//! To add a side effect: a consumer in this directory, and a line in [`consumers`]
//! (or a task reading [`after`]). A consumer added later starts at position 0 and
//! sees the whole stream.
//!
//! The audit chain is not a consumer: its record is part of the change itself
//! (written first, in the change's transaction, by the operation), see
//! `docs/architecture.md`.

mod event;
pub mod retention;
mod webhooks;

pub use event::{DomainEvent, RolloutNotice, TYPES, WEBHOOK_TYPES};

use super::{Op, OriginError};
use crate::origin::db::{params, Db};

/// An event as stored: its place in the stream and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Its position in the stream, from 1, increasing.
    pub seq: i64,
    /// When the operation that wrote it happened, epoch milliseconds.
    pub at_ms: i64,
    /// What happened.
    pub event: DomainEvent,
}

/// A side effect driven by the stream inside the origin's write transactions.
///
/// `handle` writes only through `op.db`, in the transaction that also advances the
/// consumer's position, so it runs exactly once per event; it must not do I/O
/// outside the database (that belongs to a task reading what it wrote).
pub trait Consumer {
    /// The consumer's name: the key of its position. Never renamed (a renamed
    /// consumer would see the whole stream again).
    fn name(&self) -> &'static str;

    /// Applies one event.
    fn handle(&self, op: &Op<'_>, event: &Recorded) -> Result<(), OriginError>;
}

/// The transactional consumers, in the order they see each event.
pub fn consumers() -> Vec<Box<dyn Consumer>> {
    vec![Box::new(webhooks::Webhooks)]
}

/// The PostgreSQL channel a write notifies when it added to the stream: every
/// replica's event watcher listens on it (`events::listen`), so it reads the new
/// events at once rather than at its next poll.
pub const CHANNEL: &str = "vexil_outbox";

/// Writes `event` into the stream, in the operation's transaction, at its time. On
/// PostgreSQL it also notifies [`CHANNEL`]: delivered when the transaction commits
/// (never for one rolled back), once per transaction however many events it wrote.
pub fn emit(op: &Op<'_>, event: DomainEvent) -> Result<i64, OriginError> {
    if op.db.is_postgres() {
        op.db
            .execute("SELECT pg_notify(?1, '')", params![CHANNEL])?;
    }
    let id: i64 = op.db.query_row(
        "INSERT INTO outbox (type, environment, at_ms, event) VALUES (?1, ?2, ?3, ?4)
         RETURNING seq",
        params![
            event.type_name(),
            event.environment(),
            op.now_ms,
            serde_json::to_string(&event)?
        ],
        |r| r.get::<i64>(0),
    )?;
    Ok(id)
}

/// Up to `limit` events after position `seq`, oldest first.
pub fn after(db: &Db, seq: i64, limit: usize) -> Result<Vec<Recorded>, OriginError> {
    let rows = db.query(
        "SELECT seq, at_ms, event FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        params![seq, limit as i64],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?)),
    )?;
    rows.into_iter()
        .map(|(seq, at_ms, text)| {
            let event = serde_json::from_str(&text).map_err(|e| {
                OriginError::Internal(format!("outbox event {seq} is unreadable: {e}"))
            })?;
            Ok(Recorded { seq, at_ms, event })
        })
        .collect()
}

/// The newest event's position (0: none yet).
pub fn head(db: &Db) -> Result<i64, OriginError> {
    Ok(
        db.query_row("SELECT COALESCE(MAX(seq), 0) FROM outbox", params![], |r| {
            r.get(0)
        })?,
    )
}

/// Where `consumer` stands: the last event it consumed (0: none).
pub fn position(db: &Db, consumer: &str) -> Result<i64, OriginError> {
    Ok(db
        .query_opt(
            "SELECT seq FROM outbox_positions WHERE consumer = ?1",
            params![consumer],
            |r| r.get(0),
        )?
        .unwrap_or(0))
}

/// Records that `consumer` consumed every event up to `seq`.
pub fn set_position(db: &Db, consumer: &str, seq: i64) -> Result<(), OriginError> {
    db.execute(
        "INSERT INTO outbox_positions (consumer, seq) VALUES (?1, ?2)
         ON CONFLICT (consumer) DO UPDATE SET seq = ?2",
        params![consumer, seq],
    )?;
    Ok(())
}

/// Runs `consumers` over every event each has not consumed, advancing their
/// positions; inside the caller's transaction. Returns how many events were handed
/// to a consumer.
pub fn dispatch(op: &Op<'_>, consumers: &[Box<dyn Consumer>]) -> Result<usize, OriginError> {
    const BATCH: usize = 500;
    let mut handed = 0;
    for consumer in consumers {
        let mut at = position(op.db, consumer.name())?;
        loop {
            let batch = after(op.db, at, BATCH)?;
            let Some(last) = batch.last().map(|r| r.seq) else {
                break;
            };
            for recorded in &batch {
                consumer.handle(op, recorded)?;
            }
            handed += batch.len();
            at = last;
            set_position(op.db, consumer.name(), at)?;
        }
    }
    Ok(handed)
}

#[cfg(test)]
mod tests;
