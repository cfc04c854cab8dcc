//! Progressive rollouts: starting, listing, reading and controlling them.

use super::caller::{Editor, Reader};
use super::error::{created, ApiError, ApiResult};
use super::extract::{Body, Params, Segs};
use super::App;
use crate::origin::api::{Rollout, RolloutList};
use crate::origin::{rollouts, OriginError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

pub(super) async fn rollout_start(
    State(app): State<App>,
    who: Editor,
    Segs((env, key)): Segs<(String, String)>,
    Body(plan): Body<rollouts::Plan>,
) -> Result<(StatusCode, Json<Rollout>), ApiError> {
    created(
        app.write(who.0, move |op, who| {
            rollouts::start(op, who, &env, &key, plan)
        })
        .await,
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RolloutQuery {
    flag: Option<String>,
}

pub(super) async fn rollout_list(
    State(app): State<App>,
    who: Reader,
    Segs(env): Segs<String>,
    Params(q): Params<RolloutQuery>,
) -> ApiResult<Json<RolloutList>> {
    app.read(&who, move |op| {
        rollouts::list(op.db, &env, q.flag.as_deref())
    })
    .await
}

pub(super) async fn rollout_get(
    State(app): State<App>,
    who: Reader,
    Segs(id): Segs<i64>,
) -> ApiResult<Json<Rollout>> {
    app.read(&who, move |op| rollouts::get(op.db, id)).await
}

pub(super) async fn rollout_control(
    State(app): State<App>,
    who: Editor,
    Segs((id, action)): Segs<(i64, String)>,
) -> ApiResult<Json<Rollout>> {
    if !matches!(action.as_str(), "pause" | "resume" | "abort") {
        return Err(ApiError(OriginError::NotFound(format!(
            "no rollout action `{action}`; actions are pause, resume, abort"
        ))));
    }
    app.write(who.0, move |op, who| {
        rollouts::control(op, who, id, &action)
    })
    .await
}
