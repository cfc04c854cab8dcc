//! `GET /metrics` and the layer that counts every request by its route template.
//!
//! Who may scrape: a token that may read (any role; `viewer` is the least a
//! Prometheus needs), unless the origin runs with `--public-metrics` (a scrape
//! network that is private by construction). SDK keys never may: they ship to
//! edges and browsers.

use super::error::ApiError;
use super::extract::bearer;
use super::App;
use crate::origin::auth;
use crate::origin::ops_metrics::{self, Format, RequestLabels};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The route label of requests no route matched (static files, 404s): one value, so
/// scanners probing random paths cannot grow the label set.
pub const UNMATCHED: &str = "unmatched";

/// The route template a request matched, as a label value: axum's template with
/// each `{param}` written `:param` and a tail `{*rest}` as `*`
/// (`/api/v1/environments/:env/flags/:key`). Braces would be regex quantifiers in
/// a PromQL `route=~"..."` matcher; colons are plain characters.
fn route_of(req: &Request) -> String {
    match req.extensions().get::<MatchedPath>() {
        Some(m) => label_of_template(m.as_str()),
        None => UNMATCHED.to_string(),
    }
}

/// `/a/{b}/{*c}` as `/a/:b/*`.
pub fn label_of_template(template: &str) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if name.starts_with('*') => "*".to_string(),
                Some(name) => format!(":{name}"),
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Middleware: counts the request and the time to its response head.
pub(super) async fn track(State(app): State<App>, req: Request, next: Next) -> Response {
    let route = route_of(&req);
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    app.ops.request(
        RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}

fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

/// `GET /metrics`: the registry in Prometheus text (OpenMetrics when asked for).
pub(super) async fn scrape(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secret = if app.public_metrics {
        None
    } else {
        Some(bearer(&headers)?)
    };
    let mut observed = app
        .blocking(move |origin| {
            if let Some(secret) = secret {
                let who = origin.read(|op| auth::authenticate(op.db, &secret))?;
                who.require_read()?;
            }
            origin.read(ops_metrics::observe)
        })
        .await?;
    observed.sse_subscribers = i64::try_from(app.events.subscribers()).unwrap_or(i64::MAX);
    // One SQLite node is the whole origin: it always leads. On PostgreSQL, this
    // replica's election (`leader`): `sum(vexil_leader)` across replicas is 1.
    observed.leader = i64::from(app.leader.is_leader());
    let format = if wants_openmetrics(&headers) {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    let text = app.ops.render(observed, format).map_err(ApiError)?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_become_brace_free_labels() {
        assert_eq!(
            super::label_of_template("/api/v1/environments/{env}/flags/{key}"),
            "/api/v1/environments/:env/flags/:key"
        );
        assert_eq!(super::label_of_template("/pkg/{*rest}"), "/pkg/*");
        assert_eq!(super::label_of_template("/metrics"), "/metrics");
    }
}
