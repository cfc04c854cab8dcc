//! Read models: flag summaries and details, revision history, the environment list,
//! lifecycle insights and the seed's audit report.

use super::api::{
    AuditChain, AuditReport, AuditSummary, AuditedFlag, Environment, EnvironmentList,
    EvaluationMetrics, FlagDetail, FlagList, FlagListItem, FlagSummary, History, Insight,
    InsightList, PerformanceMetrics, ReportApproval, Revision, SecurityInformation,
    UserImpactMetrics, Window,
};
use super::changes;
use super::governance::{self, Change};
use super::publish::{self, EnvState, FlagRow};
use super::{audit, Op, OriginError};
use crate::engine::edit::{FlagDoc, ServeAt};
use crate::engine::time::parse_rfc3339_ms;
use crate::origin::db::{params, Db};
use serde_json::Value;

const DAY_MS: i64 = 86_400_000;

fn off_variant(doc: &Value) -> Option<&str> {
    FlagDoc(doc).off_variant()
}

fn enabled(doc: &Value) -> bool {
    FlagDoc(doc).enabled()
}

/// A short description of what the flag's fallthrough serves.
fn serving(doc: &Value) -> String {
    if !enabled(doc) {
        return format!(
            "{} (disabled)",
            off_variant(doc).unwrap_or("caller's default")
        );
    }
    let flag = FlagDoc(doc);
    let fallthrough = flag.serve(ServeAt::Fallthrough).unwrap_or_default();
    let mut text = fallthrough
        .split()
        .iter()
        .filter(|(_, p)| *p > 0.0)
        .map(|(v, p)| {
            if *p >= 100.0 {
                v.to_string()
            } else {
                format!("{v} {p}%")
            }
        })
        .collect::<Vec<_>>()
        .join(" / ");
    if text.is_empty() {
        text = "caller's default".into();
    }
    let rules = flag.rule_ids().count();
    if rules > 0 {
        text.push_str(&format!(
            " (+{rules} rule{})",
            if rules == 1 { "" } else { "s" }
        ));
    }
    text
}

/// A flag's summary row.
pub fn summary(db: &Db, env: &str, key: &str, row: &FlagRow) -> Result<FlagSummary, OriginError> {
    let d = &row.document;
    let text = |field: &str| d.get(field).and_then(Value::as_str).map(str::to_string);
    let list = |field: &str| -> Vec<String> {
        d.get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    Ok(FlagSummary {
        key: key.to_string(),
        environment: env.to_string(),
        name: text("name"),
        kind: text("kind").unwrap_or_else(|| "release".into()),
        strategy: text("strategy"),
        risk: text("risk").unwrap_or_else(|| "low".into()),
        compliance: list("compliance"),
        owner: text("owner"),
        tags: list("tags"),
        enabled: enabled(d),
        archived: row.archived,
        revision: row.revision,
        updated_at: row.updated_at.clone(),
        updated_by: row.updated_by.clone(),
        expires_at: text("expires_at"),
        serving: serving(d),
        rollout_percentage: FlagDoc(d).rollout_percentage(),
        pending_changes: changes::pending_for(db, env, key)?.len() as u64,
    })
}

/// Flags of an environment, each with its evaluations over the last 24 hours.
pub fn flag_list(op: &Op<'_>, env: &str, include_archived: bool) -> Result<FlagList, OriginError> {
    let state = publish::load_state(op.db, env)?;
    let day = super::edge_metrics::merged(op.db, env, op.now_ms - DAY_MS, op.now_ms + 1)?;
    let flags = state
        .flags
        .iter()
        .filter(|(_, r)| include_archived || !r.archived)
        .map(|(k, r)| {
            Ok(FlagListItem {
                summary: summary(op.db, env, k, r)?,
                evaluations_24h: day
                    .flags
                    .get(k)
                    .map_or(0, super::edge_metrics::evaluations_of),
            })
        })
        .collect::<Result<Vec<_>, OriginError>>()?;
    Ok(FlagList { flags })
}

fn find<'s>(state: &'s EnvState, env: &str, key: &str) -> Result<&'s FlagRow, OriginError> {
    state
        .flags
        .get(key)
        .ok_or_else(|| OriginError::NotFound(format!("no flag `{key}` in `{env}`")))
}

