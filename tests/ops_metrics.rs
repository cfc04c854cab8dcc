//! `GET /metrics` (issue 16 item 4): a real `vexil serve`, scraped and parsed as
//! Prometheus text; every family moves with the action that should move it: a
//! request its route's counter, a publish the version gauge, a batch its outcome,
//! an event stream the subscribers, a failing webhook its failures.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

const DEV_FLAGS: &str = "/api/v1/environments/development/flags";

/// Scrapes and parses `/metrics`.
fn scrape(s: &Server, token: Option<&str>) -> Scrape {
    let r = s.call("GET", "/metrics", token, None, &[]).expect(200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let parsed =
        Scrape::parse(r.text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text parses");
    // The parser skips lines it cannot read: every counter and gauge line must have
    // been read (the latency histogram's lines are grouped, so left out).
    let histogram = "vexil_http_request_duration_seconds";
    let lines = r
        .text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && !l.starts_with(histogram));
    let read = parsed
        .samples
        .iter()
        .filter(|x| !x.metric.starts_with(histogram));
    assert_eq!(
        read.count(),
        lines.count(),
        "unparsed samples in:\n{}",
        r.text
    );
    parsed
}

/// The value of `name` with every label of `labels`, if present.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(k).is_some_and(|x| x == *v))
        })
        .map(|s| match &s.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => *v,
            Sample::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Sample::Summary(_) => f64::NAN,
        })
}

fn requests(scrape: &Scrape, method: &str, route: &str, status: &str) -> f64 {
    value(
        scrape,
        "vexil_http_requests_total",
        &[("method", method), ("route", route), ("status", status)],
    )
    .unwrap_or(0.0)
}

