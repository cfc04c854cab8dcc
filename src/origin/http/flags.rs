//! Flags, segments and exclusion groups of an environment: reads, proposed changes,
//! bulk updates, promotion and validation.

use super::caller::{Editor, Reader, Token};
use super::error::{created, ApiError, ApiResult};
use super::extract::{Body, Params, Segs};
use super::App;
use crate::origin::api::{
    AuditReport, BulkReport, Change, DryRun, FlagBody, FlagDetail, FlagInsights, FlagList,
    FlagReview, GroupBody, History, PromoteBody, ReasonBody, ReviewBody, RollbackBody, RolloutBody,
    SegmentBody, SegmentList,
};
use crate::origin::changes::{self, BulkOperation};
use crate::origin::publish;
use crate::origin::{flag_insights, reports, reviews, scheduled, OriginError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, Default)]
pub(super) struct FlagListQuery {
    #[serde(default)]
    archived: bool,
}

pub(super) async fn flag_list(
    State(app): State<App>,
    who: Reader,
    Segs(env): Segs<String>,
    Params(q): Params<FlagListQuery>,
) -> ApiResult<Json<FlagList>> {
    app.read(&who, move |op| reports::flag_list(op, &env, q.archived))
        .await
}

pub(super) async fn flag_detail(
    State(app): State<App>,
    who: Reader,
    Segs((env, key)): Segs<(String, String)>,
) -> ApiResult<Json<FlagDetail>> {
    app.read(&who, move |op| reports::flag_detail(op.db, &env, &key))
        .await
}

pub(super) async fn flag_history(
    State(app): State<App>,
    who: Reader,
    Segs((env, key)): Segs<(String, String)>,
) -> ApiResult<Json<History>> {
    app.read(&who, move |op| reports::flag_history(op.db, &env, &key))
        .await
}

pub(super) async fn audit_report(
    State(app): State<App>,
    who: Reader,
    Segs((env, key)): Segs<(String, String)>,
) -> ApiResult<Json<AuditReport>> {
    app.read(&who, move |op| reports::audit_report(op, &env, &key))
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InsightsQuery {
    days: Option<u32>,
}

pub(super) async fn flag_insights(
    State(app): State<App>,
    who: Reader,
    Segs((env, key)): Segs<(String, String)>,
    Params(q): Params<InsightsQuery>,
) -> ApiResult<Json<FlagInsights>> {
    app.read(&who, move |op| {
        flag_insights::report(op, &env, &key, q.days.unwrap_or(7))
    })
    .await
}

pub(super) async fn segments(
    State(app): State<App>,
    who: Reader,
    Segs(env): Segs<String>,
) -> ApiResult<Json<SegmentList>> {
    app.read(&who, move |op| {
        let state = publish::load_state(op.db, &env)?;
        Ok(SegmentList {
            segments: state.segments,
            exclusion_groups: state.exclusion_groups,
        })
    })
    .await
}

pub(super) async fn flag_create(
    State(app): State<App>,
    who: Editor,
    Segs(env): Segs<String>,
    Body(body): Body<FlagBody>,
) -> Result<(StatusCode, Json<Change>), ApiError> {
    let e = env.clone();
    created(
        app.propose(who, env, body.reason, move |_, s| {
            scheduled::with_apply_at(changes::create(s, &e, body.flag)?, body.apply_at.as_deref())
        })
        .await,
    )
}

pub(super) async fn flag_update(
    State(app): State<App>,
    who: Editor,
    Segs((env, key)): Segs<(String, String)>,
    Body(body): Body<FlagBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    app.propose(who, env, body.reason, move |_, s| {
        scheduled::with_apply_at(
            changes::update(s, &e, &key, body.flag)?,
            body.apply_at.as_deref(),
        )
    })
    .await
}

pub(super) async fn flag_rollout(
    State(app): State<App>,
    who: Editor,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<RolloutBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    app.propose(who, env, b.reason, move |_, s| {
        let p = changes::rollout(
            s,
            &e,
            &key,
            b.percentage,
            b.variant.as_deref(),
            b.rule.as_deref(),
        )?;
        scheduled::with_apply_at(p, b.apply_at.as_deref())
    })
    .await
}

/// A clinical review (`CLINICAL_OVERSIGHT`) of a flag under oversight.
pub(super) async fn flag_review(
    State(app): State<App>,
    who: Token,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReviewBody>,
) -> ApiResult<Json<FlagReview>> {
    app.write(who.0, move |op, who| {
        reviews::record(
            op,
            who,
            &env,
            &key,
            b.comment.as_deref().unwrap_or_default(),
        )
    })
    .await
}

pub(super) async fn flag_kill(
    State(app): State<App>,
    who: Editor,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult<Json<Change>> {
    if b.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError(OriginError::BadRequest(
            "the kill switch needs a `reason`".into(),
        )));
    }
    let e = env.clone();
    app.propose(who, env, b.reason, move |_, s| changes::kill(s, &e, &key))
        .await
}

