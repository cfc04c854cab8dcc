//! `vexil flag ...` and `vexil rollback`: flags on the origin.

use super::api::{enc, flag_path, read_flag, shown, Api};
use super::print::{print_change, print_metrics};
use super::{CreateArgs, EnvArg, FlagCommand};
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use vexil::engine::model::Serve;
use vexil::engine::time::format_rfc3339_ms;
use vexil::origin::api::{
    Change, FlagBody, FlagDetail, FlagInsights, FlagList, FlagListItem, FlagMetrics, FlagReview,
    History, ReasonBody, ReviewBody, RollbackBody,
};

fn prompt(question: &str) -> Result<String> {
    print!("{question}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

fn choose(title: &str, options: &[&str], default: usize) -> Result<String> {
    println!("{title}:");
    for (i, o) in options.iter().enumerate() {
        println!("{}) {o}", i + 1);
    }
    let answer = prompt(&format!("Enter choice (1-{}): ", options.len()))?;
    let index = answer
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=options.len()).contains(n))
        .map_or(default, |n| n - 1);
    Ok(options[index].to_string())
}

/// The seed's generated flag: on/off, off for everyone, expiring after `expires_in`.
fn generated_flag(
    args: &CreateArgs,
    key: String,
    name: Option<String>,
    description: Option<String>,
    strategy: String,
    risk: String,
) -> Value {
    let expires = format_rfc3339_ms(
        crate::offline::now_ms().saturating_add(args.expires_in.as_millis() as i64),
    );
    let kind = args.kind.clone().unwrap_or_else(|| {
        match strategy.as_str() {
            "kill_switch" => "kill_switch",
            "operational_toggle" => "ops",
            "a_b_testing" => "experiment",
            _ => "release",
        }
        .to_string()
    });
    let mut flag = json!({
        "key": key, "kind": kind, "strategy": strategy, "risk": risk, "expires_at": expires,
        "enabled": true, "variants": { "on": true, "off": false }, "off_variant": "off",
        "fallthrough": Serve::fixed("off").to_json(),
    });
    for (field, value) in [
        ("name", name),
        ("description", description),
        ("owner", args.owner.clone()),
    ] {
        if let Some(v) = value {
            flag[field] = json!(v);
        }
    }
    flag
}

fn interactive_flag(args: &CreateArgs) -> Result<Value> {
    println!("Creating a feature flag (Ctrl-C to stop)");
    let key = prompt("Enter flag ID: ")?;
    if key.is_empty() {
        bail!("a flag needs an ID");
    }
    let name = Some(prompt("Enter flag name: ")?).filter(|s| !s.is_empty());
    let description = Some(prompt("Enter description: ")?).filter(|s| !s.is_empty());
    let strategy = choose(
        "Select strategy",
        &[
            "progressive_rollout",
            "targeted_release",
            "kill_switch",
            "a_b_testing",
        ],
        0,
    )?;
    let risk = choose(
        "Select risk level",
        &["low", "medium", "high", "critical"],
        1,
    )?;
    Ok(generated_flag(args, key, name, description, strategy, risk))
}

