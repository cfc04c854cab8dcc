//! Writes through two replicas at once are serialised by the database
//! (`db::WRITE_LOCK`): without it, two writers read the same audit head, the same
//! last version and the same "not yet ingested", and one of them fails on a
//! duplicate key (or, without the keys, forks the chain).

use crate::support::{simple_flag, split_batch, vexil, DataDir, Server};
use serde_json::{json, Value};
use std::sync::Barrier;

const WRITERS_PER_REPLICA: usize = 2;
const WRITES_PER_WRITER: usize = 6;

/// `(environment, version, issued_at_ms)` of every snapshot, by environment then
/// version.
pub(crate) fn versions(data: &DataDir) -> Vec<(String, i64, i64)> {
    data.psql(
        "SELECT environment || ' ' || version || ' ' || issued_at_ms FROM snapshots
         ORDER BY environment, version",
    )
    .lines()
    .map(|l| {
        let mut parts = l.split(' ');
        let env = parts.next().unwrap().to_string();
        let version = parts.next().unwrap().parse().unwrap();
        let at = parts.next().unwrap().parse().unwrap();
        (env, version, at)
    })
    .collect()
}

/// Each environment's versions are 1, 2, 3… with none taken twice or skipped, and
/// issued in that order.
pub(crate) fn assert_one_sequence_per_environment(rows: &[(String, i64, i64)]) {
    let mut last: Option<(&str, i64, i64)> = None;
    for (env, version, at) in rows {
        match last {
            Some((e, v, t)) if e == env => {
                assert_eq!(*version, v + 1, "{env}: version {version} after {v}");
                assert!(*at >= t, "{env}: version {version} issued before {v}");
            }
            _ => assert_eq!(*version, 1, "{env} starts at version {version}"),
        }
        last = Some((env, *version, *at));
    }
}

#[test]
fn concurrent_writes_on_two_replicas_keep_one_chain_and_one_version_sequence() {
    let (data, admin) = DataDir::init("replica_writes");
    let replicas = [Server::start(&data), Server::start(&data)];
    let sdk = replicas[0].sdk_key(&admin, "production");
    let before = versions(&data).len();

    // Writers on both replicas at once: each creates flags in production and staging
    // and updates them (every change publishes a snapshot).
    let writers = replicas.len() * WRITERS_PER_REPLICA;
    let start = Barrier::new(writers);
    std::thread::scope(|scope| {
        for w in 0..writers {
            let (server, start, admin) = (&replicas[w % replicas.len()], &start, &admin);
            scope.spawn(move || {
                start.wait();
                for i in 0..WRITES_PER_WRITER {
                    let env = ["production", "staging"][i % 2];
                    let key = format!("w{w}-f{i}");
                    let flags = format!("/api/v1/environments/{env}/flags");
                    let made = server.post(&flags, admin, json!({ "flag": simple_flag(&key) }));
                    assert_eq!(made.status, 201, "writer {w} creating {key}: {}", made.text);
                    let mut flag = simple_flag(&key);
                    flag["fallthrough"] = json!({ "variant": "on" });
                    let put = server.put(&format!("{flags}/{key}"), admin, json!({ "flag": flag }));
                    assert_eq!(put.status, 200, "writer {w} updating {key}: {}", put.text);
                }
            });
        }
    });

    // The same metrics batch sent to both replicas at the same moment, five times.
    let mut flag = simple_flag("metered");
    flag["fallthrough"] = json!({ "rollout": { "weights": { "on": 75, "off": 25 } } });
    replicas[1]
        .post(
            "/api/v1/environments/production/flags",
            &admin,
            json!({ "flag": flag }),
        )
        .expect(201);
    const BATCHES: usize = 5;
    let answers: Vec<Value> = (0..BATCHES)
        .flat_map(|b| {
            let mut batch = split_batch("metered", crate::support::now_ms());
            batch["batch_id"] = json!(format!("batch-{b}"));
            let both = Barrier::new(replicas.len());
            std::thread::scope(|scope| {
                let sent: Vec<_> = replicas
                    .iter()
                    .map(|server| {
                        let (both, batch, sdk) = (&both, &batch, &sdk);
                        scope.spawn(move || {
                            both.wait();
                            let r = server.post("/api/v1/metrics", sdk, batch.clone());
                            assert_eq!(r.status, 200, "ingest: {}", r.text);
                            r.json
                        })
                    })
                    .collect();
                sent.into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let duplicates = answers.iter().filter(|a| a["duplicate"] == true).count();
    assert_eq!(
        duplicates, BATCHES,
        "one of each pair is a duplicate: {answers:?}"
    );
    assert_eq!(
        data.psql("SELECT count(*) FROM metric_batches"),
        BATCHES.to_string()
    );
    let counted = replicas[0]
        .get("/api/v1/flags/metered/metrics?env=production", &admin)
        .expect(200);
    assert_eq!(
        counted.json["total_evaluations"],
        json!(400 * BATCHES),
        "each batch's 400 evaluations counted once: {}",
        counted.text
    );

    // One chain, verified with the audit key; one version sequence per environment,
    // with every change's snapshot in it.
    let mut args = vec!["audit", "verify", "--data", data.arg()];
    args.extend(data.database_args());
    let verify = vexil(&args);
    assert!(
        verify.status.success(),
        "the chain verifies: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let rows = versions(&data);
    assert_one_sequence_per_environment(&rows);
    assert_eq!(rows.len() - before, writers * WRITES_PER_WRITER * 2 + 1);

    // The outbox, which event watchers read by sequence, numbers the publications
    // in the order they were made: each environment's versions rise with `seq`, so
    // a reader that has passed a position has seen every version before it.
    let published =
        data.psql("SELECT event FROM outbox WHERE type = 'snapshot.published' ORDER BY seq");
    let mut last: std::collections::HashMap<String, u64> = Default::default();
    let mut seen = 0;
    for line in published.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        let env = event["environment"].as_str().unwrap().to_string();
        let version = event["version"].as_u64().unwrap();
        let before = last.insert(env.clone(), version).unwrap_or(0);
        assert_eq!(
            version,
            before + 1,
            "{env}: version {version} after {before} in the outbox"
        );
        seen += 1;
    }
    assert_eq!(seen, rows.len(), "every version is in the outbox once");
}
