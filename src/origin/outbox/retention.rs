//! Keeping the outbox small: an event every transactional consumer has consumed,
//! older than [`KEEP`], is deleted.
//!
//! Live consumers do not hold events back: server-sent events read what is new within
//! a fraction of a second, and publish targets read within a minute and look at every
//! environment when they start (and retry failures from their own status), so an
//! event a week old tells them nothing they need.

use super::{consumers, position};
use crate::origin::db::{params, Db};
use crate::origin::{Origin, OriginError};
use std::sync::Arc;
use std::time::Duration;

/// How long a consumed event is kept (for inspection, and for live consumers).
pub const KEEP: Duration = Duration::from_secs(7 * 86_400);

/// Deletes the events every transactional consumer has consumed and that happened
/// before `before_ms`; returns how many. A consumer without a position (one just
/// added) holds every event back until it has consumed them.
pub fn prune(db: &Db, before_ms: i64) -> Result<usize, OriginError> {
    let mut upto = i64::MAX;
    for consumer in consumers() {
        upto = upto.min(position(db, consumer.name())?);
    }
    Ok(db.execute(
        "DELETE FROM outbox WHERE seq <= ?1 AND at_ms < ?2",
        params![upto, before_ms],
    )?)
}

/// Prunes the outbox every hour, forever.
/// Only while this replica leads (see [`crate::origin::leader`]).
pub async fn run(origin: Arc<Origin>, leader: crate::origin::leader::Leadership) {
    loop {
        leader.until_leading().await;
        let o = origin.clone();
        let done = tokio::task::spawn_blocking(move || {
            o.write(|op| prune(op.db, op.now_ms - KEEP.as_millis() as i64))
        })
        .await;
        if let Ok(Err(e)) = done {
            crate::origin::log(format_args!("outbox: cannot prune: {e}"));
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
