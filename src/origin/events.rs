//! Real-time events per environment (`GET /api/v1/environments/{env}/events`, server-
//! sent events): a new snapshot version, and the kill switch. The console and the
//! browser SDK subscribe and fetch the new snapshot at once; polling stays the
//! fallback.
//!
//! A watcher is a live consumer of the [`outbox`]: a few times a second it reads the
//! events committed since it last looked (the database is the truth) and broadcasts
//! the snapshots published and the kills among them.

use super::outbox::{self, DomainEvent};
use super::{Origin, OriginError};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// One event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `snapshot` or `kill`.
    #[serde(skip)]
    pub kind: &'static str,
    /// The environment.
    pub environment: String,
    /// The newest snapshot version.
    pub version: u64,
    /// The flag (kill events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// Why (kill events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The broadcast side, shared by the watcher and the handlers.
#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Event>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            sender: broadcast::channel(256).0,
        }
    }
}

impl Hub {
    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    /// Open subscriptions (event streams being served).
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// What one subscriber has been told: the newest version announced to it.
///
/// A stream opens with the version current when it subscribed; the watcher may then
/// broadcast a write that committed before that (its scan was under way), which the
/// subscriber already has. Such events are dropped, not announced twice.
pub struct Announced(u64);

impl Announced {
    /// A subscriber whose first event announced `version`.
    pub fn new(version: u64) -> Self {
        Announced(version)
    }

    /// Whether `e` is news to this subscriber, remembering a newer version. A kill
    /// is news until a snapshot of its version has been announced: the kills of a
    /// pass come before their snapshot.
    pub fn is_news(&mut self, e: &Event) -> bool {
        let news = e.version > self.0;
        if news && e.kind == "snapshot" {
            self.0 = e.version;
        }
        news
    }
}

struct Seen {
    /// The last event looked at; `None` until the first scan.
    outbox_seq: Option<i64>,
}

/// The events of what the outbox received since `seen`: per environment published
/// anew (in the order first published), its kills, then its newest version.
fn scan(origin: &Origin, seen: &mut Seen) -> Result<Vec<Event>, OriginError> {
    origin.read(|op| {
        let Some(from) = seen.outbox_seq else {
            seen.outbox_seq = Some(outbox::head(op.db)?);
            return Ok(Vec::new());
        };
        let batch = outbox::after(op.db, from, 10_000)?;
        let mut versions: Vec<(String, u64)> = Vec::new();
        let mut kills: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        for recorded in &batch {
            seen.outbox_seq = Some(recorded.seq);
            match &recorded.event {
                DomainEvent::SnapshotPublished {
                    environment,
                    version,
                } => match versions.iter_mut().find(|(e, _)| e == environment) {
                    Some((_, v)) => *v = (*v).max(*version),
                    None => versions.push((environment.clone(), *version)),
                },
                DomainEvent::FlagKilled { change } => kills.push((
                    change.environment.clone(),
                    change.flag.clone(),
                    change.reason.clone(),
                )),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (env, version) in versions {
            for (_, flag, reason) in kills.iter().filter(|(e, _, _)| *e == env) {
                out.push(Event {
                    kind: "kill",
                    environment: env.clone(),
                    version,
                    flag: flag.clone(),
                    reason: reason.clone(),
                });
            }
            out.push(Event {
                kind: "snapshot",
                environment: env,
                version,
                flag: None,
                reason: None,
            });
        }
        Ok(out)
    })
}

/// Wakes `wake` whenever a write on any replica notifies [`outbox::CHANNEL`], from a
/// thread of its own with a connection of its own to the PostgreSQL database at
/// `url`, for the life of the process. A lost connection is opened again (every
/// 2 s until it succeeds), waking the watcher once in case it missed something;
/// meanwhile the watcher's poll keeps events flowing, only later.
pub fn listen(url: String, wake: Arc<tokio::sync::Notify>) {
    let spawned = std::thread::Builder::new()
        .name("vexil-events-listen".into())
        .spawn(move || loop {
            match super::db::Listener::connect(&url, outbox::CHANNEL) {
                Ok(mut listener) => {
                    wake.notify_one();
                    loop {
                        match listener.wait(Duration::from_secs(30)) {
                            Ok(true) => wake.notify_one(),
                            Ok(false) => {}
                            Err(e) => {
                                super::log(format_args!("events: stopped listening: {e}"));
                                break;
                            }
                        }
                    }
                }
                Err(e) => super::log(format_args!("events: cannot listen: {e}")),
            }
            std::thread::sleep(Duration::from_secs(2));
        });
    if let Err(e) = spawned {
        super::log(format_args!(
            "events: cannot start listening ({e}); polling only"
        ));
    }
}

/// Watches for new versions and kills, broadcasting them, forever: a pass every
/// `[events] poll_interval`, or at once when `wake` is notified (a write on this
/// or, through [`listen`], another replica).
pub async fn watch(origin: Arc<Origin>, hub: Hub, wake: Arc<tokio::sync::Notify>) {
    // The first scan only learns where the stream stands: a subscriber does not
    // outlive the process, so this consumer's position lives in memory.
    let mut seen = Seen { outbox_seq: None };
    loop {
        let o = origin.clone();
        let result = tokio::task::spawn_blocking(move || {
            // Riding on this loop: a rotation made by another replica is taken up
            // within one pass (on SQLite a no-op).
            if let Err(e) = o.follow_key_rotation() {
                super::log(format_args!("signing keys: {e}"));
            }
            let out = scan(&o, &mut seen);
            (out, seen)
        })
        .await;
        match result {
            Ok((events, back)) => {
                seen = back;
                match events {
                    Ok(events) => {
                        for e in events {
                            let _ = hub.sender.send(e);
                        }
                    }
                    Err(e) => super::log(format_args!("events: {e}")),
                }
            }
            Err(e) => {
                super::log(format_args!("events watcher failed: {e}"));
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(origin.config.events_poll_interval) => {}
            _ = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &'static str, version: u64) -> Event {
        Event {
            kind,
            environment: "production".into(),
            version,
            flag: None,
            reason: None,
        }
    }

    #[test]
    fn a_subscriber_hears_each_version_once_and_the_kills_before_it() {
        let mut told = Announced::new(2);
        // A write that committed before the subscription, broadcast after it.
        assert!(!told.is_news(&event("snapshot", 2)));
        assert!(!told.is_news(&event("kill", 2)));
        // Two kills published together, then their snapshot.
        assert!(told.is_news(&event("kill", 3)));
        assert!(told.is_news(&event("kill", 3)));
        assert!(told.is_news(&event("snapshot", 3)));
        assert!(!told.is_news(&event("snapshot", 3)));
        assert!(!told.is_news(&event("kill", 3)));
        assert!(told.is_news(&event("snapshot", 5)));
    }
}
