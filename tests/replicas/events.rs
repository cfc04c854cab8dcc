//! Event streams across replicas woken by PostgreSQL `LISTEN/NOTIFY`: a publish or
//! a kill through one replica reaches the subscribers of another within 2 s even
//! when the watcher's fallback poll is 30 s, so only the notification can be what
//! delivered it.

use crate::support::{simple_flag, DataDir, Server};
use serde_json::{json, Value};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

const FLAGS: &str = "/api/v1/environments/production/flags";

/// The first `kind` event (`snapshot`, `kill`) `events` hears within 2 s that
/// `matches`, and how long after `since` it came.
fn heard(
    events: &Receiver<(String, Value)>,
    kind: &str,
    since: Instant,
    matches: impl Fn(&Value) -> bool,
) -> (Value, Duration) {
    loop {
        let left = Duration::from_secs(2).saturating_sub(since.elapsed());
        let (event, body) = events
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no `{kind}` event within 2 s"));
        if event == kind && matches(&body) {
            return (body, since.elapsed());
        }
    }
}

#[test]
fn publishes_and_kills_reach_another_replicas_subscribers_by_notification() {
    let (data, admin) = DataDir::init("replica_notify");
    data.set("poll_interval", "poll_interval = \"30s\"");
    let (a, b) = (Server::start(&data), Server::start(&data));
    let events = b.events("/api/v1/environments/production/events", &admin);
    let mut latencies = Vec::new();
    for i in 0..3 {
        let key = format!("notified-{i}");
        let published = Instant::now();
        let made = a
            .post(FLAGS, &admin, json!({ "flag": simple_flag(&key) }))
            .expect(201);
        let version = made.json["version"].as_u64();
        let (_, took) = heard(&events, "snapshot", published, |e| {
            version.is_none() || e["version"].as_u64() >= version
        });
        latencies.push(took);
    }
    // The kill switch too.
    let killed = Instant::now();
    a.post(
        &format!("{FLAGS}/notified-0/kill"),
        &admin,
        json!({ "reason": "incident 7" }),
    )
    .expect(200);
    let (kill, took) = heard(&events, "kill", killed, |e| e["flag"] == "notified-0");
    assert_eq!(kill["reason"], "incident 7");
    latencies.push(took);
    eprintln!("write on A -> event on B (poll 30 s): {latencies:?}");
}
