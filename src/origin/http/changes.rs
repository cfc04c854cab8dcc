//! Change requests (listing, approval, rejection, cancelling, applying) and the audit log.

use super::caller::{Reader, Token};
use super::error::ApiResult;
use super::extract::{Body, Params, Segs};
use super::App;
use crate::origin::api::{ApproveBody, Change, ChangeListQuery, ChangePage, RejectBody};
use crate::origin::changes;
use crate::origin::{audit, OriginError};
use axum::extract::State;
use axum::Json;
use serde_json::json;

/// `GET /changes`: a page of changes, newest first.
pub(super) async fn change_list(
    State(app): State<App>,
    who: Reader,
    Params(q): Params<ChangeListQuery>,
) -> ApiResult<Json<ChangePage>> {
    app.read(&who, move |op| changes::list(op.db, &q)).await
}

/// `GET /changes/{id}`.
pub(super) async fn change_get(
    State(app): State<App>,
    who: Reader,
    Segs(id): Segs<i64>,
) -> ApiResult<Json<Change>> {
    app.read(&who, move |op| changes::get(op.db, id)).await
}

pub(super) async fn change_approve(
    State(app): State<App>,
    who: Token,
    Segs(id): Segs<i64>,
    Body(b): Body<ApproveBody>,
) -> ApiResult<Json<Change>> {
    app.write(who.0, move |op, who| {
        changes::approve(op, who, id, b.comment, b.role)
    })
    .await
}

pub(super) async fn change_reject(
    State(app): State<App>,
    who: Token,
    Segs(id): Segs<i64>,
    Body(b): Body<RejectBody>,
) -> ApiResult<Json<Change>> {
    app.write(who.0, move |op, who| {
        changes::reject(op, who, id, b.comment)
    })
    .await
}

pub(super) async fn change_cancel(
    State(app): State<App>,
    who: Token,
    Segs(id): Segs<i64>,
) -> ApiResult<Json<Change>> {
    app.write(who.0, move |op, who| changes::cancel(op, who, id))
        .await
}

pub(super) async fn change_apply(
    State(app): State<App>,
    who: Token,
    Segs(id): Segs<i64>,
) -> ApiResult<Json<Change>> {
    app.write(who.0, move |op, who| changes::retry(op, who, id))
        .await
}

pub(super) async fn audit_list(
    State(app): State<App>,
    who: Reader,
    Params(q): Params<audit::Filter>,
) -> ApiResult {
    app.read(&who, move |op| {
        Ok(serde_json::to_value(audit::page(op.db, &q)?)?)
    })
    .await
}

pub(super) async fn audit_verify(State(app): State<App>, who: Reader) -> ApiResult {
    app.read(&who, |op| {
        match audit::verify_stored(op.db, op.keys.audit_key()) {
            Ok(n) => Ok(json!({ "ok": true, "entries": n })),
            Err(OriginError::AuditBroken(b)) => {
                Ok(json!({ "ok": false, "broken": { "seq": b.seq, "reason": b.reason } }))
            }
            Err(e) => Err(e),
        }
    })
    .await
}
