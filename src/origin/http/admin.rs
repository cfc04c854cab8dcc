//! Administration: environments, tokens, SDK keys, signing-key rotation, webhooks and
//! publish targets.

use super::caller::{Admin, Reader};
use super::error::{created, ApiError, ApiResult};
use super::extract::{Body, Params, Segs};
use super::App;
use crate::origin::api::{
    CreatedEnvironment, CreatedToken, CreatedWebhook, DeliveryList, EnvironmentList,
    NewEnvironment, NewSdkKey, NewToken, NewWebhook, PublishTargetList, Revoked, RotateBody,
    Rotation, SdkKeyList, TokenList, WebhookList, WebhookRemoved,
};
use crate::origin::auth;
use crate::origin::publish;
use crate::origin::{reports, webhooks, OriginError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

/// `GET /environments`.
pub(super) async fn environments(
    State(app): State<App>,
    who: Reader,
) -> ApiResult<Json<EnvironmentList>> {
    app.read(&who, |op| reports::environments(op.db)).await
}

pub(super) async fn create_environment(
    State(app): State<App>,
    who: Admin,
    Body(body): Body<NewEnvironment>,
) -> Result<(StatusCode, Json<CreatedEnvironment>), ApiError> {
    created(
        app.write(who.0, move |op, who| {
            publish::create_environment(op, &who.name, &body.name)
        })
        .await,
    )
}

/// `GET /tokens`: every token and SDK key, without secrets.
pub(super) async fn token_list(State(app): State<App>, who: Admin) -> ApiResult<Json<TokenList>> {
    app.admin_read(&who, |op| auth::list(op.db)).await
}

pub(super) async fn token_create(
    State(app): State<App>,
    who: Admin,
    Body(b): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    created(
        app.admin(who, "token.created", "tokens", move |op| {
            let made = auth::create_token(op, &b.name, &b.roles)?;
            let details = json!({ "id": made.id, "name": made.name, "roles": made.roles });
            Ok((CreatedToken::from(made), details))
        })
        .await,
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SdkKeyQuery {
    environment: Option<String>,
}

pub(super) async fn sdk_key_list(
    State(app): State<App>,
    who: Admin,
    Params(q): Params<SdkKeyQuery>,
) -> ApiResult<Json<SdkKeyList>> {
    app.admin_read(&who, move |op| {
        auth::list_sdk_keys(op.db, q.environment.as_deref())
    })
    .await
}

pub(super) async fn sdk_key_create(
    State(app): State<App>,
    who: Admin,
    Body(b): Body<NewSdkKey>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    created(
        app.admin(who, "sdk_key.created", "tokens", move |op| {
            let kind = auth::SdkKind::parse(b.kind.as_deref().unwrap_or("server"))?;
            let made = auth::create_sdk_key(op, &b.name, &b.environment, kind)?;
            let details = json!({ "id": made.id, "name": made.name, "environment": made.environment,
                                  "sdk_kind": kind.as_str() });
            Ok((CreatedToken::from(made), details))
        })
        .await,
    )
}

pub(super) async fn token_revoke(
    State(app): State<App>,
    who: Admin,
    Segs(id): Segs<i64>,
) -> ApiResult<Json<Revoked>> {
    app.admin(who, "token.revoked", "tokens", move |op| {
        Ok((auth::revoke(op, id)?, json!({ "id": id })))
    })
    .await
}

pub(super) async fn keys_rotate(
    State(app): State<App>,
    who: Admin,
    Body(b): Body<RotateBody>,
) -> ApiResult<Json<Rotation>> {
    let overlap = b
        .overlap
        .map(|text| {
            humantime::parse_duration(&text).map_err(|e| {
                OriginError::BadRequest(format!(
                    "`overlap` {text:?} is not a duration such as 7d: {e}"
                ))
            })
        })
        .transpose()?;
    app.blocking(move |origin| origin.rotate_key(&who.0.name, overlap))
        .await
        .map(Json)
}

pub(super) async fn webhook_list(
    State(app): State<App>,
    who: Admin,
    Segs(env): Segs<String>,
) -> ApiResult<Json<WebhookList>> {
    app.admin_read(&who, move |op| webhooks::list(op.db, &env))
        .await
}

pub(super) async fn webhook_add(
    State(app): State<App>,
    who: Admin,
    Segs(env): Segs<String>,
    Body(b): Body<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    created(
        app.admin(who, "webhook.added", "webhooks", move |op| {
            let made = webhooks::add(op, &env, &b.url, b.secret, b.events)?;
            let details = json!({ "id": made.id, "environment": env, "url": made.url, "events": made.events });
            Ok((made, details))
        })
        .await,
    )
}

pub(super) async fn webhook_remove(
    State(app): State<App>,
    who: Admin,
    Segs(id): Segs<i64>,
) -> ApiResult<Json<WebhookRemoved>> {
    app.admin(who, "webhook.removed", "webhooks", move |op| {
        Ok((webhooks::remove(op, id)?, json!({ "id": id })))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryQuery {
    webhook: Option<i64>,
    status: Option<String>,
}

pub(super) async fn webhook_deliveries(
    State(app): State<App>,
    who: Admin,
    Params(q): Params<DeliveryQuery>,
) -> ApiResult<Json<DeliveryList>> {
    app.admin_read(&who, move |op| {
        webhooks::deliveries(op.db, q.webhook, q.status.as_deref())
    })
    .await
}

pub(super) async fn publish_targets(
    State(app): State<App>,
    who: Admin,
) -> ApiResult<Json<PublishTargetList>> {
    app.admin_read(&who, |op| crate::origin::targets::status(op.db))
        .await
}
