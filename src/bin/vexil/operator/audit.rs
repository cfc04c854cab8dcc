//! The audit log on the origin: a flag's report, the log, the chain's check.

use super::api::{enc, flag_path, shown, Api};
use super::EnvArg;
use crate::offline::print_json;
use crate::report::CliError;
use anyhow::{anyhow, Context as _, Result};
use std::path::Path;
use vexil::origin::api::audit::{Link, Page as AuditPage};
use vexil::origin::api::{AuditReport, Verification};

/// `vexil audit FLAG`: the flag's audit report.
pub fn audit_report(api: &Api, flag: &str, env: &EnvArg, format_json: bool) -> Result<i32> {
    let report = api.fetch::<AuditReport>(
        "GET",
        &format!("{}/audit-report", flag_path(&env.env, flag)),
        None,
    )?;
    if format_json || api.json {
        println!("{}", serde_json::to_string_pretty(&report.raw)?);
        return Ok(0);
    }
    let report = &report.body;
    println!(
        "=== Feature Flag Audit Summary: {} in {} ===",
        flag, env.env
    );
    let summary = &report.audit_summary;
    println!("total_evaluations: {}", summary.total_evaluations);
    println!("success_rate: {}", shown(summary.success_rate));
    println!(
        "average_response_time_ms: {}",
        shown(summary.average_response_time_ms)
    );
    println!(
        "unique_users_affected: {}",
        shown(summary.unique_users_affected)
    );
    println!("compliance_status: {}", summary.compliance_status);
    let security = &report.security_information;
    for v in &security.violations {
        println!("  violates {}: {}", v.policy, v.message);
    }
    println!("audit chain intact: {}", security.audit_chain.intact);
    Ok(0)
}

/// `vexil audit log`.
pub fn audit_log(
    api: &Api,
    flag: Option<String>,
    env: Option<String>,
    action: Option<String>,
    limit: Option<u32>,
) -> Result<i32> {
    let mut query = Vec::new();
    for (k, v) in [
        ("flag", flag),
        ("environment", env),
        ("action", action),
        ("limit", limit.map(|l| l.to_string())),
    ] {
        if let Some(v) = v {
            query.push(format!("{k}={}", enc(&v)));
        }
    }
    let a = api.fetch::<AuditPage>("GET", &format!("/audit?{}", query.join("&")), None)?;
    api.print(&a, |page| {
        for Link { entry: e, .. } in &page.entries {
            println!(
                "#{:<5} {} {:<12} {:<20} {} {}",
                e.seq, e.at, e.actor, e.action, e.subject, e.details
            );
        }
    })
}

/// `vexil audit verify` against a server: with `--json`, its answer on standard
/// output, and a broken chain is still an error (exit 1).
pub fn audit_verify_remote(api: &Api) -> Result<i32> {
    let v = api.fetch::<Verification>("GET", "/audit/verify", None)?;
    if api.json {
        println!("{}", serde_json::to_string_pretty(&v.raw)?);
    }
    let broken = &v.body.broken;
    match v.body.ok {
        true => {
            if !api.json {
                println!("audit chain intact: {} entries", shown(v.body.entries));
            }
            Ok(0)
        }
        false => Err(CliError::new(
            "AUDIT_BROKEN",
            format!(
                "audit chain broken at entry {}: {}",
                shown(broken.as_ref().map(|b| b.seq)),
                shown(broken.as_ref().map(|b| &b.reason))
            ),
        )
        .into()),
    }
}

/// `vexil audit verify --data DIR`: reads the database directly, so it works when
/// the server is down (or not trusted).
pub fn audit_verify_data(
    dir: &Path,
    database: Option<&str>,
    kek: Option<vexil::origin::kek::Kek>,
    json_out: bool,
) -> Result<i32> {
    match vexil::origin::verify_data_dir_with_kek(dir, database, kek) {
        Ok(n) if json_out => print_json(&serde_json::json!({ "ok": true, "entries": n })),
        Ok(n) => {
            println!("audit chain intact: {n} entries");
            Ok(0)
        }
        Err(vexil::origin::OriginError::AuditBroken(b)) => {
            Err(CliError::new("AUDIT_BROKEN", b.to_string())
                .at(Some(dir.display().to_string()), None)
                .into())
        }
        Err(e) => Err(anyhow!(e)).with_context(|| format!("cannot verify {}", dir.display())),
    }
}
