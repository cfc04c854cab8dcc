//! Real-time events per environment (`GET /api/v1/environments/{env}/events`, server-
//! sent events): a new snapshot version, and the kill switch. The console and the
//! browser SDK subscribe and fetch the new snapshot at once; polling stays the
//! fallback.
//!
//! A watcher reads the database a few times a second (writes happen in many places,
//! and the database is the truth) and broadcasts what changed.

use super::{publish, Origin, OriginError};
use rusqlite::params;
use serde::Serialize;
use std::collections::BTreeMap;
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

struct Seen {
    versions: BTreeMap<String, u64>,
    audit_seq: i64,
}

fn scan(origin: &Origin, seen: &mut Seen) -> Result<Vec<Event>, OriginError> {
    origin.read(|op| {
        let mut out = Vec::new();
        let mut stmt = op.db.prepare(
            "SELECT seq, subject, details FROM audit WHERE seq > ?1 AND action = 'flag.killed' ORDER BY seq",
        )?;
        let kills = stmt
            .query_map(params![seen.audit_seq], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let head: i64 = op.db.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))?;
        for env in publish::environment_names(op.db)? {
            let version = publish::latest(op.db, &env)?.map_or(0, |p| p.version);
            if seen.versions.get(&env).is_some_and(|v| *v < version) {
                for (_, subject, details) in kills.iter().filter(|(_, s, _)| s.starts_with(&format!("{env}/"))) {
                    let details: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
                    out.push(Event {
                        kind: "kill",
                        environment: env.clone(),
                        version,
                        flag: subject.split_once('/').map(|(_, f)| f.to_string()),
                        reason: details["reason"].as_str().map(str::to_string),
                    });
                }
                out.push(Event { kind: "snapshot", environment: env.clone(), version, flag: None, reason: None });
            }
            seen.versions.insert(env, version);
        }
        seen.audit_seq = head;
        Ok(out)
    })
}

/// Watches for new versions and kills, broadcasting them, forever.
pub async fn watch(origin: Arc<Origin>, hub: Hub) {
    let mut seen = Seen {
        versions: BTreeMap::new(),
        audit_seq: 0,
    };
    // The first scan only learns where things stand.
    loop {
        let o = origin.clone();
        let result = tokio::task::spawn_blocking(move || {
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
