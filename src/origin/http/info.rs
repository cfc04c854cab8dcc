//! What the origin says about itself: health, public keys, the caller, policies,
//! insights, and the live event stream of an environment.

use super::caller::{Caller, Reader};
use super::error::{ApiError, ApiResult};
use super::extract::{Params, Segs};
use super::snapshots::latest_for_reader;
use super::App;
use crate::origin::api::{
    EarlyClose, GovernanceSettings, Health, InsightList, KeyListing, PolicyInfo, PolicyList,
    SessionInfo, VenueInfo, WhoAmI,
};
use crate::origin::reports;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

pub(super) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

pub(super) async fn keys(State(app): State<App>) -> Json<KeyListing> {
    let now = app.origin.now_ms();
    let keys = app.origin.keys.lock().unwrap_or_else(|p| p.into_inner());
    Json(keys.public_listing(now))
}

pub(super) async fn whoami(Caller(who): Caller) -> Json<WhoAmI> {
    Json(WhoAmI::from(&who))
}

pub(super) async fn policies(State(app): State<App>, who: Reader) -> ApiResult<Json<PolicyList>> {
    use crate::origin::governance::venues::hh_mm;
    app.read(&who, |op| {
        let g = &op.config.governance;
        let session = |weekdays: &[u8], open: u16, close: u16| SessionInfo {
            weekdays: weekdays.to_vec(),
            open: hh_mm(open),
            close: hh_mm(close),
        };
        let venues = g
            .venues
            .iter()
            .map(|v| VenueInfo {
                name: v.name.clone(),
                time_zone: v.time_zone_name().into(),
                sessions: v
                    .sessions
                    .iter()
                    .map(|s| session(&s.weekdays, s.open_minute, s.close_minute))
                    .collect(),
                holidays: v.holidays.iter().map(ToString::to_string).collect(),
                early_closes: v
                    .early_closes
                    .iter()
                    .map(|(date, minute)| EarlyClose {
                        date: date.to_string(),
                        close: hh_mm(*minute),
                    })
                    .collect(),
            })
            .collect();
        let policies = crate::origin::governance::POLICIES
            .iter()
            .map(|p| PolicyInfo {
                id: p.id.into(),
                description: p.description.into(),
            })
            .collect();
        Ok(PolicyList {
            policies,
            config: GovernanceSettings {
                naming: g.naming.as_str().into(),
                trading_hours: g
                    .trading_hours
                    .as_ref()
                    .map(|h| session(&h.weekdays, h.open_minute, h.close_minute)),
                venues,
                min_retention_days: g.min_retention_days,
            },
        })
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct InsightQuery {
    environment: Option<String>,
}

pub(super) async fn insights(
    State(app): State<App>,
    who: Reader,
    Params(q): Params<InsightQuery>,
) -> ApiResult<Json<InsightList>> {
    app.read(&who, move |op| {
        reports::insights(op, q.environment.as_deref(), None)
    })
    .await
}

/// `GET /environments/{env}/events`: server-sent events, `snapshot` (a new version)
/// and `kill` (a flag was disabled), starting with the current version.
pub(super) async fn events(
    State(app): State<App>,
    headers: HeaderMap,
    Segs(env): Segs<String>,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    use futures_util::StreamExt as _;
    // Subscribed before the current version is read, so nothing published in between
    // is missed; what the subscription then repeats, `Announced` drops.
    let receiver = app.events.subscribe();
    let current = latest_for_reader(&app, &headers, &env, "follow")
        .await?
        .map_or(0, |p| p.version);
    let first = crate::origin::events::Event {
        kind: "snapshot",
        environment: env.clone(),
        version: current,
        flag: None,
        reason: None,
    };
    let to_sse = |e: crate::origin::events::Event| {
        Ok::<_, std::convert::Infallible>(
            SseEvent::default()
                .event(e.kind)
                .data(serde_json::to_string(&e).unwrap_or_default()),
        )
    };
    let initial = futures_util::stream::once(std::future::ready(to_sse(first)));
    let told = crate::origin::events::Announced::new(current);
    let updates = futures_util::stream::unfold(
        (receiver, env, told),
        move |(mut rx, env, mut told)| async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match rx.recv().await {
                    Ok(e) if e.environment == env && told.is_news(&e) => {
                        return Some((to_sse(e), (rx, env, told)))
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(initial.chain(updates))
        .keep_alive(KeepAlive::default())
        .into_response())
}
