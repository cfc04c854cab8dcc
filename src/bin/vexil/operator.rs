//! The operator commands: `init` and `serve`, and the commands that talk to a
//! running origin over its HTTP API (`--server`, `--token`, or `VEXIL_SERVER`,
//! `VEXIL_TOKEN`). Every one prints a short human summary, or the server's JSON
//! with `--json`.

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vexil::engine::time::format_rfc3339_ms;

/// How to reach the origin.
#[derive(Args, Clone, Debug)]
pub struct Conn {
    /// The origin's URL.
    #[arg(
        long,
        env = "VEXIL_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// Bearer token (from `vexil init` or `vexil token create`).
    #[arg(long, env = "VEXIL_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Print the server's JSON answer instead of a summary.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The environment a flag command acts on.
#[derive(Args, Clone, Debug)]
pub struct EnvArg {
    /// Environment.
    #[arg(long, env = "VEXIL_ENV", default_value = "development")]
    pub env: String,
}

/// Flag commands.
#[derive(Subcommand)]
pub enum FlagCommand {
    /// Create a flag: from a file, from options, or interactively on a terminal.
    Create(CreateArgs),
    /// Replace a flag's definition with a file's.
    Update {
        /// The flag.
        flag: String,
        /// Flag document (JSON or YAML).
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// List flags.
    List {
        #[command(flatten)]
        env: EnvArg,
        /// Include archived flags.
        #[arg(long)]
        archived: bool,
    },
    /// A flag's status, pending changes and definition.
    Status {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// What the edges reported for a flag: evaluations by variant and reason, error
    /// and success rates, latency, unique units, geography.
    Metrics {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// Start (RFC 3339; default 24 hours before `--to`).
        #[arg(long)]
        from: Option<String>,
        /// End (RFC 3339; default now).
        #[arg(long)]
        to: Option<String>,
    },
    /// A flag's revisions.
    History {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Archive a flag (kept, no longer published).
    Archive {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// The kill switch: disable a flag now, without waiting for approval.
    Kill {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Re-enable a disabled flag.
    Enable {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `vexil flag create`.
#[derive(Args)]
pub struct CreateArgs {
    /// Flag document (JSON or YAML; a flags file with exactly one flag also works).
    #[arg(long, conflicts_with = "key")]
    file: Option<PathBuf>,
    /// Flag key (builds an on/off flag, off for everyone, like the seed's generator).
    #[arg(long)]
    key: Option<String>,
    /// Name.
    #[arg(long)]
    name: Option<String>,
    /// Description.
    #[arg(long)]
    description: Option<String>,
    /// Owning team.
    #[arg(long)]
    owner: Option<String>,
    /// Strategy: progressive_rollout, targeted_release, kill_switch, a_b_testing,
    /// canary_release, operational_toggle.
    #[arg(long, default_value = "progressive_rollout")]
    strategy: String,
    /// Kind: release, experiment, ops, kill_switch, permission.
    #[arg(long)]
    kind: Option<String>,
    /// Risk: low, medium, high, critical.
    #[arg(long, default_value = "medium")]
    risk: String,
    /// Time until the flag expires.
    #[arg(long, default_value = "90d", value_parser = parse_duration)]
    expires_in: Duration,
    /// Ask for the flag's details (the default on a terminal without --file or --key).
    #[arg(long, conflicts_with_all = ["file", "key"])]
    interactive: bool,
    #[command(flatten)]
    env: EnvArg,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
}

/// `vexil rollout`.
#[derive(Subcommand)]
pub enum RolloutCommand {
    /// Start a progressive rollout: stages that advance only while the treated
    /// variant's edge metrics hold the guards, with automatic rollback.
    Start {
        /// The flag.
        flag: String,
        /// Percentages of the stages.
        #[arg(long, value_delimiter = ',', default_value = "5,15,25,50,75,100")]
        stages: Vec<f64>,
        /// How long each stage runs before it may advance.
        #[arg(long, default_value = "10m")]
        stage_duration: String,
        /// Largest share of failed outcomes, percent.
        #[arg(long, default_value_t = 1.0)]
        max_error_rate: f64,
        /// Smallest share of successful outcomes, percent.
        #[arg(long, default_value_t = 99.0)]
        min_success_rate: f64,
        /// Largest mean latency of tracked outcomes, milliseconds.
        #[arg(long, default_value_t = 100.0)]
        max_latency_ms: f64,
        /// Outcomes needed before a stage is judged.
        #[arg(long, default_value_t = 100)]
        min_samples: u64,
        /// Event guards: `EVENT:max=N` or `EVENT:rate<=PERCENT` (repeatable).
        #[arg(long = "guard")]
        guards: Vec<String>,
        /// Variant to roll out (default: the first that is not the off variant).
        #[arg(long)]
        variant: Option<String>,
        /// Roll out within this rule instead of the fallthrough.
        #[arg(long)]
        rule: Option<String>,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Rollouts of an environment, or the newest of one flag with its last check.
    Status {
        /// The flag (default: every rollout of the environment).
        flag: Option<String>,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Pause a flag's rollout: no stage advances until it resumes.
    Pause {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Resume a paused rollout (the current stage starts over).
    Resume {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Abort a flag's rollout, leaving its current percentage.
    Abort {
        /// The flag.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Serve the flag's on variant to PERCENT % of units (the rest get the off variant).
    Set {
        /// The flag.
        flag: String,
        /// 0 to 100, up to 3 decimals.
        percent: f64,
        /// Variant to roll out (default: the first that is not the off variant).
        #[arg(long)]
        variant: Option<String>,
        /// Roll out within this rule instead of the fallthrough.
        #[arg(long)]
        rule: Option<String>,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `vexil changes`.
#[derive(Subcommand)]
pub enum ChangesCommand {
    /// List change requests, newest first.
    List {
        /// pending, applied, rejected, cancelled or conflict.
        #[arg(long)]
        status: Option<String>,
        /// Only this flag.
        #[arg(long)]
        flag: Option<String>,
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
    },
    /// One change request.
    Show {
        /// Change id.
        id: i64,
    },
    /// Withdraw your pending change.
    Cancel {
        /// Change id.
        id: i64,
    },
    /// Apply a fully approved change that a trading-hours freeze held back.
    Apply {
        /// Change id.
        id: i64,
    },
}

/// `vexil token`.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a bearer token (shown once).
    Create {
        /// Who it belongs to (the four-eyes identity).
        #[arg(long)]
        name: String,
        /// Roles: admin, editor, viewer, TECH_LEAD, SECURITY, PRODUCT_OWNER, COMPLIANCE,
        /// CLINICAL_OVERSIGHT, CLINICAL_ENGINEERING, IRB.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// List tokens and SDK keys (no secrets).
    List,
    /// Revoke a token or SDK key.
    Revoke {
        /// Token id.
        id: i64,
    },
}

/// `vexil sdk-key`.
#[derive(Subcommand)]
pub enum SdkKeyCommand {
    /// Create an SDK key that reads one environment's snapshot (shown once).
    Create {
        /// What uses it.
        #[arg(long)]
        name: String,
        /// Its environment.
        #[arg(long)]
        env: String,
        /// `server` (secret: workers and servers; its metrics drive rollouts) or
        /// `client` (public: browsers; its metrics are shown but drive no rollout
        /// unless it opts in).
        #[arg(long, default_value = "server", value_parser = ["server", "client"])]
        kind: String,
    },
    /// List SDK keys with their kind and how many metrics batches were accepted
    /// and rejected.
    List {
        /// Only this environment's.
        #[arg(long)]
        env: Option<String>,
    },
}

/// `vexil webhooks`.
#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Add a webhook to an environment.
    Add {
        /// Environment.
        #[arg(long)]
        env: String,
        /// Where to POST events.
        #[arg(long)]
        url: String,
        /// HMAC secret (default: generated and shown once).
        #[arg(long)]
        secret: Option<String>,
        /// Events to receive (default: all).
        #[arg(long = "event")]
        events: Vec<String>,
    },
    /// List an environment's webhooks.
    List {
        /// Environment.
        #[arg(long)]
        env: String,
    },
    /// Remove a webhook.
    Remove {
        /// Webhook id.
        id: i64,
    },
    /// Deliveries and their attempts, newest first.
    Deliveries {
        /// Only this webhook.
        #[arg(long)]
        webhook: Option<i64>,
        /// pending, delivered or failed.
        #[arg(long)]
        status: Option<String>,
    },
}

/// `vexil segment`.
#[derive(Subcommand)]
pub enum SegmentCommand {
    /// Set a segment's clause.
    Set {
        /// Segment name.
        name: String,
        /// Clause as JSON.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        clause: Option<String>,
        /// File holding the clause (JSON or YAML).
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete a segment.
    Delete {
        /// Segment name.
        name: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// List segments and exclusion groups.
    List {
        #[command(flatten)]
        env: EnvArg,
    },
}

/// `vexil env`.
#[derive(Subcommand)]
pub enum EnvCommand {
    /// Environments with their newest snapshot.
    List,
    /// Create an environment.
    Create {
        /// Its name.
        name: String,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration such as 90d or 12h: {e}"))
}

// ---- The HTTP client ---------------------------------------------------------------

/// A client of the origin's API.
pub struct Api {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    /// Print JSON answers.
    pub json: bool,
}

impl Api {
    /// A client from the connection options.
    pub fn new(conn: &Conn) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Api {
            agent,
            base: conn.server.trim_end_matches('/').to_string(),
            token: conn.token.clone().filter(|t| !t.is_empty()),
            json: conn.json,
        }
    }

    /// Sends a request; a 2xx answer's JSON, or an error made of the API's message.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let (status, answer) = self.send(method, path, body)?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        Err(api_error(status, &answer))
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        } else if !path.starts_with("/keys") && path != "/health" {
            bail!(
                "no token: pass --token or set VEXIL_TOKEN (`vexil init` printed the admin token)"
            );
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        if !text.is_empty() {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(text)
            .map_err(|e| anyhow!("bad request for {url}: {e}"))?;
        let mut response = self.agent.run(request).map_err(|e| {
            anyhow!("cannot reach the origin at {}: {e} (is `vexil serve` running? set --server or VEXIL_SERVER)", self.base)
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, answer))
    }

    /// Prints `answer` as JSON when asked, else runs `human`.
    fn show(&self, answer: &Value, human: impl FnOnce(&Value)) -> Result<i32> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(answer)?);
        } else {
            human(answer);
        }
        Ok(0)
    }
}

fn api_error(status: u16, answer: &Value) -> anyhow::Error {
    let error = &answer["error"];
    let mut text = error["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("the origin answered HTTP {status}: {answer}"));
    for d in error["details"].as_array().into_iter().flatten() {
        let at = d["policy"].as_str().or(d["path"].as_str()).unwrap_or("");
        text.push_str(&format!(
            "\n  - {at}: {}",
            d["message"].as_str().unwrap_or("")
        ));
    }
    anyhow!(text)
}

fn enc(segment: &str) -> String {
    vexil::origin::percent_encode(segment)
}

fn flag_path(env: &str, flag: &str) -> String {
    format!("/environments/{}/flags/{}", enc(env), enc(flag))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Number(n) => match n.as_f64() {
            // 25.0 reads as 25.
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// One line for a change, then its approvals.
fn print_change(c: &Value) {
    let target = c["flag"]
        .as_str()
        .or(c["segment"].as_str())
        .or(c["exclusion_group"].as_str())
        .unwrap_or("?");
    let status = c["status"].as_str().unwrap_or("?");
    let head = format!(
        "change #{} {}: {} `{target}` in {}",
        c["id"],
        status,
        text(&c["kind"]),
        text(&c["environment"])
    );
    match status {
        "applied" => println!(
            "{head} (revision {}, snapshot v{})",
            text(&c["applied"]["revision"]),
            text(&c["applied"]["snapshot_version"])
        ),
        _ => println!("{head}"),
    }
    for r in c["required"].as_array().into_iter().flatten() {
        let by = r["approved_by"]
            .as_str()
            .map_or("waiting".to_string(), |b| format!("approved by {b}"));
        // Why, when the current version (or a flag using a segment) requires it.
        let note = r["note"]
            .as_str()
            .map_or(String::new(), |n| format!("; {n}"));
        println!(
            "  needs {} ({}{note}): {by}",
            text(&r["role"]),
            text(&r["policy"])
        );
    }
    if let Some(level) = c["oversight_level"].as_u64() {
        println!("  clinical oversight level {level}");
    }
    if let Some(r) = c["rejection"].as_object() {
        println!("  rejected by {}: {}", text(&r["by"]), text(&r["comment"]));
    }
    if let Some(why) = c["conflict"].as_str() {
        println!("  conflict: {why}");
    }
    for v in c["blocked"].as_array().into_iter().flatten() {
        println!(
            "  held back by {}: {}",
            text(&v["policy"]),
            text(&v["message"])
        );
    }
}

fn print_metrics(m: &Value) {
    let pct = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x}%"));
    let ms = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x} ms"));
    println!(
        "{} in {}, {} to {}",
        text(&m["flag"]),
        text(&m["environment"]),
        text(&m["from"]),
        text(&m["to"])
    );
    println!("  evaluations        {}", text(&m["total_evaluations"]));
    println!("  error rate         {}", pct(&m["error_rate"]));
    println!("  success rate       {}", pct(&m["success_rate"]));
    println!(
        "  response time      mean {}, p95 {}",
        ms(&m["avg_response_time_ms"]),
        ms(&m["p95_response_time_ms"])
    );
    println!("  unique units       {}", text(&m["unique_units"]));
    for (name, v) in m["variants"].as_object().into_iter().flatten() {
        println!(
            "  variant {name:<10} {} evaluations, {} units, outcome errors {}, reasons {}",
            text(&v["count"]),
            text(&v["unique_units"]),
            pct(&v["outcome_error_rate"]),
            v["reasons"]
        );
    }
    if let Some(geo) = m["geography"].as_object().filter(|g| !g.is_empty()) {
        let list: Vec<String> = geo.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  geography          {}", list.join(", "));
    }
}

fn read_document(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml {
        serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", path.display()))
    } else {
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
    }
}

/// A flag document from a file: a flag, or a flags file with exactly one flag.
fn read_flag(path: &Path) -> Result<Value> {
    let doc = read_document(path)?;
    match doc.get("flags").and_then(Value::as_array) {
        Some(flags) if flags.len() == 1 => Ok(flags[0].clone()),
        Some(flags) => bail!(
            "{} holds {} flags; `flag create` takes one (a flag document, or a flags file with one flag)",
            path.display(),
            flags.len()
        ),
        None => Ok(doc),
    }
}

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
    let expires =
        format_rfc3339_ms(super::now_ms().saturating_add(args.expires_in.as_millis() as i64));
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
        "fallthrough": { "variant": "off" },
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

// ---- Commands -----------------------------------------------------------------------

/// `vexil init`.
pub fn init(data: &Path, json_out: bool) -> Result<i32> {
    let made = vexil::origin::init(data)
        .with_context(|| format!("cannot initialise {}", data.display()))?;
    if json_out {
        let out = json!({ "data": data, "admin_token": made.admin_token, "key_id": made.key_id, "environments": made.environments });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    println!("initialised {}", data.display());
    println!("  database     {}", data.join("vexil.db").display());
    println!("  settings     {}", data.join("vexil.toml").display());
    println!(
        "  signing key  {} (keys/{}.json, mode 0600)",
        made.key_id, made.key_id
    );
    println!("  environments {}", made.environments.join(", "));
    println!();
    println!("admin token (shown only this once; keep it safe):");
    println!("  {}", made.admin_token);
    println!();
    println!("next: vexil serve --data {}", data.display());
    Ok(0)
}

/// `vexil serve`.
pub fn serve(data: PathBuf, listen: String, www_root: Option<PathBuf>) -> Result<i32> {
    vexil::origin::serve(vexil::origin::ServeOptions {
        data_dir: data.clone(),
        listen,
        www_root,
    })
    .with_context(|| format!("the origin serving {} stopped", data.display()))?;
    Ok(0)
}

/// `vexil flag ...`.
pub fn flag(api: &Api, command: FlagCommand) -> Result<i32> {
    match command {
        FlagCommand::Create(args) => {
            let flag = match (&args.file, &args.key) {
                (Some(file), _) => read_flag(file)?,
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
            let body = json!({ "flag": flag, "reason": args.reason });
            let c = api.call(
                "POST",
                &format!("/environments/{}/flags", enc(&args.env.env)),
                Some(body),
            )?;
            api.show(&c, print_change)
        }
        FlagCommand::Update {
            flag,
            file,
            env,
            reason,
        } => {
            let doc = read_flag(&file)?;
            let c = api.call(
                "PUT",
                &flag_path(&env.env, &flag),
                Some(json!({ "flag": doc, "reason": reason })),
            )?;
            api.show(&c, print_change)
        }
        FlagCommand::List { env, archived } => {
            let path = format!(
                "/environments/{}/flags{}",
                enc(&env.env),
                if archived { "?archived=true" } else { "" }
            );
            let answer = api.call("GET", &path, None)?;
            api.show(&answer, |a| {
                let flags = a["flags"].as_array().cloned().unwrap_or_default();
                if flags.is_empty() {
                    println!("no flags in {}", env.env);
                    return;
                }
                println!(
                    "{:<34} {:<8} {:<9} {:>4} {:>7}  {:<20} serving",
                    "flag", "enabled", "risk", "rev", "pending", "compliance"
                );
                for f in flags {
                    let enabled = if f["archived"] == true {
                        "archived"
                    } else if f["enabled"] == true {
                        "yes"
                    } else {
                        "NO"
                    };
                    let compliance: Vec<String> = f["compliance"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect();
                    println!(
                        "{:<34} {:<8} {:<9} {:>4} {:>7}  {:<20} {}",
                        text(&f["key"]),
                        enabled,
                        text(&f["risk"]),
                        text(&f["revision"]),
                        text(&f["pending_changes"]),
                        compliance.join(","),
                        text(&f["serving"]),
                    );
                }
            })
        }
        FlagCommand::Status { flag, env } => {
            let f = api.call("GET", &flag_path(&env.env, &flag), None)?;
            api.show(&f, |f| {
                println!("{} in {}", text(&f["key"]), text(&f["environment"]));
                for field in [
                    "name",
                    "owner",
                    "kind",
                    "strategy",
                    "risk",
                    "enabled",
                    "archived",
                    "serving",
                    "rollout_percentage",
                    "expires_at",
                    "revision",
                    "updated_at",
                    "updated_by",
                ] {
                    println!("  {field:<19} {}", text(&f[field]));
                }
                let compliance: Vec<String> = f["compliance"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect();
                println!(
                    "  {:<19} {}",
                    "compliance",
                    if compliance.is_empty() {
                        "-".into()
                    } else {
                        compliance.join(", ")
                    }
                );
                let pending: Vec<String> = f["pending"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|id| format!("#{id}"))
                    .collect();
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
                    serde_json::to_string_pretty(&f["flag"]).unwrap_or_default()
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
            let m = api.call("GET", &path, None)?;
            api.show(&m, print_metrics)
        }
        FlagCommand::History { flag, env } => {
            let h = api.call(
                "GET",
                &format!("{}/history", flag_path(&env.env, &flag)),
                None,
            )?;
            api.show(&h, |h| {
                for r in h["revisions"].as_array().into_iter().flatten() {
                    let archived = if r["archived"] == true {
                        " (archived)"
                    } else {
                        ""
                    };
                    println!(
                        "revision {:>3}  {}  by {:<12} change #{}{archived}",
                        text(&r["revision"]),
                        text(&r["at"]),
                        text(&r["author"]),
                        text(&r["change_id"])
                    );
                }
            })
        }
        FlagCommand::Archive { flag, env, reason } => {
            flag_action(api, &env, &flag, "archive", json!({ "reason": reason }))
        }
        FlagCommand::Kill { flag, env, reason } => {
            flag_action(api, &env, &flag, "kill", json!({ "reason": reason }))
        }
        FlagCommand::Enable { flag, env, reason } => {
            flag_action(api, &env, &flag, "enable", json!({ "reason": reason }))
        }
    }
}

/// `POST .../flags/FLAG/ACTION` with `body`, printing the change.
fn flag_action(api: &Api, env: &EnvArg, flag: &str, action: &str, body: Value) -> Result<i32> {
    let path = format!("{}/{action}", flag_path(&env.env, flag));
    let c = api.call("POST", &path, Some(body))?;
    api.show(&c, print_change)
}

/// `vexil rollout ...`.
pub fn rollout(api: &Api, command: RolloutCommand) -> Result<i32> {
    match command {
        RolloutCommand::Set {
            flag,
            percent,
            variant,
            rule,
            env,
            reason,
        } => {
            // The engine's own check, as the origin makes it.
            if let Err(e) = vexil::engine::compile::thousandths(percent) {
                bail!("PERCENT {e}");
            }
            let body = json!({ "percentage": percent, "variant": variant, "rule": rule, "reason": reason });
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
            variant,
            rule,
            env,
            reason,
        } => {
            let body = json!({
                "stages": stages, "stage_duration": stage_duration, "max_error_rate": max_error_rate,
                "min_success_rate": min_success_rate, "max_latency_ms": max_latency_ms,
                "min_samples": min_samples, "guards": guards, "variant": variant, "rule": rule, "reason": reason,
            });
            let r = api.call(
                "POST",
                &format!("{}/rollouts", flag_path(&env.env, &flag)),
                Some(body),
            )?;
            api.show(&r, print_rollout)
        }
        RolloutCommand::Status { flag, env } => {
            let mut path = format!("/environments/{}/rollouts", enc(&env.env));
            if let Some(f) = &flag {
                path.push_str(&format!("?flag={}", enc(f)));
            }
            let list = api.call("GET", &path, None)?;
            let rollouts = list["rollouts"].as_array().cloned().unwrap_or_default();
            match (flag, rollouts.first()) {
                (Some(_), Some(newest)) => api.show(newest, print_rollout),
                (Some(f), None) => bail!("`{f}` has no rollouts in {}", env.env),
                (None, _) => api.show(&list, |l| {
                    for r in l["rollouts"].as_array().into_iter().flatten() {
                        println!(
                            "#{:<4} {:<34} {:<16} stage {} ({}%)",
                            text(&r["id"]),
                            text(&r["flag"]),
                            text(&r["status"]),
                            text(&r["stage"]),
                            text(&r["percentage"])
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
    let list = api.call(
        "GET",
        &format!(
            "/environments/{}/rollouts?flag={}",
            enc(&env.env),
            enc(flag)
        ),
        None,
    )?;
    let active = list["rollouts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            matches!(
                r["status"].as_str(),
                Some("running" | "paused" | "waiting_approval")
            )
        })
        .ok_or_else(|| anyhow!("`{flag}` has no rollout in progress in {}", env.env))?;
    let r = api.call(
        "POST",
        &format!("/rollouts/{}/{action}", active["id"]),
        None,
    )?;
    api.show(&r, print_rollout)
}

fn print_rollout(r: &Value) {
    let stages: Vec<String> = r["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    println!(
        "rollout #{} of {} in {}: {} — stage {} of {} ({}%), variant {}",
        text(&r["id"]),
        text(&r["flag"]),
        text(&r["environment"]),
        text(&r["status"]),
        text(&r["stage"]),
        stages.len(),
        text(&r["percentage"]),
        text(&r["variant"])
    );
    println!(
        "  stages {} (from {}%), each {} s",
        stages.join(" → "),
        text(&r["start_percentage"]),
        r["stage_duration_ms"].as_i64().unwrap_or(0) / 1000
    );
    if let Some(at) = r["stage_ends_at"].as_str() {
        println!("  this stage may advance from {at}");
    }
    let c = &r["last_check"];
    if c.is_object() {
        let f = &c["figures"];
        println!(
            "  last check {}: {} evaluations, {} samples, error rate {}, success rate {}, latency {}",
            text(&c["at"]), text(&f["evaluations"]), text(&f["samples"]), text(&f["error_rate"]),
            text(&f["success_rate"]), text(&f["latency_mean_ms"])
        );
        for b in c["breaches"].as_array().into_iter().flatten() {
            println!("  breach: {}", text(b));
        }
    }
    for k in r["metrics_keys"].as_array().into_iter().flatten() {
        println!(
            "  metrics from SDK key #{} {} ({}): {} batches, {} evaluations, {} samples{}",
            text(&k["id"]),
            text(&k["name"]),
            text(&k["kind"]),
            text(&k["batches"]),
            text(&k["evaluations"]),
            text(&k["samples"]),
            if k["counted"] == true {
                ""
            } else {
                " — not counted (client key)"
            }
        );
    }
    for h in r["history"].as_array().into_iter().flatten() {
        let reason = h["details"]["reason"]
            .as_str()
            .map_or(String::new(), |r| format!(": {r}"));
        let counted: Vec<String> = h["details"]["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["counted"] == true)
            .map(|k| format!("#{} {}", text(&k["id"]), text(&k["name"])))
            .collect();
        let keys = if counted.is_empty() {
            String::new()
        } else {
            format!(" (on metrics of {})", counted.join(", "))
        };
        println!("  {} {}{reason}{keys}", text(&h["at"]), text(&h["event"]));
    }
}

/// `vexil rollback`.
pub fn rollback(
    api: &Api,
    flag: &str,
    env: &EnvArg,
    to_revision: Option<i64>,
    reason: Option<String>,
) -> Result<i32> {
    let body = json!({ "to_revision": to_revision, "reason": reason });
    flag_action(api, env, flag, "rollback", body)
}

/// `vexil bulk-update`.
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
    if !(200..300).contains(&status) && report.get("results").is_none() {
        return Err(api_error(status, &report));
    }
    api.show(&report, |r| {
        for item in r["results"].as_array().into_iter().flatten() {
            let change = item["change"]
                .as_i64()
                .map_or(String::new(), |id| format!(" (change #{id})"));
            let error = item["error"]
                .as_str()
                .or(item["note"].as_str())
                .map_or(String::new(), |e| format!(": {e}"));
            println!(
                "#{} {} {}: {}{change}{error}",
                text(&item["index"]),
                text(&item["flag_id"]),
                text(&item["operation"]),
                text(&item["status"])
            );
        }
        let rolled_back = r["not_applied"]
            .as_u64()
            .map_or(String::new(), |n| format!(", {n} rolled back"));
        println!(
            "Bulk update: {} total, {} applied, {} pending approval, {} failed{rolled_back}",
            text(&r["total"]),
            text(&r["applied"]),
            text(&r["pending"]),
            text(&r["failed"])
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
        (
            format!("/changes/{id}/approve"),
            json!({ "comment": comment, "role": role }),
        )
    } else {
        (
            format!("/changes/{id}/reject"),
            json!({ "comment": comment.unwrap_or_default() }),
        )
    };
    let c = api.call("POST", &path, Some(body))?;
    api.show(&c, print_change)
}

/// `vexil changes ...`.
pub fn changes(api: &Api, command: ChangesCommand) -> Result<i32> {
    match command {
        ChangesCommand::List { status, flag, env } => {
            let mut query: Vec<String> = Vec::new();
            for (k, v) in [("status", status), ("flag", flag), ("environment", env)] {
                if let Some(v) = v {
                    query.push(format!("{k}={}", enc(&v)));
                }
            }
            let path = if query.is_empty() {
                "/changes".to_string()
            } else {
                format!("/changes?{}", query.join("&"))
            };
            let answer = api.call("GET", &path, None)?;
            api.show(&answer, |a| {
                let list = a["changes"].as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    println!("no change requests");
                }
                for c in list {
                    print_change(&c);
                }
            })
        }
        ChangesCommand::Show { id } => {
            let c = api.call("GET", &format!("/changes/{id}"), None)?;
            api.show(&c, |c| {
                print_change(c);
                println!(
                    "  author {}, {}; reason: {}",
                    text(&c["author"]),
                    text(&c["created_at"]),
                    text(&c["reason"])
                );
                for a in c["approvals"].as_array().into_iter().flatten() {
                    println!(
                        "  approved as {} by {} at {}: {}",
                        text(&a["role"]),
                        text(&a["approver"]),
                        text(&a["at"]),
                        text(&a["comment"])
                    );
                }
            })
        }
        ChangesCommand::Cancel { id } => {
            let c = api.call("POST", &format!("/changes/{id}/cancel"), None)?;
            api.show(&c, print_change)
        }
        ChangesCommand::Apply { id } => {
            let c = api.call("POST", &format!("/changes/{id}/apply"), None)?;
            api.show(&c, print_change)
        }
    }
}

/// `vexil promote`.
pub fn promote(api: &Api, flag: &str, from: &str, to: &str, reason: Option<String>) -> Result<i32> {
    let body = json!({ "flag": flag, "from": from, "to": to, "reason": reason });
    let c = api.call("POST", "/promote", Some(body))?;
    api.show(&c, print_change)
}

/// `vexil insights`.
pub fn insights(api: &Api, env: Option<String>) -> Result<i32> {
    let path = env.map_or("/insights".to_string(), |e| {
        format!("/insights?environment={}", enc(&e))
    });
    let answer = api.call("GET", &path, None)?;
    api.show(&answer, |a| {
        let list = a["insights"].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            println!("no insights: every flag looks alive and well");
        }
        for i in list {
            println!(
                "{}/{} [{}] {}\n  → {}",
                text(&i["environment"]),
                text(&i["flag"]),
                text(&i["kind"]),
                text(&i["message"]),
                text(&i["recommendation"])
            );
        }
    })
}

/// `vexil token ...` and `vexil sdk-key create`.
pub fn token(api: &Api, command: TokenCommand) -> Result<i32> {
    match command {
        TokenCommand::Create { name, roles } => {
            let t = api.call(
                "POST",
                "/tokens",
                Some(json!({ "name": name, "roles": roles })),
            )?;
            api.show(&t, |t| {
                println!(
                    "token #{} for {} ({}); shown only this once:",
                    text(&t["id"]),
                    text(&t["name"]),
                    roles.join(", ")
                );
                println!("  {}", text(&t["token"]));
            })
        }
        TokenCommand::List => {
            let answer = api.call("GET", "/tokens", None)?;
            api.show(&answer, |a| {
                for t in a["tokens"].as_array().into_iter().flatten() {
                    let roles: Vec<String> = t["roles"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect();
                    let scope = t["environment"].as_str().map_or(roles.join(","), |e| {
                        format!(
                            "{} sdk key for {e}",
                            t["sdk_kind"].as_str().unwrap_or("server")
                        )
                    });
                    let revoked = t["revoked_at"]
                        .as_str()
                        .map_or(String::new(), |r| format!(" (revoked {r})"));
                    println!(
                        "#{:<4} {:<16} {}{revoked}",
                        text(&t["id"]),
                        text(&t["name"]),
                        scope
                    );
                }
            })
        }
        TokenCommand::Revoke { id } => {
            let r = api.call("DELETE", &format!("/tokens/{id}"), None)?;
            api.show(&r, |_| println!("token #{id} revoked"))
        }
    }
}

/// `vexil sdk-key create` and `vexil sdk-key list`.
pub fn sdk_key(api: &Api, command: SdkKeyCommand) -> Result<i32> {
    match command {
        SdkKeyCommand::Create { name, env, kind } => {
            let t = api.call(
                "POST",
                "/sdk-keys",
                Some(json!({ "name": name, "environment": env, "kind": kind })),
            )?;
            api.show(&t, |t| {
                println!(
                    "{} SDK key #{} for {} in {env}; shown only this once:",
                    text(&t["sdk_kind"]),
                    text(&t["id"]),
                    text(&t["name"])
                );
                println!("  {}", text(&t["token"]));
                if t["sdk_kind"] == "client" {
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
            let answer = api.call("GET", &path, None)?;
            api.show(&answer, |a| {
                for k in a["sdk_keys"].as_array().into_iter().flatten() {
                    let b = &k["batches"];
                    let revoked = k["revoked_at"]
                        .as_str()
                        .map_or(String::new(), |r| format!(" (revoked {r})"));
                    let last = b["last_rejection"]
                        .as_str()
                        .map_or(String::new(), |r| format!("; last rejected: {r}"));
                    println!(
                        "#{:<4} {:<16} {:<6} {:<12} batches {} accepted, {} rejected{last}{revoked}",
                        text(&k["id"]),
                        text(&k["name"]),
                        text(&k["sdk_kind"]),
                        text(&k["environment"]),
                        text(&b["accepted"]),
                        text(&b["rejected"]),
                    );
                }
            })
        }
    }
}

/// `vexil keys list`.
pub fn keys_list(api: &Api) -> Result<i32> {
    let k = api.call("GET", "/keys", None)?;
    api.show(&k, |k| {
        for key in k["keys"].as_array().into_iter().flatten() {
            let until = key["not_after"]
                .as_str()
                .map_or(String::new(), |t| format!(" until {t}"));
            println!(
                "{:<20} {:<9} {}{until}",
                text(&key["id"]),
                text(&key["status"]),
                text(&key["public_key"])
            );
        }
    })
}

/// `vexil keys rotate`.
pub fn keys_rotate(api: &Api, overlap: Option<String>) -> Result<i32> {
    let r = api.call("POST", "/keys/rotate", Some(json!({ "overlap": overlap })))?;
    api.show(&r, |r| {
        println!(
            "new signing key {}; every environment was re-signed",
            text(&r["active"])
        );
        for old in r["retiring"].as_array().into_iter().flatten() {
            println!(
                "  {} stays valid until {}",
                text(&old["id"]),
                text(&old["not_after"])
            );
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
            let w = api.call(
                "POST",
                &format!("/environments/{}/webhooks", enc(&env)),
                Some(json!({ "url": url, "secret": secret, "events": events })),
            )?;
            api.show(&w, |w| {
                println!("webhook #{} → {} in {env}", text(&w["id"]), text(&w["url"]));
                println!(
                    "  signing secret (X-Vexil-Signature: sha256=HMAC): {}",
                    text(&w["secret"])
                );
            })
        }
        WebhooksCommand::List { env } => {
            let a = api.call(
                "GET",
                &format!("/environments/{}/webhooks", enc(&env)),
                None,
            )?;
            api.show(&a, |a| {
                for w in a["webhooks"].as_array().into_iter().flatten() {
                    let events: Vec<String> = w["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect();
                    println!(
                        "#{:<4} {} ({})",
                        text(&w["id"]),
                        text(&w["url"]),
                        if events.is_empty() {
                            "all events".into()
                        } else {
                            events.join(", ")
                        }
                    );
                }
            })
        }
        WebhooksCommand::Remove { id } => {
            let r = api.call("DELETE", &format!("/webhooks/{id}"), None)?;
            api.show(&r, |_| println!("webhook #{id} removed"))
        }
        WebhooksCommand::Deliveries { webhook, status } => {
            let mut query = Vec::new();
            if let Some(w) = webhook {
                query.push(format!("webhook={w}"));
            }
            if let Some(s) = status {
                query.push(format!("status={}", enc(&s)));
            }
            let a = api.call(
                "GET",
                &format!("/webhooks/deliveries?{}", query.join("&")),
                None,
            )?;
            api.show(&a, |a| {
                for d in a["deliveries"].as_array().into_iter().flatten() {
                    let error = d["last_error"]
                        .as_str()
                        .map_or(String::new(), |e| format!(" last error: {e}"));
                    println!(
                        "#{:<5} webhook #{} {:<18} {:<9} attempts {}{error}",
                        text(&d["id"]),
                        text(&d["webhook_id"]),
                        text(&d["event"]),
                        text(&d["status"]),
                        text(&d["attempts"])
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
            let c = api.call(
                "PUT",
                &path,
                Some(json!({ "clause": clause, "reason": reason })),
            )?;
            api.show(&c, print_change)
        }
        SegmentCommand::Delete { name, env } => {
            let c = api.call(
                "DELETE",
                &format!("/environments/{}/segments/{}", enc(&env.env), enc(&name)),
                None,
            )?;
            api.show(&c, print_change)
        }
        SegmentCommand::List { env } => {
            let a = api.call(
                "GET",
                &format!("/environments/{}/segments", enc(&env.env)),
                None,
            )?;
            api.show(&a, |a| {
                for (name, clause) in a["segments"].as_object().into_iter().flatten() {
                    println!("segment {name}: {clause}");
                }
                for (name, group) in a["exclusion_groups"].as_object().into_iter().flatten() {
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
            let a = api.call("GET", "/environments", None)?;
            api.show(&a, |a| {
                for e in a["environments"].as_array().into_iter().flatten() {
                    println!(
                        "{:<16} snapshot v{:<6} {:>4} flags  published {}",
                        text(&e["name"]),
                        text(&e["snapshot_version"]),
                        text(&e["flags"]),
                        text(&e["published_at"])
                    );
                }
            })
        }
        EnvCommand::Create { name } => {
            let e = api.call("POST", "/environments", Some(json!({ "name": name })))?;
            api.show(&e, |e| {
                println!(
                    "environment {} created (snapshot v{})",
                    text(&e["name"]),
                    text(&e["snapshot_version"])
                )
            })
        }
    }
}

/// `vexil audit FLAG`: the seed's audit report.
pub fn audit_report(api: &Api, flag: &str, env: &EnvArg, format_json: bool) -> Result<i32> {
    let report = api.call(
        "GET",
        &format!("{}/audit-report", flag_path(&env.env, flag)),
        None,
    )?;
    if format_json || api.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(0);
    }
    println!(
        "=== Feature Flag Audit Summary: {} in {} ===",
        flag, env.env
    );
    for (k, v) in report["audit_summary"].as_object().into_iter().flatten() {
        println!("{k}: {}", text(v));
    }
    for v in report["security_information"]["violations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!("  violates {}: {}", text(&v["policy"]), text(&v["message"]));
    }
    println!(
        "audit chain intact: {}",
        text(&report["security_information"]["audit_chain"]["intact"])
    );
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
    let a = api.call("GET", &format!("/audit?{}", query.join("&")), None)?;
    api.show(&a, |a| {
        for l in a["entries"].as_array().into_iter().flatten() {
            println!(
                "#{:<5} {} {:<12} {:<20} {} {}",
                text(&l["seq"]),
                text(&l["at"]),
                text(&l["actor"]),
                text(&l["action"]),
                text(&l["subject"]),
                l["details"]
            );
        }
    })
}

/// `vexil audit verify` against a server.
pub fn audit_verify_remote(api: &Api) -> Result<i32> {
    let v = api.call("GET", "/audit/verify", None)?;
    if api.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    if v["ok"] == true {
        if !api.json {
            println!("audit chain intact: {} entries", text(&v["entries"]));
        }
        Ok(0)
    } else {
        eprintln!(
            "error: audit chain broken at entry {}: {}",
            text(&v["broken"]["seq"]),
            text(&v["broken"]["reason"])
        );
        Ok(1)
    }
}

/// `vexil audit verify --data DIR`: reads the database directly, so it works when
/// the server is down (or not trusted).
pub fn audit_verify_data(dir: &Path) -> Result<i32> {
    match vexil::origin::verify_data_dir(dir) {
        Ok(n) => {
            println!("audit chain intact: {n} entries");
            Ok(0)
        }
        Err(vexil::origin::OriginError::AuditBroken(b)) => {
            eprintln!("error: {b}");
            Ok(1)
        }
        Err(e) => Err(anyhow!(e)).with_context(|| format!("cannot verify {}", dir.display())),
    }
}
