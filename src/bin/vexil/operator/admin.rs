//! The origin itself (`init`, `serve`), its keys, tokens, SDK keys, webhooks,
//! segments, environments and insights.

use super::api::{enc, read_document, shown, Api};
use super::print::print_change;
use super::{EnvCommand, SdkKeyCommand, SegmentCommand, TokenCommand, WebhooksCommand};
use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};
use std::path::Path;
use vexil::origin::api::{
    Change, CreatedEnvironment, CreatedToken, CreatedWebhook, DeliveryList, EnvironmentList,
    InsightList, KeyListing, NewEnvironment, NewSdkKey, NewToken, NewWebhook, Revoked, RotateBody,
    Rotation, SdkKeyList, SegmentBody, SegmentList, TokenList, WebhookList, WebhookRemoved,
};

// ---- Commands -----------------------------------------------------------------------

/// `vexil init`.
pub fn init(
    data: &Path,
    database: Option<&str>,
    kek: Option<vexil::origin::kek::Kek>,
    json_out: bool,
) -> Result<i32> {
    let made = vexil::origin::init_with_kek(data, database, kek)
        .with_context(|| format!("cannot initialise {}", data.display()))?;
    if json_out {
        let out = json!({ "data": data, "database": made.database, "admin_token": made.admin_token, "key_id": made.key_id, "keys_sealed": made.keys_sealed, "environments": made.environments });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    println!("initialised {}", data.display());
    println!("  database     {}", made.database);
    println!("  settings     {}", data.join("vexil.toml").display());
    if made.keys_sealed {
        println!(
            "  signing key  {} (sealed in the database with the key-encryption key)",
            made.key_id
        );
    } else {
        println!(
            "  signing key  {} (keys/{}.json, mode 0600)",
            made.key_id, made.key_id
        );
    }
    println!("  environments {}", made.environments.join(", "));
    println!();
    println!("admin token (shown only this once; keep it safe):");
    println!("  {}", made.admin_token);
    println!();
    let flag = match database {
        Some(_) => " --database URL",
        None => "",
    };
    println!("next: vexil serve --data {}{flag}", data.display());
    Ok(0)
}

/// `vexil serve`.
pub fn serve(options: vexil::origin::ServeOptions) -> Result<i32> {
    let data = options.data_dir.clone();
    vexil::origin::serve(options)
        .with_context(|| format!("the origin serving {} stopped", data.display()))?;
    Ok(0)
}

/// `vexil insights`.
pub fn insights(api: &Api, env: Option<String>) -> Result<i32> {
    let path = env.map_or("/insights".to_string(), |e| {
        format!("/insights?environment={}", enc(&e))
    });
    let answer = api.fetch::<InsightList>("GET", &path, None)?;
    api.print(&answer, |a| {
        if a.insights.is_empty() {
            println!("no insights: every flag looks alive and well");
        }
        for i in &a.insights {
            println!(
                "{}/{} [{}] {}\n  → {}",
                i.environment, i.flag, i.kind, i.message, i.recommendation
            );
        }
    })
}

/// `vexil token ...` and `vexil sdk-key create`.
pub fn token(api: &Api, command: TokenCommand) -> Result<i32> {
    match command {
        TokenCommand::Create { name, roles } => {
            let body = NewToken {
                name,
                roles: roles.clone(),
            };
            let t =
                api.fetch::<CreatedToken>("POST", "/tokens", Some(serde_json::to_value(body)?))?;
            api.print(&t, |t| {
                println!(
                    "token #{} for {} ({}); shown only this once:",
                    t.id,
                    t.name,
                    roles.join(", ")
                );
                println!("  {}", t.token);
            })
        }
        TokenCommand::List => {
            let answer = api.fetch::<TokenList>("GET", "/tokens", None)?;
            api.print(&answer, |list| {
                for t in &list.tokens {
                    let scope = t.environment.as_ref().map_or(t.roles.join(","), |e| {
                        format!(
                            "{} sdk key for {e}",
                            t.sdk_kind.as_deref().unwrap_or("server")
                        )
                    });
                    let revoked = t
                        .revoked_at
                        .as_ref()
                        .map_or(String::new(), |r| format!(" (revoked {r})"));
                    println!("#{:<4} {:<16} {}{revoked}", t.id, t.name, scope);
                }
            })
        }
        TokenCommand::Revoke { id } => {
            let r = api.fetch::<Revoked>("DELETE", &format!("/tokens/{id}"), None)?;
            api.print(&r, |r| println!("token #{} revoked", r.id))
        }
    }
}

/// `vexil sdk-key create` and `vexil sdk-key list`.
pub fn sdk_key(api: &Api, command: SdkKeyCommand) -> Result<i32> {
    match command {
        SdkKeyCommand::Create { name, env, kind } => {
            let body = NewSdkKey {
                name,
                environment: env.clone(),
                kind: Some(kind),
            };
            let t =
                api.fetch::<CreatedToken>("POST", "/sdk-keys", Some(serde_json::to_value(body)?))?;
            api.print(&t, |t| {
                println!(
                    "{} SDK key #{} for {} in {env}; shown only this once:",
                    shown(&t.sdk_kind),
                    t.id,
                    t.name
                );
                println!("  {}", t.token);
                if t.sdk_kind.as_deref() == Some("client") {
                    println!(
                        "  (public: its metrics are shown, but drive no rollout unless it opts in)"
                    );
                }
            })
        }
        SdkKeyCommand::List { env } => {
            let path = match &env {
                Some(e) => format!("/sdk-keys?environment={}", enc(e)),
                None => "/sdk-keys".to_string(),
            };
            let answer = api.fetch::<SdkKeyList>("GET", &path, None)?;
            api.print(&answer, |list| {
                for k in &list.sdk_keys {
                    let b = &k.batches;
                    let revoked = k
                        .revoked_at
                        .as_ref()
                        .map_or(String::new(), |r| format!(" (revoked {r})"));
                    let last = b
                        .last_rejection
                        .as_ref()
                        .map_or(String::new(), |r| format!("; last rejected: {r}"));
                    println!(
                        "#{:<4} {:<16} {:<6} {:<12} batches {} accepted, {} rejected{last}{revoked}",
                        k.id,
                        k.name,
                        k.sdk_kind,
                        shown(&k.environment),
                        b.accepted,
                        b.rejected,
                    );
                }
            })
        }
    }
}

/// `vexil keys list`.
pub fn keys_list(api: &Api) -> Result<i32> {
    let k = api.fetch::<KeyListing>("GET", "/keys", None)?;
    api.print(&k, |listing| {
        for key in &listing.keys {
            let until = key
                .not_after
                .as_ref()
                .map_or(String::new(), |t| format!(" until {t}"));
            println!("{:<20} {:<9} {}{until}", key.id, key.status, key.public_key);
        }
    })
}

/// `vexil keys rotate`.
pub fn keys_rotate(api: &Api, overlap: Option<String>) -> Result<i32> {
    let body = serde_json::to_value(RotateBody { overlap })?;
    let r = api.fetch::<Rotation>("POST", "/keys/rotate", Some(body))?;
    api.print(&r, |r| {
        println!(
            "new signing key {}; every environment was re-signed",
            r.active
        );
        for old in &r.retiring {
            println!("  {} stays valid until {}", old.id, old.not_after);
        }
    })
}

/// `vexil webhooks ...`.
pub fn webhooks(api: &Api, command: WebhooksCommand) -> Result<i32> {
    match command {
        WebhooksCommand::Add {
            env,
            url,
            secret,
            events,
        } => {
            let body = NewWebhook {
                url,
                secret,
                events,
            };
            let w = api.fetch::<CreatedWebhook>(
                "POST",
                &format!("/environments/{}/webhooks", enc(&env)),
                Some(serde_json::to_value(body)?),
            )?;
            api.print(&w, |w| {
                println!("webhook #{} → {} in {env}", w.id, w.url);
                println!(
                    "  signing secret (X-Vexil-Signature: sha256=HMAC): {}",
                    w.secret
                );
            })
        }
        WebhooksCommand::List { env } => {
            let a = api.fetch::<WebhookList>(
                "GET",
                &format!("/environments/{}/webhooks", enc(&env)),
                None,
            )?;
            api.print(&a, |list| {
                for w in &list.webhooks {
                    println!(
                        "#{:<4} {} ({})",
                        w.id,
                        w.url,
                        if w.events.is_empty() {
                            "all events".into()
                        } else {
                            w.events.join(", ")
                        }
                    );
                }
            })
        }
        WebhooksCommand::Remove { id } => {
            let r = api.fetch::<WebhookRemoved>("DELETE", &format!("/webhooks/{id}"), None)?;
            api.print(&r, |r| println!("webhook #{} removed", r.id))
        }
        WebhooksCommand::Deliveries { webhook, status } => {
            let mut query = Vec::new();
            if let Some(w) = webhook {
                query.push(format!("webhook={w}"));
            }
            if let Some(s) = status {
                query.push(format!("status={}", enc(&s)));
            }
            let a = api.fetch::<DeliveryList>(
                "GET",
                &format!("/webhooks/deliveries?{}", query.join("&")),
                None,
            )?;
            api.print(&a, |list| {
                for d in &list.deliveries {
                    let error = d
                        .last_error
                        .as_ref()
                        .map_or(String::new(), |e| format!(" last error: {e}"));
                    println!(
                        "#{:<5} webhook #{} {:<18} {:<9} attempts {}{error}",
                        d.id, d.webhook_id, d.event, d.status, d.attempts
                    );
                }
            })
        }
    }
}

/// `vexil segment ...`.
pub fn segment(api: &Api, command: SegmentCommand) -> Result<i32> {
    match command {
        SegmentCommand::Set {
            name,
            clause,
            file,
            env,
            reason,
        } => {
            let clause: Value = match (clause, file) {
                (Some(text), _) => {
                    serde_json::from_str(&text).context("--clause is not valid JSON")?
                }
                (None, Some(file)) => read_document(&file)?,
                (None, None) => bail!("give --clause JSON or --file FILE"),
            };
            let path = format!("/environments/{}/segments/{}", enc(&env.env), enc(&name));
            let c = api.fetch::<Change>(
                "PUT",
                &path,
                Some(serde_json::to_value(SegmentBody {
                    clause,
                    reason,
                    apply_at: None,
                })?),
            )?;
            api.print(&c, print_change)
        }
        SegmentCommand::Delete { name, env } => {
            let c = api.fetch::<Change>(
                "DELETE",
                &format!("/environments/{}/segments/{}", enc(&env.env), enc(&name)),
                None,
            )?;
            api.print(&c, print_change)
        }
        SegmentCommand::List { env } => {
            let a = api.fetch::<SegmentList>(
                "GET",
                &format!("/environments/{}/segments", enc(&env.env)),
                None,
            )?;
            api.print(&a, |list| {
                for (name, clause) in &list.segments {
                    println!("segment {name}: {clause}");
                }
                for (name, group) in &list.exclusion_groups {
                    println!("exclusion group {name}: {group}");
                }
            })
        }
    }
}

/// `vexil env ...`.
pub fn env(api: &Api, command: EnvCommand) -> Result<i32> {
    match command {
        EnvCommand::List => {
            let a = api.fetch::<EnvironmentList>("GET", "/environments", None)?;
            api.print(&a, |list| {
                for e in &list.environments {
                    println!(
                        "{:<16} snapshot v{:<6} {:>4} flags  published {}",
                        e.name,
                        shown(e.snapshot_version),
                        e.flags,
                        shown(&e.published_at)
                    );
                }
            })
        }
        EnvCommand::Create { name } => {
            let body = serde_json::to_value(NewEnvironment { name })?;
            let e = api.fetch::<CreatedEnvironment>("POST", "/environments", Some(body))?;
            api.print(&e, |e| {
                println!(
                    "environment {} created (snapshot v{})",
                    e.name, e.snapshot_version
                )
            })
        }
    }
}