/// Scrapes until `ok` holds (background work: the deliverer, the event stream).
fn eventually(s: &Server, token: &str, what: &str, ok: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = scrape(s, Some(token));
        if ok(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "{what} never showed in /metrics");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn scraping_needs_a_reading_token_unless_public() {
    let (data, admin) = DataDir::init("prom-auth");
    let s = Server::start(&data);
    let none = s.call("GET", "/metrics", None, None, &[]).expect(401);
    assert!(none.text.contains("Authorization"), "{}", none.text);
    let key = s.sdk_key(&admin, "production");
    s.call("GET", "/metrics", Some(&key), None, &[]).expect(403);
    let viewer = s.token(&admin, "prometheus", &["viewer"]);
    let m = scrape(&s, Some(&viewer));
    assert_eq!(value(&m, "vexil_leader", &[]), Some(1.0));
    // OpenMetrics when asked for.
    let open = s
        .call(
            "GET",
            "/metrics",
            Some(&viewer),
            None,
            &[("Accept", "application/openmetrics-text; version=1.0.0")],
        )
        .expect(200);
    assert!(open
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/openmetrics-text")));
    assert!(open.text.ends_with("# EOF\n"), "{}", open.text);
    drop(s);

    let public = Server::start_args(&data, &["--public-metrics"], &[]);
    let m = scrape(&public, None);
    assert_eq!(value(&m, "vexil_leader", &[]), Some(1.0));
}

#[test]
fn requests_are_counted_by_route_template_and_status() {
    let (data, admin) = DataDir::init("prom-routes");
    let s = Server::start(&data);
    let before = scrape(&s, Some(&admin));
    for _ in 0..3 {
        s.call("GET", "/api/v1/health", None, None, &[]).expect(200);
    }
    s.get(
        "/api/v1/environments/development/flags/no-such-flag",
        &admin,
    )
    .expect(404);
    s.call("GET", "/no/such/page/7f3a", None, None, &[]);
    let after = scrape(&s, Some(&admin));
    let health = "/api/v1/health";
    assert_eq!(
        requests(&after, "GET", health, "200") - requests(&before, "GET", health, "200"),
        3.0
    );
    let template = "/api/v1/environments/:env/flags/:key";
    assert_eq!(requests(&after, "GET", template, "404"), 1.0);
    // The raw path is never a label value; what no route matched is one value.
    assert!(
        !after
            .samples
            .iter()
            .any(|x| x.labels.get("route").is_some_and(|r| r.contains("no-such"))),
        "a raw path became a label"
    );
    assert!(requests(&after, "GET", "unmatched", "404") >= 1.0);
    // The latency histogram counts the same requests.
    let seen = after
        .samples
        .iter()
        .find(|x| {
            x.metric == "vexil_http_request_duration_seconds"
                && x.labels.get("route") == Some(health)
        })
        .expect("a latency histogram for /api/v1/health");
    let Sample::Histogram(buckets) = &seen.value else {
        panic!("not a histogram: {:?}", seen.value)
    };
    assert!(
        buckets.last().is_some_and(|b| b.count >= 3.0),
        "{buckets:?}"
    );
    // The scrape itself is a route like any other.
    assert!(requests(&after, "GET", "/metrics", "200") >= 1.0);
}

#[test]
fn publishing_moves_the_version_and_age_of_its_environment() {
    let (data, admin) = DataDir::init("prom-publish");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eddie", &["editor"]);
    let dev = [("environment", "development")];
    let before = scrape(&s, Some(&admin));
    let v0 = value(&before, "vexil_snapshot_version", &dev).expect("a version gauge");
    assert!(value(&before, "vexil_snapshot_age_seconds", &dev).is_some_and(|a| a >= 0.0));
    s.post(
        DEV_FLAGS,
        &editor,
        json!({ "flag": simple_flag("prom-flag") }),
    )
    .expect(201);
    let after = scrape(&s, Some(&admin));
    let v1 = value(&after, "vexil_snapshot_version", &dev).unwrap();
    assert_eq!(v1, v0 + 1.0);
    // Other environments did not move.
    let prod = [("environment", "production")];
    assert_eq!(
        value(&after, "vexil_snapshot_version", &prod),
        value(&before, "vexil_snapshot_version", &prod)
    );
    // Every rollout state is reported, none in use yet.
    for state in ["running", "paused", "completed", "rolled_back", "aborted"] {
        assert_eq!(
            value(&after, "vexil_rollouts", &[("state", state)]),
            Some(0.0),
            "{state}"
        );
    }
}

#[test]
fn metrics_batches_are_counted_accepted_duplicate_and_rejected() {
    let (data, admin) = DataDir::init("prom-batches");
    let s = Server::start(&data);
    let key = s.sdk_key(&admin, "production");
    let batch = |id: &str, count: u64| {
        let end = now_ms();
        json!({
            "schema": 1, "batch_id": id, "sdk": "test/1", "environment": "production",
            "window": { "start_ms": end - 1000, "end_ms": end },
            "flags": { "some-flag": { "variants": { "on": { "count": count, "reasons": { "SPLIT": count } } } } },
        })
    };
    let outcome =
        |m: &Scrape, o: &str| value(m, "vexil_metrics_batches_total", &[("outcome", o)]).expect(o);
    let before = scrape(&s, Some(&admin));
    assert_eq!(outcome(&before, "accepted"), 0.0);
    s.post("/api/v1/metrics", &key, batch("b-1", 5)).expect(200);
    s.post("/api/v1/metrics", &key, batch("b-1", 5)).expect(200);
    s.post("/api/v1/metrics", &key, batch("b-2", 50_000_000))
        .expect(422);
    let after = scrape(&s, Some(&admin));
    assert_eq!(outcome(&after, "accepted"), 1.0);
    assert_eq!(outcome(&after, "duplicate"), 1.0);
    assert_eq!(outcome(&after, "rejected"), 1.0);
}

#[test]
fn event_streams_and_failing_webhooks_show() {
    let (data, admin) = DataDir::init("prom-live");
    let s = Server::start(&data);
    let m = scrape(&s, Some(&admin));
    assert_eq!(value(&m, "vexil_sse_subscribers", &[]), Some(0.0));
    assert_eq!(value(&m, "vexil_webhook_backlog", &[]), Some(0.0));
    assert_eq!(
        value(&m, "vexil_webhook_delivery_failures_total", &[]),
        Some(0.0)
    );
    let _events = s.events("/api/v1/environments/development/events", &admin);
    eventually(&s, &admin, "an event stream", |m| {
        value(m, "vexil_sse_subscribers", &[]) == Some(1.0)
    });
    // A webhook nobody listens at: every attempt fails, and the delivery waits.
    s.post(
        "/api/v1/environments/development/webhooks",
        &admin,
        json!({ "url": "http://127.0.0.1:9/hook" }),
    )
    .expect(201);
    let editor = s.token(&admin, "eddie", &["editor"]);
    s.post(
        DEV_FLAGS,
        &editor,
        json!({ "flag": simple_flag("hooked-flag") }),
    )
    .expect(201);
    let m = eventually(&s, &admin, "a failed delivery attempt", |m| {
        value(m, "vexil_webhook_delivery_failures_total", &[]).is_some_and(|v| v >= 1.0)
    });
    assert!(value(&m, "vexil_webhook_backlog", &[]).is_some_and(|v| v >= 1.0));
}

#[test]
fn rollouts_are_counted_per_state_as_they_move() {
    let (data, admin) = DataDir::init("prom-rollouts");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eddie", &["editor"]);
    let flags = "/api/v1/environments/production/flags";
    s.post(flags, &editor, json!({ "flag": simple_flag("slow-flag") }))
        .expect(201);
    let id = s
        .post(
            &format!("{flags}/slow-flag/rollouts"),
            &editor,
            json!({ "stages": [10, 100], "stage_duration": "10m", "min_samples": 20 }),
        )
        .expect(201)
        .json["id"]
        .as_i64()
        .unwrap();
    let state = |m: &Scrape, st: &str| value(m, "vexil_rollouts", &[("state", st)]);
    let m = scrape(&s, Some(&admin));
    assert_eq!(state(&m, "running"), Some(1.0));
    assert_eq!(state(&m, "paused"), Some(0.0));
    s.post(&format!("/api/v1/rollouts/{id}/pause"), &editor, json!({}))
        .expect(200);
    let m = scrape(&s, Some(&admin));
    assert_eq!(state(&m, "running"), Some(0.0));
    assert_eq!(state(&m, "paused"), Some(1.0));
    s.post(&format!("/api/v1/rollouts/{id}/abort"), &editor, json!({}))
        .expect(200);
    let m = scrape(&s, Some(&admin));
    assert_eq!(state(&m, "paused"), Some(0.0));
    assert_eq!(state(&m, "aborted"), Some(1.0));
}
