//! Rollouts, change requests and their decisions, bulk updates, promotion.

use super::api::{api_error, enc, flag_path, read_document, shown, typed, Answer, Api};
use super::flags::flag_action;
use super::print::{print_change, print_rollout};
use super::{ChangesCommand, EnvArg, RolloutCommand};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use std::path::Path;
use vexil::origin::api::{
    ApproveBody, BulkFailure, BulkReport, Change, ChangeListQuery, ChangePage, PromoteBody,
    RejectBody, Rollout, RolloutBody, RolloutList, RolloutPlan,
};

pub fn rollout(api: &Api, command: RolloutCommand) -> Result<i32> {
    match command {
        RolloutCommand::Set {
            flag,
            percent,
            variant,
            rule,
            env,
            reason,
            apply_at,
        } => {
            // The engine's own check, as the origin makes it.
            if let Err(e) = vexil::engine::compile::thousandths(percent) {
                bail!("PERCENT {e}");
            }
            let body = RolloutBody {
                percentage: percent,
                variant,
                rule,
                reason,
                apply_at,
            };
            flag_action(api, &env, &flag, "rollout", body)
        }
        RolloutCommand::Start {
            flag,
            stages,
            stage_duration,
            max_error_rate,
            min_success_rate,
            max_latency_ms,
            min_samples,
            guards,
            best_execution,
            variant,
            rule,
            env,
            reason,
        } => {
            let plan = RolloutPlan {
                stages: Some(stages),
                stage_duration: Some(stage_duration),
                max_error_rate: Some(max_error_rate),
                min_success_rate: Some(min_success_rate),
                max_latency_ms: Some(max_latency_ms),
                min_samples: Some(min_samples),
                guards,
                best_execution,
                variant,
                rule,
                reason,
                ..Default::default()
            };
            let r = api.fetch::<Rollout>(
                "POST",
                &format!("{}/rollouts", flag_path(&env.env, &flag)),
                Some(serde_json::to_value(plan)?),
            )?;
            api.print(&r, print_rollout)
        }
        RolloutCommand::Status { flag, env } => {
            let mut path = format!("/environments/{}/rollouts", enc(&env.env));
            if let Some(f) = &flag {
                path.push_str(&format!("?flag={}", enc(f)));
            }
            let list = api.fetch::<RolloutList>("GET", &path, None)?;
            match (flag, list.body.rollouts.first()) {
                (Some(_), Some(newest)) => {
                    let newest = Answer {
                        raw: list.raw["rollouts"][0].clone(),
                        body: newest.clone(),
                    };
                    api.print(&newest, print_rollout)
                }
                (Some(f), None) => bail!("`{f}` has no rollouts in {}", env.env),
                (None, _) => api.print(&list, |l| {
                    for r in &l.rollouts {
                        println!(
                            "#{:<4} {:<34} {:<16} stage {} ({}%)",
                            r.id,
                            r.flag,
                            r.status,
                            r.stage,
                            shown(r.percentage)
                        );
                    }
                }),
            }
        }
        RolloutCommand::Pause { flag, env } => rollout_control(api, &flag, &env, "pause"),
        RolloutCommand::Resume { flag, env } => rollout_control(api, &flag, &env, "resume"),
        RolloutCommand::Abort { flag, env } => rollout_control(api, &flag, &env, "abort"),
    }
}

fn rollout_control(api: &Api, flag: &str, env: &EnvArg, action: &str) -> Result<i32> {
    let list = api.fetch::<RolloutList>(
        "GET",
        &format!(
            "/environments/{}/rollouts?flag={}",
            enc(&env.env),
            enc(flag)
        ),
        None,
    )?;
    let active = list
        .body
        .rollouts
        .iter()
        .find(|r| matches!(r.status.as_str(), "running" | "paused" | "waiting_approval"))
        .ok_or_else(|| anyhow!("`{flag}` has no rollout in progress in {}", env.env))?;
    let r = api.fetch::<Rollout>("POST", &format!("/rollouts/{}/{action}", active.id), None)?;
    api.print(&r, print_rollout)
}

