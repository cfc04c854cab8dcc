//! Change requests (listing, approval, rejection, cancelling, applying) and the audit log.

use super::caller::{Reader, Token};
use super::error::ApiResult;
use super::extract::{Body, Params, Segs};
use super::App;
use crate::origin::api::{
    ApproveBody, BrokenLink, Change, ChangeListQuery, ChangePage, RejectBody, Verification,
};
use crate::origin::changes;
use crate::origin::{audit, OriginError};
use axum::extract::State;
use axum::Json;

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

/// `GET /audit`: a page of the audit log.
pub(super) async fn audit_list(
    State(app): State<App>,
    who: Reader,
    Params(q): Params<audit::Filter>,
) -> ApiResult<Json<audit::Page>> {
    app.read(&who, move |op| audit::page(op.db, &q)).await
}

/// `GET /audit/verify`: the stored chain checked with the origin's audit key.
pub(super) async fn audit_verify(
    State(app): State<App>,
    who: Reader,
) -> ApiResult<Json<Verification>> {
    app.read(&who, |op| {
        match audit::verify_stored(op.db, op.keys.audit_key()) {
            Ok(n) => Ok(Verification {
                ok: true,
                entries: Some(n),
                broken: None,
            }),
            Err(OriginError::AuditBroken(b)) => Ok(Verification {
                ok: false,
                entries: None,
                broken: Some(BrokenLink {
                    seq: b.seq,
                    reason: b.reason,
                }),
            }),
            Err(e) => Err(e),
        }
    })
    .await
}
