//! The operator commands: `init` and `serve`, and the commands that talk to a
//! running origin over its HTTP API (`--server`, `--token`, or `VEXIL_SERVER`,
//! `VEXIL_TOKEN`). Every one prints a short human summary, or the server's JSON
//! with `--json`.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

mod admin;
mod api;
mod audit;
mod changes;
mod flags;
mod print;

pub use admin::{
    env, init, insights, keys_list, keys_rotate, sdk_key, segment, serve, token, webhooks,
};
pub use api::Api;
pub use audit::{audit_log, audit_report, audit_verify_data, audit_verify_remote};
pub use changes::{bulk_update, changes, decide, promote, rollout};
pub use flags::{flag, rollback};

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
}

/// A command group that talks to the origin: the connection options, then its
/// subcommands.
#[derive(Args)]
pub struct Remote<T: Subcommand> {
    #[command(flatten)]
    pub conn: Conn,
    #[command(subcommand)]
    pub command: T,
}

/// The environment a flag command acts on.
#[derive(Args, Clone, Debug)]
pub struct EnvArg {
    /// The environment.
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
        /// The flag's key.
        flag: String,
        /// Flag document (JSON or YAML).
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        env: EnvArg,
        /// The reason, recorded with the change and in the audit trail.
        #[arg(long)]
        reason: Option<String>,
        /// Apply once approved at this time (RFC 3339, e.g. 2026-12-24T18:00:00Z): a
        /// scheduled change, pending (and cancellable) until then.
        #[arg(long)]
        apply_at: Option<String>,
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
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// What the edges reported for a flag: evaluations by variant and reason, error
    /// and success rates, latency, unique units, geography.
    Metrics {
        /// The flag's key.
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
    /// A flag's insights over the last days: performance, adoption, business impact
    /// per variant against the control, lifecycle, and recommendations with reasons.
    Insights {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// Days of edge metrics (1 to 90).
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// A flag's revisions.
    History {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Archive a flag (kept, no longer published).
    Archive {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// The reason, recorded with the change and in the audit trail.
        #[arg(long)]
        reason: Option<String>,
    },
    /// The kill switch: disable a flag now, without waiting for approval.
    Kill {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Record a clinical review (CLINICAL_OVERSIGHT; flags of clinical impact high
    /// are reviewed every 30 days, critical every 7).
    Review {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// What was reviewed and found (recorded in the audit log).
        #[arg(long)]
        comment: String,
    },
    /// Re-enable a disabled flag.
    Enable {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
        /// The reason, recorded with the change and in the audit trail.
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
    /// The reason, recorded with the change and in the audit trail.
    #[arg(long)]
    reason: Option<String>,
    /// Apply once approved at this time (RFC 3339, e.g. 2026-12-24T18:00:00Z): a
    /// scheduled change, pending (and cancellable) until then.
    #[arg(long)]
    apply_at: Option<String>,
}

/// `vexil rollout`.
#[derive(Subcommand)]
pub enum RolloutCommand {
    /// Start a progressive rollout: stages that advance only while the treated
    /// variant's edge metrics hold the guards, with automatic rollback.
    Start {
        /// The flag's key.
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
        /// Best-execution guards, JSON (repeatable): `{"event": "order.executed",
        /// "tolerance": 0.5, "confidence": 0.95, "min_samples": 100}`; mandatory for
        /// MiFID II order-routing flags.
        #[arg(long = "best-execution", value_parser = best_execution_guard)]
        best_execution: Vec<vexil::origin::rollouts::best_execution::BestExecution>,
        /// Variant to roll out (default: the first that is not the off variant).
        #[arg(long)]
        variant: Option<String>,
        /// Roll out within this rule instead of the fallthrough.
        #[arg(long)]
        rule: Option<String>,
        #[command(flatten)]
        env: EnvArg,
        /// The reason, recorded with the change and in the audit trail.
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
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Resume a paused rollout (the current stage starts over).
    Resume {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Abort a flag's rollout, leaving its current percentage.
    Abort {
        /// The flag's key.
        flag: String,
        #[command(flatten)]
        env: EnvArg,
    },
    /// Serve the flag's on variant to PERCENT % of units (the rest get the off variant).
    Set {
        /// The flag's key.
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
        /// The reason, recorded with the change and in the audit trail.
        #[arg(long)]
        reason: Option<String>,
        /// Apply once approved at this time (RFC 3339, e.g. 2026-12-24T18:00:00Z): a
        /// scheduled change, pending (and cancellable) until then.
        #[arg(long)]
        apply_at: Option<String>,
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
        /// The environment.
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
        /// The environment.
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
        /// The reason, recorded with the change and in the audit trail.
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

/// A `--best-execution` guard read from its JSON.
fn best_execution_guard(
    text: &str,
) -> Result<vexil::origin::rollouts::best_execution::BestExecution, String> {
    serde_json::from_str(text).map_err(|e| {
        format!("not a best_execution guard such as {{\"event\": \"order.executed\", \"tolerance\": 0.5}}: {e}")
    })
}
