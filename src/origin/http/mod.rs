//! The HTTP API (`/api/v1`, see `docs/api.md`): thin handlers that authenticate,
//! check the role, and run one origin operation on a blocking thread.
//!
//! This file holds the shared [`App`] state, the router (every route, in one place)
//! and the server with its background tasks. Handlers live by resource:
//! - `error`: how an [`OriginError`] becomes an answer; `extract`: the body, query
//!   and path extractors and the operation helpers on [`App`]; `caller`: the
//!   extractors that authenticate and check a role (`Caller`, `Reader`, `Token`,
//!   `Editor`, `Admin`) before anything else of the request is read;
//! - `flags`, `snapshots`, `changes` (and the audit log), `rollouts`, `metrics`;
//! - `admin`: environments, tokens, SDK keys, key rotation, webhooks, publish targets;
//! - `info`: health, keys, whoami, policies, insights, the event stream;
//! - `ofrep`: the OpenFeature remote evaluation API (`/ofrep/v1`);
//! - `prom`: `GET /metrics` and the layer counting every request.

mod admin;
mod caller;
mod changes;
mod error;
mod extract;
mod flags;
mod info;
mod metrics;
mod ofrep;
mod prom;
mod rollouts;
mod snapshots;

pub use error::ApiError;
pub use extract::{Body, Params, Segs};

use super::{publish, Origin, OriginError};
use axum::http::{header, HeaderValue};
use axum::routing::{delete, get, post, put};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct App {
    /// The origin.
    pub origin: Arc<Origin>,
    /// Wakes the webhook deliverer after a write.
    pub wake: Arc<Notify>,
    /// Wakes this process's event watcher after a write (other replicas' watchers
    /// are woken by PostgreSQL's notification).
    pub events_wake: Arc<Notify>,
    /// Real-time events.
    pub events: super::events::Hub,
    /// OFREP: compiled snapshots, the rate limiter, and the keys' metrics.
    pub ofrep: Arc<(
        super::ofrep::Snapshots,
        super::ofrep::RateLimiter,
        super::ofrep_metrics::OfrepMetrics,
    )>,
    /// Operational metrics (`GET /metrics`).
    pub ops: Arc<super::ops_metrics::OpsMetrics>,
    /// Whether `GET /metrics` answers without credentials.
    pub public_metrics: bool,
    /// Whether the server speaks TLS (answers then carry HSTS).
    pub tls: bool,
    /// Whether this replica runs the background jobs (`vexil_leader`).
    pub leader: super::leader::Leadership,
}