pub(super) async fn flag_enable(
    State(app): State<App>,
    who: Editor,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    app.propose(who, env, b.reason, move |_, s| changes::enable(s, &e, &key))
        .await
}

pub(super) async fn flag_archive(
    State(app): State<App>,
    who: Editor,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    app.propose(who, env, b.reason, move |_, s| {
        changes::archive(s, &e, &key)
    })
    .await
}

pub(super) async fn flag_rollback(
    State(app): State<App>,
    who: Editor,
    Segs((env, key)): Segs<(String, String)>,
    Body(b): Body<RollbackBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    app.propose(who, env, b.reason, move |op, s| {
        changes::rollback(op.db, s, &e, &key, b.to_revision)
    })
    .await
}

pub(super) async fn segment_set(
    State(app): State<App>,
    who: Editor,
    Segs((env, name)): Segs<(String, String)>,
    Body(b): Body<SegmentBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    app.propose(who, env, b.reason, move |_, s| {
        scheduled::with_apply_at(
            changes::segment(s, &e, &name, Some(b.clause))?,
            b.apply_at.as_deref(),
        )
    })
    .await
}

pub(super) async fn segment_delete(
    State(app): State<App>,
    who: Editor,
    Segs((env, name)): Segs<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    app.propose(who, env, b.reason, move |_, s| {
        changes::segment(s, &e, &name, None)
    })
    .await
}

pub(super) async fn exclusion_group_set(
    State(app): State<App>,
    who: Editor,
    Segs((env, name)): Segs<(String, String)>,
    Body(b): Body<GroupBody>,
) -> ApiResult<Json<Change>> {
    let e = env.clone();
    let definition = match b.salt {
        Some(salt) => json!({ "salt": salt }),
        None => json!({}),
    };
    app.propose(who, env, b.reason, move |_, _| {
        changes::exclusion_group(&e, &name, definition)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BulkBody {
    updates: Vec<BulkOperation>,
    reason: Option<String>,
}

pub(super) async fn bulk(
    State(app): State<App>,
    who: Editor,
    Segs(env): Segs<String>,
    Body(b): Body<BulkBody>,
) -> ApiResult<Json<BulkReport>> {
    app.write(who.0, move |op, who| {
        changes::bulk(
            op,
            who,
            &env,
            &b.updates,
            b.reason.filter(|r| !r.trim().is_empty()),
        )
    })
    .await
}

pub(super) async fn promote(
    State(app): State<App>,
    who: Editor,
    Body(b): Body<PromoteBody>,
) -> ApiResult<Json<Change>> {
    let PromoteBody {
        flag,
        from,
        to,
        reason,
    } = b;
    let to2 = to.clone();
    app.propose(who, to, reason, move |op, target| {
        let source = publish::load_state(op.db, &from)?;
        changes::promote(&source, &from, target, &to2, &flag)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValidateBody {
    flag: Value,
}

/// `POST /environments/{env}/validate`: a flag document checked as its create or
/// update would be, without applying anything.
pub(super) async fn validate_flag(
    State(app): State<App>,
    _who: Editor,
    Segs(env): Segs<String>,
    Body(b): Body<ValidateBody>,
) -> ApiResult<Json<DryRun>> {
    app.blocking(move |origin| {
        origin.read(|op| {
            let state = publish::load_state(op.db, &env)?;
            let key = changes::document_key(&b.flag)?.to_string();
            let p = if state.flags.contains_key(&key) {
                changes::update(&state, &env, &key, b.flag)?
            } else {
                changes::create(&state, &env, b.flag)?
            };
            changes::dry_run(op, &p)
        })
    })
    .await
    .map(Json)
}