/// `vexil flag ...`.
pub fn flag(api: &Api, command: FlagCommand) -> Result<i32> {
    match command {
        FlagCommand::Create(args) => {
            let mut from_file = None;
            let flag = match (&args.file, &args.key) {
                (Some(file), _) => {
                    let read = read_flag(file)?;
                    let flag = read.flag.clone();
                    from_file = Some(read);
                    flag
                }
                (None, Some(key)) => generated_flag(
                    &args,
                    key.clone(),
                    args.name.clone(),
                    args.description.clone(),
                    args.strategy.clone(),
                    args.risk.clone(),
                ),
                (None, None) if args.interactive || std::io::stdin().is_terminal() => {
                    interactive_flag(&args)?
                }
                (None, None) => bail!("give --file FILE, --key KEY or --interactive"),
            };
            let body = FlagBody {
                flag,
                reason: args.reason,
                apply_at: args.apply_at,
            };
            let c = api
                .fetch::<Change>(
                    "POST",
                    &format!("/environments/{}/flags", enc(&args.env.env)),
                    Some(serde_json::to_value(body)?),
                )
                .map_err(|e| match &from_file {
                    Some(file) => file.locate(e),
                    None => e,
                })?;
            api.print(&c, print_change)
        }
        FlagCommand::Update {
            flag,
            file,
            env,
            reason,
            apply_at,
        } => {
            let doc = read_flag(&file)?;
            let c = api
                .fetch::<Change>(
                    "PUT",
                    &flag_path(&env.env, &flag),
                    Some(serde_json::to_value(FlagBody {
                        flag: doc.flag.clone(),
                        reason,
                        apply_at,
                    })?),
                )
                .map_err(|e| doc.locate(e))?;
            api.print(&c, print_change)
        }
        FlagCommand::List { env, archived } => {
            let path = format!(
                "/environments/{}/flags{}",
                enc(&env.env),
                if archived { "?archived=true" } else { "" }
            );
            let answer = api.fetch::<FlagList>("GET", &path, None)?;
            api.print(&answer, |list| {
                if list.flags.is_empty() {
                    println!("no flags in {}", env.env);
                    return;
                }
                println!(
                    "{:<34} {:<8} {:<9} {:>4} {:>7}  {:<20} serving",
                    "flag", "enabled", "risk", "rev", "pending", "compliance"
                );
                for FlagListItem { summary: f, .. } in &list.flags {
                    let enabled = if f.archived {
                        "archived"
                    } else if f.enabled {
                        "yes"
                    } else {
                        "NO"
                    };
                    println!(
                        "{:<34} {:<8} {:<9} {:>4} {:>7}  {:<20} {}",
                        f.key,
                        enabled,
                        f.risk,
                        f.revision,
                        f.pending_changes,
                        f.compliance.join(","),
                        f.serving,
                    );
                }
            })
        }
        FlagCommand::Status { flag, env } => {
            let detail = api.fetch::<FlagDetail>("GET", &flag_path(&env.env, &flag), None)?;
            api.print(&detail, |d| {
                let f = &d.summary;
                println!("{} in {}", f.key, f.environment);
                for (field, value) in [
                    ("name", shown(&f.name)),
                    ("owner", shown(&f.owner)),
                    ("kind", f.kind.clone()),
                    ("strategy", shown(&f.strategy)),
                    ("risk", f.risk.clone()),
                    ("enabled", f.enabled.to_string()),
                    ("archived", f.archived.to_string()),
                    ("serving", f.serving.clone()),
                    ("rollout_percentage", shown(f.rollout_percentage)),
                    ("expires_at", shown(&f.expires_at)),
                    ("revision", f.revision.to_string()),
                    ("updated_at", f.updated_at.clone()),
                    ("updated_by", f.updated_by.clone()),
                ] {
                    println!("  {field:<19} {value}");
                }
                println!(
                    "  {:<19} {}",
                    "compliance",
                    if f.compliance.is_empty() {
                        "-".into()
                    } else {
                        f.compliance.join(", ")
                    }
                );
                let pending: Vec<String> = d.pending.iter().map(|id| format!("#{id}")).collect();
                println!(
                    "  {:<19} {}",
                    "pending changes",
                    if pending.is_empty() {
                        "none".into()
                    } else {
                        pending.join(" ")
                    }
                );
                println!(
                    "definition:\n{}",
                    serde_json::to_string_pretty(&d.flag).unwrap_or_default()
                );
            })
        }
        FlagCommand::Metrics {
            flag,
            env,
            from,
            to,
        } => {
            let mut path = format!("/flags/{}/metrics?env={}", enc(&flag), enc(&env.env));
            for (k, v) in [("from", from), ("to", to)] {
                if let Some(v) = v {
                    path.push_str(&format!("&{k}={}", enc(&v)));
                }
            }
            let m = api.fetch::<FlagMetrics>("GET", &path, None)?;
            api.print(&m, print_metrics)
        }
        FlagCommand::History { flag, env } => {
            let h = api.fetch::<History>(
                "GET",
                &format!("{}/history", flag_path(&env.env, &flag)),
                None,
            )?;
            api.print(&h, |h| {
                for r in &h.revisions {
                    let archived = if r.archived { " (archived)" } else { "" };
                    println!(
                        "revision {:>3}  {}  by {:<12} change #{}{archived}",
                        r.revision, r.at, r.author, r.change_id
                    );
                }
            })
        }
        FlagCommand::Archive { flag, env, reason } => {
            flag_action(api, &env, &flag, "archive", ReasonBody { reason })
        }
        FlagCommand::Kill { flag, env, reason } => flag_action(
            api,
            &env,
            &flag,
            "kill",
            ReasonBody {
                reason: Some(reason),
            },
        ),
        FlagCommand::Insights { flag, env, days } => {
            let path = format!("{}/insights?days={days}", flag_path(&env.env, &flag));
            let r = api.fetch::<FlagInsights>("GET", &path, None)?;
            api.print(&r, print_insights)
        }
        FlagCommand::Review { flag, env, comment } => {
            let path = format!("{}/review", flag_path(&env.env, &flag));
            let body = serde_json::to_value(ReviewBody {
                comment: Some(comment),
            })?;
            let r = api.fetch::<FlagReview>("POST", &path, Some(body))?;
            api.print(&r, |r| match &r.schedule {
                Some(s) => println!(
                    "reviewed {} at oversight level {}: next review due {} (every {} days)",
                    r.flag, s.oversight_level, s.due_at, s.every_days
                ),
                None => println!("reviewed {}: no review schedule", r.flag),
            })
        }
        FlagCommand::Enable { flag, env, reason } => {
            flag_action(api, &env, &flag, "enable", ReasonBody { reason })
        }
    }
}