/// One flag: its summary, document and pending changes.
pub fn flag_detail(db: &Db, env: &str, key: &str) -> Result<FlagDetail, OriginError> {
    let state = publish::load_state(db, env)?;
    let row = find(&state, env, key)?;
    Ok(FlagDetail {
        summary: summary(db, env, key, row)?,
        flag: row.document.clone(),
        pending: changes::pending_for(db, env, key)?,
    })
}

/// A flag's revisions, newest first.
pub fn flag_history(db: &Db, env: &str, key: &str) -> Result<History, OriginError> {
    let state = publish::load_state(db, env)?;
    find(&state, env, key)?;
    let rows = db.query(
        "SELECT revision, document, archived, change_id, author, at FROM flag_revisions
         WHERE environment = ?1 AND key = ?2 ORDER BY revision DESC",
        params![env, key],
        |r| {
            Ok(Revision {
                revision: r.get(0)?,
                document: serde_json::from_str(&r.get::<String>(1)?).unwrap_or(Value::Null),
                archived: r.get(2)?,
                change_id: r.get(3)?,
                author: r.get(4)?,
                at: r.get(5)?,
            })
        },
    )?;
    Ok(History { revisions: rows })
}

/// Every environment with its newest snapshot.
pub fn environments(db: &Db) -> Result<EnvironmentList, OriginError> {
    let mut out = Vec::new();
    for env in publish::environment_names(db)? {
        let latest = publish::latest(db, &env)?;
        let flags: i64 = db.query_row(
            "SELECT COUNT(*) FROM flags WHERE environment = ?1 AND archived = 0",
            params![env],
            |r| r.get(0),
        )?;
        out.push(Environment {
            snapshot_version: latest.as_ref().map(|p| p.version),
            published_at: latest.as_ref().map(|p| super::rfc3339(p.issued_at_ms)),
            name: env,
            flags,
        });
    }
    Ok(EnvironmentList { environments: out })
}

fn insight(env: &str, flag: &str, kind: &str, message: String, recommendation: &str) -> Insight {
    Insight {
        environment: env.into(),
        flag: flag.into(),
        kind: kind.into(),
        message,
        recommendation: recommendation.into(),
    }
}

