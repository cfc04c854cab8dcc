//! Scheduled clinical reviews. A flag under periodic oversight (level 2, clinical
//! impact high) is reviewed by `CLINICAL_OVERSIGHT` every 30 days, one under
//! continuous oversight (level 3, critical) every 7: each review is an audit entry
//! (`flag.reviewed`), and the audit report, the insights and the console say when the
//! next one is due, and whether it is overdue.

use super::api::{FlagReview, LastReview, ReviewSchedule};
use super::auth::Principal;
use super::governance::{oversight_level, roles};
use super::outbox::{self, DomainEvent};
use super::{audit, publish, Op, OriginError};
use crate::engine::time::parse_rfc3339_ms;
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;

/// The audit action a review is recorded as.
pub const ACTION: &str = "flag.reviewed";

/// Days between reviews at an oversight level; `None` below periodic oversight.
pub fn interval_days(level: u8) -> Option<i64> {
    match level {
        3.. => Some(7),
        2 => Some(30),
        _ => None,
    }
}

fn level_of(doc: &Value) -> u8 {
    oversight_level(doc.get("clinical_impact").and_then(Value::as_str))
}

/// The review schedule of flag `key` (document `doc`) in `env`, or `None` when its
/// oversight level needs none.
pub fn schedule(
    op: &Op<'_>,
    env: &str,
    key: &str,
    doc: &Value,
) -> Result<Option<ReviewSchedule>, OriginError> {
    let level = level_of(doc);
    let Some(every) = interval_days(level) else {
        return Ok(None);
    };
    let newest = |action: Option<&str>, order| {
        audit::list(
            op.db,
            &audit::Filter {
                environment: Some(env.into()),
                flag: Some(key.into()),
                action: action.map(str::to_string),
                order,
                limit: Some(1),
                ..Default::default()
            },
        )
    };
    let last = newest(Some(ACTION), audit::Order::Newest)?
        .into_iter()
        .next();
    let since = match &last {
        Some(l) => Some(l.entry.at.clone()),
        None => newest(None, audit::Order::Oldest)?
            .into_iter()
            .next()
            .map(|l| l.entry.at),
    };
    let since_ms = since
        .as_deref()
        .and_then(parse_rfc3339_ms)
        .unwrap_or(op.now_ms);
    let due_ms = since_ms + every * DAY_MS;
    Ok(Some(ReviewSchedule {
        oversight_level: level,
        every_days: every,
        status: match (&last, op.now_ms < due_ms) {
            (_, false) => "due",
            (Some(_), true) => "done",
            (None, true) => "scheduled",
        }
        .into(),
        due_at: super::rfc3339(due_ms),
        last: last.map(|l| LastReview {
            at: l.entry.at,
            by: l.entry.actor,
            comment: l.entry.details["comment"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }),
    }))
}

/// Records `who`'s review of flag `key` in `env`: the audit entry and the
/// `flag.reviewed` webhook. Only `CLINICAL_OVERSIGHT` reviews, only flags under
/// periodic or continuous oversight, and a review says what was found.
pub fn record(
    op: &Op<'_>,
    who: &Principal,
    env: &str,
    key: &str,
    comment: &str,
) -> Result<FlagReview, OriginError> {
    if !who.roles.contains(roles::CLINICAL_OVERSIGHT) {
        return Err(OriginError::Forbidden(format!(
            "a clinical review needs the {} role",
            roles::CLINICAL_OVERSIGHT
        )));
    }
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(OriginError::BadRequest(
            "a review needs a `comment` saying what was reviewed and found".into(),
        ));
    }
    let state = publish::load_state(op.db, env)?;
    let row = state
        .flags
        .get(key)
        .filter(|r| !r.archived)
        .ok_or_else(|| OriginError::NotFound(format!("no flag `{key}` in `{env}`")))?;
    let level = level_of(&row.document);
    if interval_days(level).is_none() {
        return Err(OriginError::BadRequest(format!(
            "`{key}` is at oversight level {level}: only flags of clinical impact high (level 2) or critical (level 3) have scheduled reviews"
        )));
    }
    let details = json!({ "comment": comment, "revision": row.revision, "oversight_level": level });
    audit::record(
        op,
        &who.name,
        ACTION,
        &format!("{env}/{key}"),
        details.clone(),
    )?;
    let schedule = schedule(op, env, key, &row.document)?;
    let notice = json!({ "flag": key, "environment": env, "by": who.name, "review": details, "schedule": schedule });
    outbox::emit(
        op,
        DomainEvent::FlagReviewed {
            environment: env.to_string(),
            notice,
        },
    )?;
    Ok(FlagReview {
        flag: key.into(),
        environment: env.into(),
        schedule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_periodic_and_continuous_oversight_is_reviewed() {
        assert_eq!(interval_days(0), None);
        assert_eq!(interval_days(1), None);
        assert_eq!(interval_days(2), Some(30));
        assert_eq!(interval_days(3), Some(7));
    }
}
