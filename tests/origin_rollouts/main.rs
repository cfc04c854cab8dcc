//! Edge metrics and progressive rollouts at the origin, one file per idea: batches
//! posted with SDK keys (as `pkg/` sends them), reports and HIPAA evaluation audit
//! (`metrics`); rollouts that advance on healthy metrics, roll back on bad ones and
//! survive a `kill -9` (`stages`); MiFID II order routing's mandatory best-execution
//! guard (`best_execution`); clinical rollouts, their mandatory guards and approvals
//! (`safety`). Time moves through `VEXIL_CLOCK_FILE`, so ten-minute stages
//! take milliseconds.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../support/mod.rs"]
mod support;

mod best_execution;
mod contract;
mod metrics;
mod safety;
mod stages;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;
use vexil::metrics::{Batch, BatchMeta, EventStats, FlagStats, OutcomeStats, VariantStats};

const FLAGS: &str = "/api/v1/environments/production/flags";

/// Edge traffic: (evaluations, tracked outcomes, failed outcomes, latency ms).
type Traffic = (u64, u64, u64, f64);

/// What edges report: `evaluations` served `variant`, `failures` of `outcomes`
/// tracked `request` outcomes failed, each taking `latency_ms`.
fn batch(id: &str, end_ms: i64, flag: &str, variant: &str, traffic: Traffic) -> Value {
    let (evaluations, outcomes, failures, latency_ms) = traffic;
    let mut b = Batch::new(BatchMeta {
        batch_id: id.into(),
        sdk: "test/1".into(),
        environment: "production".into(),
        snapshot_version: Some(1),
        window_start_ms: end_ms - 1000,
        window_end_ms: end_ms,
    });
    let mut v = VariantStats {
        count: evaluations,
        ..Default::default()
    };
    v.reasons.insert("SPLIT".into(), evaluations);
    v.dimensions.insert(
        "geo.country".into(),
        [("DE".to_string(), evaluations)].into_iter().collect(),
    );
    for i in 0..evaluations.min(500) {
        v.units
            .insert(vexil::metrics::unit_hash(&format!("user-{i}")));
    }
    b.flags.insert(
        flag.into(),
        FlagStats {
            variants: [(variant.to_string(), v)].into_iter().collect(),
            ..Default::default()
        },
    );
    let mut o = OutcomeStats {
        count: outcomes,
        success: outcomes - failures,
        failure: failures,
        ..Default::default()
    };
    for _ in 0..outcomes {
        o.latency.record(latency_ms);
    }
    let mut e = EventStats {
        count: outcomes,
        ..Default::default()
    };
    e.attributions.insert(
        flag.into(),
        [(variant.to_string(), o)].into_iter().collect(),
    );
    b.events.insert("request".into(), e);
    serde_json::to_value(&b).unwrap()
}

fn wait_for(s: &Server, token: &str, id: i64, what: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s
            .get(&format!("/api/v1/rollouts/{id}"), token)
            .expect(200)
            .json;
        if what(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "rollout never got there: {r}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a rollout of `flag` as `body` asks (201); the rollout as answered.
fn start_rollout(s: &Server, token: &str, flag: &str, body: Value) -> Value {
    s.post(&format!("{FLAGS}/{flag}/rollouts"), token, body)
        .expect(201)
        .json
}

fn weights(s: &Server, token: &str, flag: &str) -> Value {
    let payload = verified_payload(s, "production", token);
    payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == flag)
        .unwrap()["fallthrough"]
        .clone()
}

fn setup(name: &str) -> (DataDir, String, Clock) {
    let (data, admin) = DataDir::init(name);
    data.set("check_interval", "check_interval = \"50ms\"");
    let clock = Clock::new(&data);
    (data, admin, clock)
}

/// A health endpoint that always answers 200, for `[[health.systems]]`.
fn healthy_endpoint() -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.read(&mut [0u8; 1024]);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, handle)
}