/// Lifecycle insights (the seed's analytics recommendations that need no metrics):
/// expired flags, flags settled on one variant for `settled_days` (kill switches
/// excepted: settled is their normal state), archived flags still referenced,
/// clinical reviews due, and change requests waiting too long; of one flag only when
/// `flag_filter` names it.
pub fn insights(
    op: &Op<'_>,
    env_filter: Option<&str>,
    flag_filter: Option<&str>,
) -> Result<InsightList, OriginError> {
    let envs = match env_filter {
        Some(env) => {
            publish::require_environment(op.db, env)?;
            vec![env.to_string()]
        }
        None => publish::environment_names(op.db)?,
    };
    let settled_ms = i64::from(op.config.settled_days) * DAY_MS;
    let mut out = Vec::new();
    for env in &envs {
        let state = publish::load_state(op.db, env)?;
        let chosen = |key: &str| flag_filter.is_none_or(|f| f == key);
        for (key, row) in state.flags.iter().filter(|(k, _)| chosen(k)) {
            let doc = &row.document;
            if row.archived {
                let dependents: Vec<&str> = state
                    .flags
                    .iter()
                    .filter(|(_, r)| !r.archived)
                    .filter(|(_, r)| FlagDoc(&r.document).prerequisite_flags().any(|p| p == key))
                    .map(|(k, _)| k.as_str())
                    .collect();
                if !dependents.is_empty() {
                    out.push(insight(
                        env,
                        key,
                        "archived_prerequisite",
                        format!(
                            "archived, but still a prerequisite of {}",
                            dependents.join(", ")
                        ),
                        "remove the prerequisite from those flags, or restore this flag",
                    ));
                }
                continue;
            }
            if let Some(at) = doc
                .get("expires_at")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339_ms)
            {
                if at <= op.now_ms {
                    out.push(insight(
                        env,
                        key,
                        "expired",
                        format!("expired {} day(s) ago", (op.now_ms - at) / DAY_MS),
                        "remove the flag from the code and archive it, or extend `expires_at`",
                    ));
                }
            }
            for (kind, message, recommendation) in super::edge_metrics::flag_insights(
                op.db,
                env,
                key,
                doc,
                op.now_ms,
                op.now_ms - row.updated_at_ms,
                op.config.stale_evaluation_days,
            )? {
                out.push(insight(env, key, &kind, message, &recommendation));
            }
            if let Some(review) = super::reviews::schedule(op, env, key, doc)? {
                if review.status == "due" {
                    out.push(insight(
                        env,
                        key,
                        "review_due",
                        format!(
                            "clinical review due since {} (oversight level {}: every {} days)",
                            review.due_at, review.oversight_level, review.every_days
                        ),
                        "CLINICAL_OVERSIGHT reviews it: vexil flag review KEY --comment \"...\"",
                    ));
                }
            }
            let age = op.now_ms - row.updated_at_ms;
            if age >= settled_ms && !FlagDoc(doc).is_kill_switch() {
                if let Some(variant) = FlagDoc(doc).settled_variant() {
                    let days = age / DAY_MS;
                    let off = off_variant(doc) == Some(variant.as_str());
                    let (kind, message, recommendation) = if off {
                        (
                            "fully_off",
                            format!("served `{variant}` (off) to everyone for {days} day(s)"),
                            "remove the flag and the code path it guards",
                        )
                    } else {
                        (
                            "fully_rolled_out",
                            format!("served `{variant}` to everyone for {days} day(s)"),
                            "remove the flag and keep the code path it serves",
                        )
                    };
                    out.push(insight(env, key, kind, message, recommendation));
                }
            }
        }
    }
    let stale_ms = i64::from(op.config.stale_change_days) * DAY_MS;
    let stale = op.db.query(
        "SELECT id, environment, target, created_at_ms FROM changes
         WHERE status = 'pending' AND created_at_ms <= ?1 ORDER BY id",
        params![op.now_ms - stale_ms],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<i64>(3)?,
            ))
        },
    )?;
    for row in stale {
        let (id, env, target, at) = row;
        if envs.contains(&env) && flag_filter.is_none_or(|f| f == target) {
            out.push(insight(
                &env,
                &target,
                "stale_change",
                format!(
                    "change #{id} has waited {} day(s) for approval",
                    (op.now_ms - at) / DAY_MS
                ),
                "approve, reject or cancel it",
            ));
        }
    }
    Ok(InsightList { insights: out })
}

/// `value` (an origin type) as the API type with the same JSON.
pub(in crate::origin) fn retyped<T: serde::de::DeserializeOwned>(
    value: impl serde::Serialize,
) -> Result<T, OriginError> {
    Ok(serde_json::from_value(serde_json::to_value(value)?)?)
}

