//! The command line: every command and its options (clap). Options that reach an
//! origin (`--server`, `--token`) belong to the commands that talk to one; `--json`
//! belongs to every command.

use crate::operator::{self, Conn, EnvArg, Remote};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "vexil",
    version,
    about = "Vexil feature flags: the origin server, its operator commands, signed snapshots, local evaluation"
)]
pub struct Cli {
    /// Print JSON: the answer on standard output, an error as one JSON object on
    /// standard error.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The origin's database, for the commands that open it.
#[derive(Args, Clone, Debug)]
pub struct DatabaseArg {
    /// The database: postgres://user:password@host:port/database (or
    /// postgresql://…) for PostgreSQL, sqlite:PATH for an SQLite file elsewhere;
    /// default: vexil.db in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "VEXIL_DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// The key-encryption key, in a file (base64 of 32 random bytes): on
    /// PostgreSQL it seals the private keys kept in the database, and every replica
    /// needs the same one. Default: the key in VEXIL_KEY_ENCRYPTION_KEY. Not used
    /// on SQLite, whose keys stay in the data directory.
    #[arg(long, value_name = "FILE", env = "VEXIL_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<std::path::PathBuf>,
}

impl DatabaseArg {
    /// The key-encryption key: the file's, else VEXIL_KEY_ENCRYPTION_KEY's.
    pub fn kek(&self) -> Result<Option<vexil::origin::kek::Kek>, vexil::origin::OriginError> {
        vexil::origin::kek::Kek::resolve(self.key_encryption_key_file.as_deref())
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Flags files.
    #[command(subcommand)]
    Flags(FlagsCommand),
    /// Signed snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Verify a snapshot and evaluate flags for a context.
    Eval(EvalArgs),
    /// Governance policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The audit log: `vexil audit FLAG` for a flag's audit report, or a subcommand.
    Audit(AuditArgs),
    /// Create an origin's data directory: database, signing key, environments, admin token.
    Init {
        /// The data directory (settings and keys; the database too, unless
        /// --database names one).
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Run the origin server.
    #[command(after_help = SERVE_HELP)]
    Serve {
        /// The data directory made by `vexil init`.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Directory holding `www/` (the console) and `pkg/` (the package) to serve at
        /// `/` and `/pkg/` (default: the source tree vexil was built from, if present).
        #[arg(long)]
        www: Option<PathBuf>,
        /// Serve HTTPS with this PEM certificate chain (the server's certificate
        /// first); needs --tls-key. Answers then carry Strict-Transport-Security.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Answer `GET /metrics` without credentials (default: a token that may
        /// read, such as a `viewer` token for Prometheus).
        #[arg(long)]
        public_metrics: bool,
    },
    /// Flags on the origin.
    Flag(Remote<operator::FlagCommand>),
    /// Rollout percentages.
    Rollout(Remote<operator::RolloutCommand>),
    /// Restore a flag's previous definition (or `--to-revision N`).
    Rollback {
        /// The flag's key.
        flag: String,
        /// Revision to restore (default: the one before the current).
        #[arg(long)]
        to_revision: Option<i64>,
        #[command(flatten)]
        env: EnvArg,
        /// The reason, recorded with the change and in the audit trail.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Apply the seed's bulk-update file, all or nothing.
    BulkUpdate {
        /// `{"updates": [{"flag_id", "operation", "parameters"}]}`.
        file: PathBuf,
        #[command(flatten)]
        env: EnvArg,
        /// The reason, recorded with the change and in the audit trail.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Approve a change request.
    Approve {
        /// Change id.
        change: i64,
        /// Comment recorded with the approval.
        #[arg(long)]
        comment: Option<String>,
        /// Approve as this role (default: the first needed role you hold).
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Reject a change request.
    Reject {
        /// Change id.
        change: i64,
        /// Why (required).
        #[arg(long)]
        comment: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Change requests.
    Changes(Remote<operator::ChangesCommand>),
    /// Copy a flag's definition from one environment to another, as a change request.
    Promote {
        /// The flag's key.
        flag: String,
        /// Source environment.
        #[arg(long)]
        from: String,
        /// Target environment.
        #[arg(long)]
        to: String,
        /// The reason, recorded with the change and in the audit trail.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lifecycle insights: expired, settled and stale flags, waiting changes.
    Insights {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Bearer tokens.
    Token(Remote<operator::TokenCommand>),
    /// SDK keys.
    SdkKey(Remote<operator::SdkKeyCommand>),
    /// Webhooks.
    Webhooks(Remote<operator::WebhooksCommand>),
    /// Segments.
    Segment(Remote<operator::SegmentCommand>),
    /// Environments.
    Env(Remote<operator::EnvCommand>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into `--out DIR`.
    Man {
        /// Directory for `vexil.1`, `vexil-flags.1`, `vexil-flags-validate.1`, ...
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Translate flags from Unleash or flagd into a Vexil flags file, keeping every
    /// rollout's hashing so no user changes variant.
    Import {
        /// Where the flags come from.
        #[arg(long, value_enum)]
        from: ImportSource,
        /// Unleash client features JSON (`/api/client/features`) or a flagd flag definition.
        file: PathBuf,
        /// Where to write the Vexil flags file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the translation even when parts of it are not faithful.
        #[arg(long)]
        allow_lossy: bool,
    },
}

/// Systems `vexil import` reads.
#[derive(Clone, Copy, ValueEnum)]
pub enum ImportSource {
    Unleash,
    Flagd,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// The flag whose audit report to print.
    pub flag: Option<String>,
    #[command(flatten)]
    pub env: EnvArg,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// The origin (for the report, `audit log` and `audit verify` without a file).
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// List the governance policies every change is assessed against (`--json` too).
    List,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the audit chain: an exported file, a data directory (`--data`), or the
    /// server's.
    Verify {
        /// An export (a JSON array of entries, oldest first).
        #[arg(conflicts_with = "data")]
        file: Option<PathBuf>,
        /// An origin's data directory, read directly.
        #[arg(long)]
        data: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// List audit entries, oldest first.
    Log {
        /// Only this flag.
        #[arg(long)]
        flag: Option<String>,
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// Only this action (change.applied, flag.killed, ...).
        #[arg(long)]
        action: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
    },
}

/// Kinds of change, for `vexil flags assess`.
#[derive(Clone, Copy, ValueEnum)]
pub enum ChangeArg {
    Create,
    Update,
    Enable,
    Disable,
    Archive,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// The origin's public keys (active and retiring).
    List {
        #[command(flatten)]
        conn: Conn,
    },
    /// Give the origin a new signing key; the old one stays valid for the overlap.
    Rotate {
        /// How long snapshots signed by the old key stay valid (default: the origin's setting).
        #[arg(long)]
        overlap: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Generate an Ed25519 signing key: a private key file and a public keyring.
    Generate {
        /// Key id verifiers will know the key by.
        #[arg(long)]
        id: String,
        /// Where to write the private key (created with mode 0600).
        #[arg(long)]
        out_private: PathBuf,
        /// Where to write the public keyring JSON (`{"<id>": "<base64>"}`).
        #[arg(long)]
        out_public: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum FlagsCommand {
    /// Validate flags files (JSON or YAML) with the engine's own checks.
    Validate {
        /// Flags files; several are merged into one set.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Assess flags files against the governance policies: the approvals each change
    /// would need and the policies it would violate.
    Assess {
        /// Flags files; several are merged into one set.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The kind of change to assess.
        #[arg(long, value_enum, default_value = "create")]
        change: ChangeArg,
        /// Assessment time (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
        /// Origin settings (`vexil.toml`) to assess with: the naming pattern, the
        /// trading venues flags list in `venues`; default the default settings.
        #[arg(long)]
        settings: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Validate flags files and sign them into a snapshot envelope.
    Build {
        /// Flags files (JSON, or YAML by .yaml/.yml extension); several are merged.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Environment the snapshot is for.
        #[arg(long)]
        env: String,
        /// Snapshot version (must increase with every publication).
        #[arg(long)]
        version: u64,
        /// How long the snapshot stays fresh (e.g. 24h, 30m, 7d).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        expires_in: Duration,
        /// Issue time (RFC 3339); default now.
        #[arg(long)]
        issued_at: Option<String>,
        /// Private key file from `vexil keys generate`.
        #[arg(long)]
        key: PathBuf,
        /// Where to write the envelope (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// Validate flags files into a snapshot payload without signing it (for signing
    /// elsewhere, e.g. with a hardware security module: the signature is Ed25519 over
    /// `"vexil-snapshot/2\n"` followed by these exact bytes).
    Payload {
        /// Flags files (JSON, or YAML by .yaml/.yml extension; `-` reads JSON from
        /// standard input); several are merged.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Environment the snapshot is for.
        #[arg(long)]
        env: String,
        /// Snapshot version (must increase with every publication).
        #[arg(long)]
        version: u64,
        /// How long the snapshot stays fresh (e.g. 24h, 30m, 7d, 500ms).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        expires_in: Duration,
        /// Issue time (RFC 3339); default now.
        #[arg(long)]
        issued_at: Option<String>,
        /// Where to write the payload bytes (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a snapshot's payload as a flags document (JSON), with its environment,
    /// version and times.
    Inspect {
        /// A snapshot envelope, or a bare payload from `vexil snapshot payload`.
        snapshot: PathBuf,
        /// Public keyring JSON: verify the signature first (without it the payload is
        /// printed unverified).
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Verify a snapshot as an edge would and describe it.
    Verify {
        /// The snapshot envelope.
        snapshot: PathBuf,
        /// Public keyring JSON.
        #[arg(long)]
        keys: PathBuf,
        /// Environment the edge serves (default: the snapshot's own).
        #[arg(long)]
        env: Option<String>,
        /// Verification time (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FlagType {
    Boolean,
    String,
    Number,
    Object,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The snapshot envelope.
    pub snapshot: PathBuf,
    /// Public keyring JSON.
    #[arg(long)]
    pub keys: PathBuf,
    /// Flag to evaluate (default: every flag).
    #[arg(long)]
    pub flag: Option<String>,
    /// Evaluation context as JSON.
    #[arg(long, conflicts_with = "context_file")]
    pub context: Option<String>,
    /// File holding the evaluation context as JSON.
    #[arg(long, conflicts_with = "contexts")]
    pub context_file: Option<PathBuf>,
    /// Many contexts, one JSON value per line (`-` for standard input): prints one
    /// compact line of results per context, in order.
    #[arg(long, conflicts_with = "context")]
    pub contexts: Option<PathBuf>,
    /// Default value (JSON) returned on errors.
    #[arg(long, default_value = "null")]
    pub default: String,
    /// Expected flag type: another type gives TYPE_MISMATCH.
    #[arg(long = "type", value_enum)]
    pub flag_type: Option<FlagType>,
    /// Evaluation time (RFC 3339); default now.
    #[arg(long)]
    pub now: Option<String>,
    /// Environment the edge serves (default: the snapshot's own).
    #[arg(long)]
    pub env: Option<String>,
    /// Add each result's trace: when, how long the evaluation took, and its steps
    /// (prerequisites, the exclusion range and its bucket, access, each rule tried
    /// with the first clause that failed, the rollout's bucket).
    #[arg(long)]
    pub trace: bool,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration such as 24h or 30m: {e}"))
}

/// `vexil serve --help`, after the options.
const SERVE_HELP: &str = "\
TLS: with --tls-cert and --tls-key the origin speaks HTTPS itself (rustls; TLS 1.2
and 1.3) and prints `listening on https://ADDR`. A missing, unreadable or
mismatched certificate or key stops it at start, naming the file.

Behind a reverse proxy or load balancer instead: let the proxy terminate TLS, listen
on a private address (--listen 127.0.0.1:8080), and have the proxy pass the Host
header, set X-Forwarded-Proto: https and X-Forwarded-For, send
Strict-Transport-Security itself, and not buffer /api/v1/environments/*/events
(server-sent events).

Prometheus scrapes GET /metrics with a bearer token that may read (or none with
--public-metrics).";