/// The API's routes, plus the console and the `vexil` package as static files.
pub fn router(app: App) -> Router {
    let www = app.origin.www.clone();
    let env_routes = Router::new()
        .route("/snapshot", get(snapshots::snapshot))
        .route("/events", get(info::events))
        .route("/snapshots", get(snapshots::snapshots))
        .route("/snapshots/{version}", get(snapshots::snapshot_version))
        .route(
            "/snapshots/{version}/document",
            get(snapshots::snapshot_document),
        )
        .route("/flags", get(flags::flag_list).post(flags::flag_create))
        .route(
            "/flags/{key}",
            get(flags::flag_detail).put(flags::flag_update),
        )
        .route("/flags/{key}/history", get(flags::flag_history))
        .route("/flags/{key}/audit-report", get(flags::audit_report))
        .route("/flags/{key}/insights", get(flags::flag_insights))
        .route("/flags/{key}/rollout", post(flags::flag_rollout))
        .route("/flags/{key}/kill", post(flags::flag_kill))
        .route("/flags/{key}/review", post(flags::flag_review))
        .route("/flags/{key}/enable", post(flags::flag_enable))
        .route("/flags/{key}/archive", post(flags::flag_archive))
        .route("/flags/{key}/rollback", post(flags::flag_rollback))
        .route("/segments", get(flags::segments))
        .route(
            "/segments/{name}",
            put(flags::segment_set).delete(flags::segment_delete),
        )
        .route("/exclusion-groups/{name}", put(flags::exclusion_group_set))
        .route("/bulk", post(flags::bulk))
        .route("/validate", post(flags::validate_flag))
        .route("/flags/{key}/rollouts", post(rollouts::rollout_start))
        .route("/rollouts", get(rollouts::rollout_list))
        .route(
            "/webhooks",
            get(admin::webhook_list).post(admin::webhook_add),
        );
    let api = Router::new()
        .route("/health", get(info::health))
        .route("/keys", get(info::keys))
        .route("/keys/rotate", post(admin::keys_rotate))
        .route("/whoami", get(info::whoami))
        .route("/policies", get(info::policies))
        .route(
            "/environments",
            get(admin::environments).post(admin::create_environment),
        )
        .nest("/environments/{env}", env_routes)
        .route("/promote", post(flags::promote))
        .route("/changes", get(changes::change_list))
        .route("/changes/{id}", get(changes::change_get))
        .route("/changes/{id}/approve", post(changes::change_approve))
        .route("/changes/{id}/reject", post(changes::change_reject))
        .route("/changes/{id}/cancel", post(changes::change_cancel))
        .route("/changes/{id}/apply", post(changes::change_apply))
        .route("/audit", get(changes::audit_list))
        .route("/audit/verify", get(changes::audit_verify))
        .route("/insights", get(info::insights))
        .route("/metrics", post(metrics::metrics_ingest))
        .route("/publish-targets", get(admin::publish_targets))
        .route("/rollouts/{id}", get(rollouts::rollout_get))
        .route("/rollouts/{id}/{action}", post(rollouts::rollout_control))
        .route("/flags/{key}/metrics", get(metrics::flag_metrics))
        .route("/tokens", get(admin::token_list).post(admin::token_create))
        .route("/tokens/{id}", delete(admin::token_revoke))
        .route(
            "/sdk-keys",
            get(admin::sdk_key_list).post(admin::sdk_key_create),
        )
        .route("/webhooks/deliveries", get(admin::webhook_deliveries))
        .route("/webhooks/{id}", delete(admin::webhook_remove));
    // Tokens travel in the Authorization header, never in cookies, so any origin may
    // call the API (browsers running the SDK, the console served elsewhere).
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods(tower_http::cors::Any)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([
            header::ETAG,
            header::HeaderName::from_static("x-vexil-snapshot-version"),
        ]);
    let api = api
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(cors);
    let ofrep = Router::new()
        .route("/evaluate/flags", post(ofrep::ofrep_bulk))
        .route("/evaluate/flags/{key}", post(ofrep::ofrep_single))
        .route("/configuration", get(ofrep::ofrep_configuration))
        .fallback(error::not_found)
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods(tower_http::cors::Any)
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_NONE_MATCH,
                    header::HeaderName::from_static("x-api-key"),
                ])
                .expose_headers([header::ETAG, header::RETRY_AFTER]),
        );
    let mut router = Router::new()
        .route("/metrics", get(prom::scrape))
        .nest("/api/v1", api)
        .nest("/ofrep/v1", ofrep);
    if let Some(www) = www {
        let pkg = www.pkg.clone();
        router = router
            .nest_service("/pkg", tower_http::services::ServeDir::new(pkg))
            .fallback_service(tower_http::services::ServeDir::new(www.console));
    } else {
        router = router.fallback(error::not_found);
    }
    let hsts = app.tls;
    // Layered per route, so the counting layer sees the matched route template.
    let router = router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            prom::track,
        ));
    let router = if hsts {
        router.layer(axum::middleware::map_response(add_hsts))
    } else {
        router
    };
    router.with_state(app)
}

