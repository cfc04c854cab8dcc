//! The origin's operational metrics, served at `GET /metrics` (see `docs/api.md`):
//! what a Prometheus scrape reads about the server itself, not about flags.
//!
//! Two kinds live in one registry (prefix `vexil_`):
//! - counted in process, as things happen: HTTP requests by route template and
//!   status with their latency, and the metrics batches accepted and refused;
//! - read from the database at each scrape ([`Observed`]): snapshot version and age
//!   per environment, rollouts per state, the webhook backlog and failed attempts.
//!   The database is the truth, so these survive a restart and never drift.
//!
//! The SSE subscribers and the leader gauge come from the running server.

use super::{publish, Op, OriginError};
use crate::origin::db::params;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};

/// Upper bounds of the latency histogram's buckets, seconds (Prometheus' defaults).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The states a rollout can be in; each is reported, at 0 when none is in it.
pub const ROLLOUT_STATES: &[&str] = &[
    "waiting_approval",
    "running",
    "paused",
    "completed",
    "rolled_back",
    "aborted",
    "cancelled",
];

/// One answered request's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The HTTP method.
    pub method: String,
    /// The matched route template (`/api/v1/environments/:env/flags`), never the raw
    /// path, so label values stay few; `unmatched` for anything no route matched.
    pub route: String,
    /// The status code answered.
    pub status: u16,
}

/// A route's labels, for its latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The HTTP method.
    pub method: String,
    /// The matched route template.
    pub route: String,
}

/// What became of a posted metrics batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Counted.
    Accepted,
    /// Its `batch_id` was already counted: answered, not counted again.
    Duplicate,
    /// Refused: implausible (422), a bad batch, or the sender may not post.
    Rejected,
}

impl BatchOutcome {
    fn label(self) -> &'static str {
        match self {
            BatchOutcome::Accepted => "accepted",
            BatchOutcome::Duplicate => "duplicate",
            BatchOutcome::Rejected => "rejected",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvLabels {
    environment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// What the database says at one scrape.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Each environment's newest snapshot: name, version, issue time (epoch ms).
    pub snapshots: Vec<(String, u64, i64)>,
    /// Rollouts per state.
    pub rollouts: Vec<(String, i64)>,
    /// Webhook deliveries waiting to be (re)tried.
    pub webhook_backlog: i64,
    /// Webhook delivery attempts that failed (non-2xx or no answer), ever.
    pub webhook_failed_attempts: i64,
    /// Webhook deliveries given up after their last attempt, ever.
    pub webhook_deliveries_failed: i64,
    /// When this was read, epoch ms.
    pub now_ms: i64,
    /// Open server-sent event streams.
    pub sse_subscribers: i64,
    /// 1 when this replica is the leader (the one running the background jobs).
    pub leader: i64,
}

/// Reads what the database says for a scrape.
pub fn observe(op: &Op<'_>) -> Result<Observed, OriginError> {
    let mut snapshots = Vec::new();
    for env in publish::environment_names(op.db)? {
        if let Some(p) = publish::latest(op.db, &env)? {
            snapshots.push((env, p.version, p.issued_at_ms));
        }
    }
    let mut rollouts: Vec<(String, i64)> =
        ROLLOUT_STATES.iter().map(|s| (s.to_string(), 0)).collect();
    let counted = op.db.query(
        "SELECT status, COUNT(*) FROM rollouts GROUP BY status",
        params![],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
    )?;
    for (state, n) in counted {
        match rollouts.iter_mut().find(|(s, _)| *s == state) {
            Some(slot) => slot.1 = n,
            None => rollouts.push((state, n)),
        }
    }
    let count = |sql: &str| op.db.query_row(sql, params![], |r| r.get::<i64>(0));
    Ok(Observed {
        snapshots,
        rollouts,
        webhook_backlog: count("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")?,
        webhook_failed_attempts: count(
            "SELECT COUNT(*) FROM delivery_attempts WHERE error IS NOT NULL",
        )?,
        webhook_deliveries_failed: count(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'failed'",
        )?,
        now_ms: op.now_ms,
        sse_subscribers: 0,
        leader: 0,
    })
}

/// The metrics read at scrape time, encoded from the last [`Observed`].
#[derive(Debug, Default)]
struct ObservedCollector(Mutex<Observed>);

fn gauge<S: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    values: &[(S, f64)],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in values {
        ConstGauge::new(*value).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

fn single_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

fn single_counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(u64::try_from(value).unwrap_or(0)).encode(metric)
}

impl Collector for ObservedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let o = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let env = |name: &str| EnvLabels {
            environment: name.to_string(),
        };
        let versions: Vec<_> = o
            .snapshots
            .iter()
            .map(|(name, version, _)| (env(name), *version as f64))
            .collect();
        gauge(
            &mut encoder,
            "snapshot_version",
            "Version of the newest signed snapshot, per environment",
            &versions,
        )?;
        let ages: Vec<_> = o
            .snapshots
            .iter()
            .map(|(name, _, issued)| {
                let age = (o.now_ms.saturating_sub(*issued)).max(0) as f64 / 1000.0;
                (env(name), age)
            })
            .collect();
        gauge(
            &mut encoder,
            "snapshot_age_seconds",
            "Seconds since the newest snapshot was signed, per environment (re-signing before expiry resets it)",
            &ages,
        )?;
        let states: Vec<_> = o
            .rollouts
            .iter()
            .map(|(state, n)| {
                (
                    StateLabels {
                        state: state.clone(),
                    },
                    *n as f64,
                )
            })
            .collect();
        gauge(
            &mut encoder,
            "rollouts",
            "Progressive rollouts, per state",
            &states,
        )?;
        single_gauge(
            &mut encoder,
            "webhook_backlog",
            "Webhook deliveries waiting for their first attempt or a retry",
            o.webhook_backlog,
        )?;
        single_counter(
            &mut encoder,
            "webhook_delivery_failures",
            "Webhook delivery attempts that failed (an answer other than 2xx, or none)",
            o.webhook_failed_attempts,
        )?;
        single_counter(
            &mut encoder,
            "webhook_deliveries_abandoned",
            "Webhook deliveries given up after their last attempt",
            o.webhook_deliveries_failed,
        )?;
        single_gauge(
            &mut encoder,
            "sse_subscribers",
            "Open server-sent event streams (/environments/{env}/events)",
            o.sse_subscribers,
        )?;
        single_gauge(
            &mut encoder,
            "leader",
            "1 when this replica is the leader, the one running the rollout scheduler, webhooks, publish targets, refresh, retention and health probes; a single SQLite origin always is, replicas on PostgreSQL elect one",
            o.leader,
        )
    }
}