/// The seed's audit report for a flag.
pub fn audit_report(op: &Op<'_>, env: &str, key: &str) -> Result<AuditReport, OriginError> {
    let state = publish::load_state(op.db, env)?;
    let row = find(&state, env, key)?;
    let doc = &row.document;
    let history = flag_history(op.db, env, key)?;
    let changes = changes::list(
        op.db,
        &changes::ListFilter {
            environment: Some(env.into()),
            flag: Some(key.into()),
            limit: Some(1000),
            ..Default::default()
        },
    )?;
    let approvals: Vec<ReportApproval> = changes
        .changes
        .iter()
        .flat_map(|c| {
            c.approvals.iter().map(|a| ReportApproval {
                approver: a.approver.clone(),
                role: a.role.clone(),
                comment: a.comment.clone(),
                at: a.at.clone(),
                change: c.id,
            })
        })
        .collect();
    let segments = state
        .segments
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), serde_json::from_value(v.clone()).ok()?)))
        .collect();
    let assessment = governance::assess(
        doc,
        &segments,
        Change::Update,
        op.now_ms,
        &op.config.governance,
    );
    let compliance_status = if assessment.violations.is_empty() {
        "compliant"
    } else {
        "non_compliant"
    };
    let verified = audit::verify_stored(op.db, op.keys.audit_key());
    let chain = match &verified {
        Ok(n) => AuditChain {
            intact: true,
            entries: Some(*n),
            error: None,
        },
        Err(e) => AuditChain {
            intact: false,
            entries: None,
            error: Some(e.to_string()),
        },
    };
    let safeguards = governance::safeguards::hipaa(
        doc,
        &governance::safeguards::Facts {
            approval_roles: approvals.iter().map(|a| a.role.as_str()).collect(),
            chain_entries: verified.as_ref().ok().copied(),
            probed: op.config.health.iter().map(|s| s.name.as_str()).collect(),
        },
    );
    let entries = audit::list(
        op.db,
        &audit::Filter {
            environment: Some(env.into()),
            flag: Some(key.into()),
            limit: Some(1000),
            ..Default::default()
        },
    )?;
    // What the edges reported over the last 30 days.
    let metrics =
        super::edge_metrics::flag_report(op.db, env, key, op.now_ms - 30 * DAY_MS, op.now_ms + 1)?;
    let evaluation_metrics = EvaluationMetrics {
        total_evaluations: metrics.total_evaluations,
        success_rate: metrics.success_rate.unwrap_or(0.0),
        error_rate: metrics.error_rate.unwrap_or(0.0),
        by_variant: metrics.variants,
        window: Window {
            from: metrics.from,
            to: metrics.to,
        },
    };
    let performance_metrics = PerformanceMetrics {
        avg_response_time_ms: metrics.avg_response_time_ms.unwrap_or(0.0),
        p95_response_time_ms: metrics.p95_response_time_ms,
    };
    let user_impact_metrics = UserImpactMetrics {
        unique_users: metrics.unique_units,
        geography: metrics.geography,
    };
    let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_string);
    let audit_summary = AuditSummary {
        total_evaluations: evaluation_metrics.total_evaluations,
        success_rate: evaluation_metrics.success_rate,
        average_response_time_ms: performance_metrics.avg_response_time_ms,
        unique_users_affected: user_impact_metrics.unique_users,
        compliance_status: compliance_status.into(),
    };
    Ok(AuditReport {
        flag_id: key.into(),
        environment: env.into(),
        audit_timestamp: op.now(),
        flag: AuditedFlag {
            name: field("name"),
            owner: field("owner"),
            kind: field("kind"),
            strategy: field("strategy"),
            risk: field("risk"),
            compliance: doc
                .get("compliance")
                .and_then(|c| serde_json::from_value(c.clone()).ok()),
            enabled: enabled(doc),
            archived: row.archived,
            revision: row.revision,
            expires_at: field("expires_at"),
        },
        configuration_history: history.revisions,
        changes: changes.changes,
        approvals,
        audit_entries: entries,
        evaluation_metrics,
        performance_metrics,
        user_impact_metrics,
        security_information: SecurityInformation {
            compliance_status: compliance_status.into(),
            violations: retyped(&assessment.violations)?,
            required_approvals: retyped(&assessment.approvals)?,
            oversight_level: assessment.oversight_level,
            audit_chain: chain,
            hipaa_safeguards: retyped(&safeguards)?,
            oversight_review: super::reviews::schedule(op, env, key, doc)?,
        },
        audit_summary,
    })
}

#[cfg(test)]
mod tests {
    use super::serving;
    use serde_json::json;

    #[test]
    fn a_disabled_flag_serves_its_off_variant_or_the_callers_default() {
        let flag =
            json!({ "enabled": false, "off_variant": "off", "fallthrough": { "variant": "on" } });
        assert_eq!(serving(&flag), "off (disabled)");
        let flag = json!({ "enabled": false, "fallthrough": { "variant": "on" } });
        assert_eq!(serving(&flag), "caller's default (disabled)");
    }
}