/// `POST .../flags/FLAG/ACTION` with `body` (one of the API's request types),
/// printing the change.
pub fn flag_action(
    api: &Api,
    env: &EnvArg,
    flag: &str,
    action: &str,
    body: impl serde::Serialize,
) -> Result<i32> {
    let path = format!("{}/{action}", flag_path(&env.env, flag));
    let c = api.fetch::<Change>("POST", &path, Some(serde_json::to_value(body)?))?;
    api.print(&c, print_change)
}

/// `vexil rollback`.
pub fn rollback(
    api: &Api,
    flag: &str,
    env: &EnvArg,
    to_revision: Option<i64>,
    reason: Option<String>,
) -> Result<i32> {
    let body = RollbackBody {
        to_revision,
        reason,
    };
    flag_action(api, env, flag, "rollback", body)
}

/// `vexil flag insights`, for people.
fn print_insights(r: &FlagInsights) {
    let p = &r.performance;
    println!("{} in {}, last {} days", r.flag, r.environment, r.days);
    println!(
        "performance: {} evaluations (~{}/day), error rate {} %, success {} %, latency mean {} ms, p95 {} ms",
        p.evaluations,
        shown(p.evaluations_per_day),
        shown(p.error_rate),
        shown(p.success_rate),
        shown(p.avg_response_time_ms),
        shown(p.p95_response_time_ms)
    );
    println!("adoption: ~{} unique units", shown(r.adoption.unique_units));
    for (variant, v) in &r.adoption.by_variant {
        println!(
            "  {variant}: {} evaluations ({} %), ~{} units",
            v.evaluations,
            shown(v.share_percent),
            shown(v.unique_units)
        );
    }
    let impact = &r.business_impact;
    for (event, variants) in &impact.events {
        println!(
            "business impact: {event} (control {})",
            shown(&impact.control)
        );
        for (variant, o) in variants {
            let vs = o
                .vs_control
                .as_ref()
                .map(|d| {
                    format!(
                        "; vs control: value {}, success {}",
                        shown(d.value_mean),
                        shown(d.success_rate)
                    )
                })
                .unwrap_or_default();
            println!(
                "  {variant}: {} times, value mean {}, success {} %{vs}",
                o.count,
                shown(o.value_mean),
                shown(o.success_rate)
            );
        }
    }
    let l = &r.lifecycle;
    println!(
        "lifecycle: {}, revision {}, last changed {} by {} ({} days ago), expires {}",
        l.state,
        l.revision,
        l.last_changed_at,
        l.last_changed_by,
        l.days_since_change,
        shown(&l.expires_at)
    );
    if r.recommendations.is_empty() {
        println!("recommendations: none");
    }
    for i in &r.recommendations {
        println!(
            "recommendation: {} (because {})",
            i.recommendation, i.reason
        );
    }
}