/// Adds `Strict-Transport-Security` (TLS only).
async fn add_hsts(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(super::tls::HSTS),
    );
    response
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Re-signs snapshots before they expire, every minute (while leading).
async fn refresh(origin: Arc<Origin>, leader: super::leader::Leadership) {
    loop {
        leader.until_leading().await;
        let o = origin.clone();
        let done = tokio::task::spawn_blocking(move || o.write(publish::refresh_due)).await;
        if let Ok(Err(e)) = done {
            super::log(format_args!("snapshot refresh failed: {e}"));
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// Serves `router` over TLS on `listener` until SIGINT or SIGTERM, then lets open
/// requests finish (up to 10 s).
async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
) -> Result<(), OriginError> {
    let failed = |e: std::io::Error| OriginError::Io(format!("server failed: {e}"));
    let listener = listener.into_std().map_err(failed)?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let tls = axum_server::tls_rustls::RustlsConfig::from_config(config);
    axum_server::from_tcp_rustls(listener, tls)
        .map_err(failed)?
        .handle(handle)
        .serve(router.into_make_service())
        .await
        .map_err(failed)
}

/// Runs the rollout scheduler every `interval` while this replica leads, first
/// ingesting what OFREP evaluated here since the last pass (as its keys' metrics):
/// every replica ingests its own evaluations, one replica judges the rollouts.
async fn schedule_rollouts(
    origin: Arc<Origin>,
    wake: Arc<Notify>,
    interval: Duration,
    ofrep: Arc<(
        super::ofrep::Snapshots,
        super::ofrep::RateLimiter,
        super::ofrep_metrics::OfrepMetrics,
    )>,
    leader: super::leader::Leadership,
) {
    loop {
        let o = origin.clone();
        let state = ofrep.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || state.2.flush(&o, None)).await {
            super::log(format_args!("OFREP metrics: {e}"));
        }
        if !leader.is_leader() {
            tokio::time::sleep(interval).await;
            continue;
        }
        let o = origin.clone();
        match tokio::task::spawn_blocking(move || o.write(super::rollouts::tick)).await {
            Ok(Ok(done)) => {
                for line in &done {
                    super::log(format_args!("{line}"));
                }
                if !done.is_empty() {
                    wake.notify_one();
                }
            }
            Ok(Err(e)) => super::log(format_args!("rollout scheduler: {e}")),
            Err(e) => super::log(format_args!("rollout scheduler failed: {e}")),
        }
        tokio::time::sleep(interval).await;
    }
}

/// How the server listens.
#[derive(Clone, Default)]
pub struct Listening {
    /// TLS configuration, when the server speaks HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Whether `GET /metrics` answers without credentials.
    pub public_metrics: bool,
}

/// Serves the API on `listen` until SIGINT or SIGTERM.
pub async fn serve(origin: Arc<Origin>, listen: &str, how: Listening) -> Result<(), OriginError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| OriginError::Io(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| OriginError::Io(format!("cannot read the bound address: {e}")))?;
    let wake = Arc::new(Notify::new());
    // The jobs with effects outside this process, or that must run once, run on
    // the leader only (see `leader`); the event watcher and the API on every one.
    let leader = super::leader::Leadership::elect(origin.database());
    tokio::spawn(super::webhooks::run(
        origin.clone(),
        wake.clone(),
        leader.clone(),
    ));
    tokio::spawn(refresh(origin.clone(), leader.clone()));
    tokio::spawn(super::outbox::retention::run(
        origin.clone(),
        leader.clone(),
    ));
    tokio::spawn(super::targets::run(origin.clone(), leader.clone()));
    tokio::spawn(super::health::run(
        origin.clone(),
        wake.clone(),
        leader.clone(),
    ));
    let limiter =
        super::ofrep::RateLimiter::new(origin.config.ofrep_per_second, origin.config.ofrep_burst);
    let audit_key = origin
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .audit_key()
        .to_vec();
    let ofrep = Arc::new((
        super::ofrep::Snapshots::default(),
        limiter,
        super::ofrep_metrics::OfrepMetrics::new(&audit_key),
    ));
    let interval = origin.config.rollout_check_interval;
    tokio::spawn(schedule_rollouts(
        origin.clone(),
        wake.clone(),
        interval,
        ofrep.clone(),
        leader.clone(),
    ));
    let hub = super::events::Hub::default();
    let events_wake = Arc::new(Notify::new());
    if let super::store::Database::Postgres(url) = origin.database() {
        super::events::listen(url.clone(), events_wake.clone());
    }
    tokio::spawn(super::events::watch(
        origin.clone(),
        hub.clone(),
        events_wake.clone(),
    ));
    let app = App {
        origin: origin.clone(),
        wake,
        events: hub,
        events_wake,
        ofrep: ofrep.clone(),
        ops: Arc::new(super::ops_metrics::OpsMetrics::new()),
        public_metrics: how.public_metrics,
        tls: how.tls.is_some(),
        leader,
    };
    {
        use std::io::Write as _;
        let scheme = if how.tls.is_some() { "https" } else { "http" };
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on {scheme}://{addr}");
        let _ = out.flush();
    }
    let served = match how.tls {
        None => axum::serve(listener, router(app))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| OriginError::Io(format!("server failed: {e}"))),
        Some(config) => serve_tls(listener, config, router(app)).await,
    };
    // What OFREP evaluated since the last scheduler pass is not lost on shutdown.
    if let Err(e) = ofrep.2.flush(&origin, None) {
        super::log(format_args!("OFREP metrics at shutdown: {e}"));
    }
    served
}
