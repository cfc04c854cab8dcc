//! Leadership (`origin::leader`): of two replicas on one database, one runs the
//! background jobs. Webhooks are posted once; when the leader is killed mid-rollout
//! the other takes over within 10 s and finishes it; a publish through one replica
//! reaches an event-stream subscriber of the other within 2 s.

use crate::support::{simple_flag, vexil, Clock, DataDir, Server};
use crate::writes::{assert_one_sequence_per_environment, versions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const FLAGS: &str = "/api/v1/environments/production/flags";

/// `vexil_leader` as `server`'s `GET /metrics` reports it; `None` if it does not answer.
fn leads(server: &Server, token: &str) -> Option<bool> {
    let r = server.get("/metrics", token);
    (r.status == 200).then_some(())?;
    let line = r.text.lines().find(|l| l.starts_with("vexil_leader "))?;
    Some(line.trim_end().ends_with(" 1"))
}

/// Waits until `server` leads; how long it took.
fn until_leading(server: &Server, token: &str, within: Duration) -> Duration {
    let started = Instant::now();
    while leads(server, token) != Some(true) {
        assert!(
            started.elapsed() < within,
            "{} did not lead within {within:?}",
            server.url
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

fn rollout(server: &Server, token: &str, id: i64) -> Value {
    server
        .get(&format!("/api/v1/rollouts/{id}"), token)
        .expect(200)
        .json
}

fn wait_rollout(server: &Server, token: &str, id: i64, what: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = rollout(server, token, id);
        if what(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "the rollout never got there: {r}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Healthy traffic for `flag`'s `on` variant: `n` evaluations, 100 tracked outcomes.
fn healthy(id: &str, end_ms: i64, flag: &str, n: u64) -> Value {
    use vexil::metrics::{Batch, BatchMeta, EventStats, FlagStats, OutcomeStats, VariantStats};
    let mut b = Batch::new(BatchMeta {
        batch_id: id.into(),
        sdk: "test/1".into(),
        environment: "production".into(),
        snapshot_version: None,
        window_start_ms: end_ms - 1000,
        window_end_ms: end_ms,
    });
    let mut v = VariantStats {
        count: n,
        ..Default::default()
    };
    v.reasons.insert("SPLIT".into(), n);
    for i in 0..n.min(500) {
        v.units.insert(vexil::metrics::unit_hash(&format!("u-{i}")));
    }
    b.flags.insert(
        flag.into(),
        FlagStats {
            variants: [("on".to_string(), v)].into_iter().collect(),
            ..Default::default()
        },
    );
    let mut o = OutcomeStats {
        count: 100,
        success: 100,
        ..Default::default()
    };
    for _ in 0..100 {
        o.latency.record(20.0);
    }
    let mut e = EventStats {
        count: 100,
        ..Default::default()
    };
    e.attributions
        .insert(flag.into(), [("on".to_string(), o)].into_iter().collect());
    b.events.insert("request".into(), e);
    serde_json::to_value(&b).unwrap()
}

#[test]
fn one_replica_leads_posts_each_webhook_once_and_another_takes_over_when_it_dies() {
    let (data, admin) = DataDir::init("replica_leader");
    data.set("check_interval", "check_interval = \"50ms\"");
    let mut clock = Clock::new(&data);
    let a = Server::start_with(&data, &[clock.var()]);
    until_leading(&a, &admin, Duration::from_secs(10));
    let b = Server::start_with(&data, &[clock.var()]);
    // For longer than one election retry (B tries at its start and every 2 s), A
    // leads and B does not.
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            (leads(&a, &admin), leads(&b, &admin)),
            (Some(true), Some(false))
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A slow receiver, so that a second deliverer polling meanwhile would find the
    // delivery still pending and post it again.
    let (port, received) = crate::receiver::start(|_, _| {
        std::thread::sleep(Duration::from_millis(300));
        "200 OK"
    });
    b.post(
        "/api/v1/environments/production/webhooks",
        &admin,
        json!({ "url": format!("http://127.0.0.1:{port}/hook"), "secret": "a-very-secret-secret",
                "events": ["change.applied"] }),
    )
    .expect(201);
    const CHANGES: usize = 6;
    for i in 0..CHANGES {
        let server = [&a, &b][i % 2];
        server
            .post(
                FLAGS,
                &admin,
                json!({ "flag": simple_flag(&format!("hooked-{i}")) }),
            )
            .expect(201);
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < CHANGES {
        let left = deadline.saturating_duration_since(Instant::now());
        let (head, _) = received.recv_timeout(left).expect("every delivery arrives");
        let id = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("x-vexil-delivery:")
                    .or(l.strip_prefix("X-Vexil-Delivery:"))
            })
            .map(|v| v.trim().to_string())
            .expect("a delivery id");
        *seen.entry(id).or_default() += 1;
    }
    // Once all are recorded delivered, nothing more arrives: each was posted once.
    let deadline = Instant::now() + Duration::from_secs(30);
    while data.psql("SELECT count(*) FROM deliveries WHERE status <> 'delivered'") != "0" {
        assert!(Instant::now() < deadline, "deliveries never all recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Ok((head, _)) = received.recv_timeout(Duration::from_secs(1)) {
        panic!("a delivery posted twice: {head}");
    }
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");

    // A publish through A reaches a subscriber of B within 2 s.
    // Subscribed once the stream answers (the handler subscribes before it does).
    let events = b.events("/api/v1/environments/production/events", &admin);
    let published = Instant::now();
    let made = a
        .post(FLAGS, &admin, json!({ "flag": simple_flag("seen-on-b") }))
        .expect(201);
    let version = made.json["version"].as_u64();
    let latency = loop {
        let left = Duration::from_secs(2).saturating_sub(published.elapsed());
        let (event, body) = events
            .recv_timeout(left)
            .expect("B's subscriber hears within 2 s");
        if event == "snapshot" && (version.is_none() || body["version"].as_u64() >= version) {
            break published.elapsed();
        }
    };
    eprintln!("publish on A -> event on B: {latency:?}");

    // A guarded rollout driven by A's scheduler…
    let mut flag = simple_flag("failover");
    flag["fallthrough"] = json!({ "variant": "off" });
    a.post(FLAGS, &admin, json!({ "flag": flag })).expect(201);
    let started = a
        .post(
            &format!("{FLAGS}/failover/rollouts"),
            &admin,
            json!({ "stages": [10, 50, 100], "stage_duration": "10m", "min_samples": 20 }),
        )
        .expect(201)
        .json;
    let id = started["id"].as_i64().unwrap();
    let sdk = b.sdk_key(&admin, "production");
    clock.advance(20_000);
    b.post(
        "/api/v1/metrics",
        &sdk,
        healthy("f1", clock.now(), "failover", 200),
    )
    .expect(200);
    clock.advance(11 * 60_000);
    wait_rollout(&a, &admin, id, |r| r["stage"] == 2);
    let before_kill = versions(&data);

    // …whose leader dies mid-rollout: B leads within 10 s and finishes it.
    a.kill();
    let took = until_leading(&b, &admin, Duration::from_secs(10));
    eprintln!("takeover after kill -9: {took:?}");
    clock.advance(20_000);
    b.post(
        "/api/v1/metrics",
        &sdk,
        healthy("f2", clock.now(), "failover", 300),
    )
    .expect(200);
    clock.advance(11 * 60_000);
    wait_rollout(&b, &admin, id, |r| r["stage"] == 3);
    clock.advance(20_000);
    b.post(
        "/api/v1/metrics",
        &sdk,
        healthy("f3", clock.now(), "failover", 400),
    )
    .expect(200);
    clock.advance(11 * 60_000);
    let done = wait_rollout(&b, &admin, id, |r| r["status"] == "completed");
    let events: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["rollout.advanced", "rollout.advanced", "rollout.completed"]
    );

    // Nothing lost, nothing twice: versions only went forward, the chain verifies.
    let after = versions(&data);
    assert!(
        before_kill.iter().all(|v| after.contains(v)),
        "every version before the kill is still there"
    );
    let newest = |rows: &[(String, i64, i64)]| {
        rows.iter()
            .filter(|(env, _, _)| env == "production")
            .map(|(_, v, _)| *v)
            .max()
    };
    assert!(
        newest(&after) > newest(&before_kill),
        "production's versions went on"
    );
    assert_one_sequence_per_environment(&after);
    let mut args = vec!["audit", "verify", "--data", data.arg()];
    args.extend(data.database_args());
    let out = vexil(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(b);
}

#[test]
fn a_leader_whose_election_session_ends_steps_down_and_one_replica_leads_again() {
    let (data, admin) = DataDir::init("replica_step_down");
    let a = Server::start(&data);
    until_leading(&a, &admin, Duration::from_secs(10));
    let b = Server::start(&data);
    let holder = || {
        data.psql(&format!(
            // pg_locks is the cluster's: other tests' replicas lead their databases.
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND ((classid::bigint << 32) | objid::bigint) = {}",
            vexil::origin::leader::LEADER_LOCK
        ))
    };
    let first = holder();
    assert!(!first.is_empty(), "the leader holds the lock");
    // Its session ends (a failover of the database, an operator): A finds out at
    // its next check and steps down; then exactly one replica leads, and stays so.
    data.psql(&format!("SELECT pg_terminate_backend({first})"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut steady = 0;
    while steady < 5 {
        assert!(Instant::now() < deadline, "no single leader within 10 s");
        let both = (leads(&a, &admin), leads(&b, &admin));
        let one = matches!(both, (Some(true), Some(false)) | (Some(false), Some(true)));
        let held = holder();
        steady = if one && !held.is_empty() && held != first {
            steady + 1
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(200));
    }
}