pub fn bulk_update(api: &Api, file: &Path, env: &EnvArg, reason: Option<String>) -> Result<i32> {
    let mut doc = read_document(file)?;
    if doc.get("updates").and_then(Value::as_array).is_none() {
        bail!(
            "{} has no `updates` list (the seed's bulk-update format)",
            file.display()
        );
    }
    if reason.is_some() {
        doc["reason"] = json!(reason);
    }
    let (status, report) = api.send(
        "POST",
        &format!("/environments/{}/bulk", enc(&env.env)),
        Some(doc),
    )?;
    let ok = (200..300).contains(&status);
    if !ok && report.get("results").is_none() {
        return Err(api_error(status, &report));
    }
    // A failed update's answer is the report with the error after it.
    let typed_report = if ok {
        typed::<BulkReport>(&report)?
    } else {
        typed::<BulkFailure>(&report)?.report
    };
    api.show(&report, |_| {
        let r = &typed_report;
        for item in &r.results {
            let change = item
                .change
                .map_or(String::new(), |id| format!(" (change #{id})"));
            let error = item
                .error
                .as_deref()
                .or(item.note.as_deref())
                .map_or(String::new(), |e| format!(": {e}"));
            println!(
                "#{} {} {}: {}{change}{error}",
                item.index,
                item.flag_id,
                item.operation,
                shown(item.status)
            );
        }
        let rolled_back = r
            .not_applied
            .map_or(String::new(), |n| format!(", {n} rolled back"));
        println!(
            "Bulk update: {} total, {} applied, {} pending approval, {} failed{rolled_back}",
            r.total, r.applied, r.pending, r.failed
        );
    })?;
    if (200..300).contains(&status) {
        Ok(0)
    } else {
        bail!("the bulk update failed; nothing was applied")
    }
}

/// `vexil approve` / `vexil reject`.
pub fn decide(
    api: &Api,
    id: i64,
    approve: bool,
    comment: Option<String>,
    role: Option<String>,
) -> Result<i32> {
    let (path, body) = if approve {
        let body = ApproveBody { comment, role };
        (
            format!("/changes/{id}/approve"),
            serde_json::to_value(body)?,
        )
    } else {
        let body = RejectBody {
            comment: comment.unwrap_or_default(),
        };
        (format!("/changes/{id}/reject"), serde_json::to_value(body)?)
    };
    let c = api.fetch::<Change>("POST", &path, Some(body))?;
    api.print(&c, print_change)
}

/// `vexil changes ...`.
pub fn changes(api: &Api, command: ChangesCommand) -> Result<i32> {
    match command {
        ChangesCommand::List { status, flag, env } => {
            let query = ChangeListQuery {
                status,
                flag,
                environment: env,
                ..Default::default()
            };
            let pairs: Vec<String> = [
                ("status", &query.status),
                ("flag", &query.flag),
                ("environment", &query.environment),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some(format!("{k}={}", enc(v.as_deref()?))))
            .collect();
            let path = if pairs.is_empty() {
                "/changes".to_string()
            } else {
                format!("/changes?{}", pairs.join("&"))
            };
            let answer = api.fetch::<ChangePage>("GET", &path, None)?;
            api.print(&answer, |page| {
                if page.changes.is_empty() {
                    println!("no change requests");
                }
                page.changes.iter().for_each(print_change);
            })
        }
        ChangesCommand::Show { id } => {
            let c = api.fetch::<Change>("GET", &format!("/changes/{id}"), None)?;
            api.print(&c, |c| {
                print_change(c);
                println!(
                    "  author {}, {}; reason: {}",
                    c.author,
                    c.created_at,
                    shown(&c.reason)
                );
                for a in &c.approvals {
                    println!(
                        "  approved as {} by {} at {}: {}",
                        a.role,
                        a.approver,
                        a.at,
                        shown(&a.comment)
                    );
                }
            })
        }
        ChangesCommand::Cancel { id } => {
            let c = api.fetch::<Change>("POST", &format!("/changes/{id}/cancel"), None)?;
            api.print(&c, print_change)
        }
        ChangesCommand::Apply { id } => {
            let c = api.fetch::<Change>("POST", &format!("/changes/{id}/apply"), None)?;
            let code = api.print(&c, print_change)?;
            // Still pending (a trading-hours freeze, or its `apply_at` to come): not
            // applied, so not a success.
            Ok(if c.body.status == "pending" { 4 } else { code })
        }
    }
}

/// `vexil promote`.
pub fn promote(api: &Api, flag: &str, from: &str, to: &str, reason: Option<String>) -> Result<i32> {
    let body = PromoteBody {
        flag: flag.into(),
        from: from.into(),
        to: to.into(),
        reason,
    };
    let c = api.fetch::<Change>("POST", "/promote", Some(serde_json::to_value(body)?))?;
    api.print(&c, print_change)
}