/// The registry and the in-process metrics.
#[derive(Debug)]
pub struct OpsMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    batches: Family<OutcomeLabels, Counter>,
    observed: Arc<ObservedCollector>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS.iter().copied())
}

impl Default for OpsMetrics {
    fn default() -> Self {
        OpsMetrics::new()
    }
}

/// The text formats `GET /metrics` answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text exposition 0.0.4 (`text/plain; version=0.0.4`).
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`), when asked for.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

impl OpsMetrics {
    /// An empty registry with every metric registered.
    pub fn new() -> OpsMetrics {
        let mut registry = Registry::with_prefix("vexil");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request (to its response head), by method and route template",
            latency.clone(),
        );
        let batches = Family::<OutcomeLabels, Counter>::default();
        for outcome in [
            BatchOutcome::Accepted,
            BatchOutcome::Duplicate,
            BatchOutcome::Rejected,
        ] {
            let _ = batches.get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            });
        }
        registry.register(
            "metrics_batches",
            "Metrics batches posted to /api/v1/metrics: accepted, duplicate (a batch_id already counted) or rejected (implausible, or the sender may not post; a body that is not JSON counts only as a 400 request)",
            batches.clone(),
        );
        let observed = Arc::new(ObservedCollector::default());
        registry.register_collector(Box::new(observed.clone()));
        OpsMetrics {
            registry,
            requests,
            latency,
            batches,
            observed,
        }
    }

    /// Counts one answered request and its latency.
    pub fn request(&self, labels: RequestLabels, seconds: f64) {
        self.latency
            .get_or_create(&RouteLabels {
                method: labels.method.clone(),
                route: labels.route.clone(),
            })
            .observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }

    /// Counts a metrics batch posted to the origin.
    pub fn batch(&self, outcome: BatchOutcome) {
        self.batches
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            })
            .inc();
    }

    /// The registry as text, with `observed` as the scrape-time values.
    pub fn render(&self, observed: Observed, format: Format) -> Result<String, OriginError> {
        // Hold the lock through the encoding so concurrent scrapes each encode their own.
        let mut slot = self.observed.0.lock().unwrap_or_else(|p| p.into_inner());
        *slot = observed;
        drop(slot);
        let mut out = String::new();
        let encoded = match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.registry)
            }
        };
        encoded.map_err(|e| OriginError::Internal(format!("cannot encode the metrics: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_in_both_formats() {
        let m = OpsMetrics::new();
        m.request(
            RequestLabels {
                method: "GET".into(),
                route: "/api/v1/health".into(),
                status: 200,
            },
            0.002,
        );
        m.batch(BatchOutcome::Rejected);
        let observed = Observed {
            snapshots: vec![("production".into(), 7, 1_000)],
            rollouts: vec![("running".into(), 2)],
            now_ms: 3_500,
            leader: 1,
            ..Observed::default()
        };
        let text = m.render(observed.clone(), Format::Prometheus).unwrap();
        for line in [
            "vexil_http_requests_total{method=\"GET\",route=\"/api/v1/health\",status=\"200\"} 1",
            "vexil_metrics_batches_total{outcome=\"rejected\"} 1",
            "vexil_metrics_batches_total{outcome=\"accepted\"} 0",
            "vexil_snapshot_version{environment=\"production\"} 7",
            "vexil_snapshot_age_seconds{environment=\"production\"} 2.5",
            "vexil_rollouts{state=\"running\"} 2",
            "vexil_leader 1",
            "vexil_webhook_delivery_failures_total 0",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.contains("vexil_http_request_duration_seconds_bucket{"));
        let open = m.render(observed, Format::OpenMetrics).unwrap();
        assert!(open.ends_with("# EOF\n"), "{open}");
    }
}
