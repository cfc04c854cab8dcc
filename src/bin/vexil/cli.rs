//! Argument parsing and the commands. Errors carry context for people and end the
//! process with a non-zero status; nothing here panics on input.

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vexil::engine::time::{format_rfc3339_ms, parse_rfc3339_ms};
use vexil::engine::{parse_document, Details, LoadError, Snapshot, ValueType};
use vexil::origin::{audit, governance, limits};
use vexil::snapshot::{sign, Keyring, PrivateKeyFile, StalePolicy, Store};

#[path = "operator.rs"]
mod operator;
use operator::{Api, EnvArg};

#[derive(Parser)]
#[command(
    name = "vexil",
    version,
    about = "Vexil feature flags: the origin server, its operator commands, signed snapshots, local evaluation"
)]
struct Cli {
    #[command(flatten)]
    conn: operator::Conn,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Run the origin server.
    Serve {
        /// The data directory made by `vexil init`.
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Directory holding `www/` (the console) and `pkg/` (the package) to serve at
        /// `/` and `/pkg/` (default: the source tree vexil was built from, if present).
        #[arg(long)]
        www: Option<PathBuf>,
    },
    /// Flags on the origin.
    #[command(subcommand)]
    Flag(operator::FlagCommand),
    /// Rollout percentages.
    #[command(subcommand)]
    Rollout(operator::RolloutCommand),
    /// Restore a flag's previous definition (or `--to-revision N`).
    Rollback {
        /// The flag.
        flag: String,
        /// Revision to restore (default: the one before the current).
        #[arg(long)]
        to_revision: Option<i64>,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Apply the seed's bulk-update file, all or nothing.
    BulkUpdate {
        /// `{"updates": [{"flag_id", "operation", "parameters"}]}`.
        file: PathBuf,
        #[command(flatten)]
        env: EnvArg,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
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
    },
    /// Reject a change request.
    Reject {
        /// Change id.
        change: i64,
        /// Why (required).
        #[arg(long)]
        comment: String,
    },
    /// Change requests.
    #[command(subcommand)]
    Changes(operator::ChangesCommand),
    /// Copy a flag's definition from one environment to another, as a change request.
    Promote {
        /// The flag.
        flag: String,
        /// Source environment.
        #[arg(long)]
        from: String,
        /// Target environment.
        #[arg(long)]
        to: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lifecycle insights: expired, settled and stale flags, waiting changes.
    Insights {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
    },
    /// Bearer tokens.
    #[command(subcommand)]
    Token(operator::TokenCommand),
    /// SDK keys.
    #[command(subcommand)]
    SdkKey(operator::SdkKeyCommand),
    /// Webhooks.
    #[command(subcommand)]
    Webhooks(operator::WebhooksCommand),
    /// Segments.
    #[command(subcommand)]
    Segment(operator::SegmentCommand),
    /// Environments.
    #[command(subcommand)]
    Env(operator::EnvCommand),
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
enum ImportSource {
    Unleash,
    Flagd,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// The flag whose audit report to print.
    flag: Option<String>,
    #[command(flatten)]
    env: EnvArg,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// List the governance policies every change is assessed against (`--json` too).
    List,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the audit chain: an exported file, a data directory (`--data`), or the
    /// server's.
    Verify {
        /// An export (a JSON array of entries, oldest first).
        #[arg(conflicts_with = "data")]
        file: Option<PathBuf>,
        /// An origin's data directory, read directly.
        #[arg(long)]
        data: Option<PathBuf>,
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
enum ChangeArg {
    Create,
    Update,
    Enable,
    Disable,
    Archive,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// The origin's public keys (active and retiring).
    List,
    /// Give the origin a new signing key; the old one stays valid for the overlap.
    Rotate {
        /// How long snapshots signed by the old key stay valid (default: the origin's setting).
        #[arg(long)]
        overlap: Option<String>,
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
enum FlagsCommand {
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
    },
}

#[derive(Subcommand)]
enum SnapshotCommand {
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
enum FlagType {
    Boolean,
    String,
    Number,
    Object,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// The snapshot envelope.
    snapshot: PathBuf,
    /// Public keyring JSON.
    #[arg(long)]
    keys: PathBuf,
    /// Flag to evaluate (default: every flag).
    #[arg(long)]
    flag: Option<String>,
    /// Evaluation context as JSON.
    #[arg(long, conflicts_with = "context_file")]
    context: Option<String>,
    /// File holding the evaluation context as JSON.
    #[arg(long, conflicts_with = "contexts")]
    context_file: Option<PathBuf>,
    /// Many contexts, one JSON value per line (`-` for standard input): prints one
    /// compact line of results per context, in order.
    #[arg(long, conflicts_with = "context")]
    contexts: Option<PathBuf>,
    /// Default value (JSON) returned on errors.
    #[arg(long, default_value = "null")]
    default: String,
    /// Expected flag type: another type gives TYPE_MISMATCH.
    #[arg(long = "type", value_enum)]
    flag_type: Option<FlagType>,
    /// Evaluation time (RFC 3339); default now.
    #[arg(long)]
    now: Option<String>,
    /// Environment the edge serves (default: the snapshot's own).
    #[arg(long)]
    env: Option<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration such as 24h or 30m: {e}"))
}

/// Runs the CLI and returns the process exit status.
pub fn run() -> i32 {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        // Like other command-line tools, end quietly when the reader of our output
        // goes away (`vexil audit log | head`) instead of failing on a broken pipe.
        // The server keeps Rust's default (ignored), so a closed log pipe never stops it.
        #[cfg(unix)]
        // SAFETY: restoring SIGPIPE's default disposition before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match dispatch(cli.command, &cli.conn) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn dispatch(command: Command, conn: &operator::Conn) -> Result<i32> {
    let api = || Api::new(conn);
    match command {
        Command::Keys(KeysCommand::List) => operator::keys_list(&api()),
        Command::Keys(KeysCommand::Rotate { overlap }) => operator::keys_rotate(&api(), overlap),
        Command::Init { data } => operator::init(&data, conn.json),
        Command::Serve { data, listen, www } => operator::serve(data, listen, www),
        Command::Flag(c) => operator::flag(&api(), c),
        Command::Rollout(c) => operator::rollout(&api(), c),
        Command::Rollback {
            flag,
            to_revision,
            env,
            reason,
        } => operator::rollback(&api(), &flag, &env, to_revision, reason),
        Command::BulkUpdate { file, env, reason } => {
            operator::bulk_update(&api(), &file, &env, reason)
        }
        Command::Approve {
            change,
            comment,
            role,
        } => operator::decide(&api(), change, true, comment, role),
        Command::Reject { change, comment } => {
            operator::decide(&api(), change, false, Some(comment), None)
        }
        Command::Changes(c) => operator::changes(&api(), c),
        Command::Promote {
            flag,
            from,
            to,
            reason,
        } => operator::promote(&api(), &flag, &from, &to, reason),
        Command::Insights { env } => operator::insights(&api(), env),
        Command::Token(c) => operator::token(&api(), c),
        Command::SdkKey(c) => operator::sdk_key(&api(), c),
        Command::Webhooks(c) => operator::webhooks(&api(), c),
        Command::Segment(c) => operator::segment(&api(), c),
        Command::Env(c) => operator::env(&api(), c),
        Command::Import {
            from,
            file,
            out,
            allow_lossy,
        } => import(from, &file, out.as_deref(), allow_lossy),
        Command::Keys(KeysCommand::Generate {
            id,
            out_private,
            out_public,
            force,
        }) => keys_generate(&id, &out_private, &out_public, force),
        Command::Flags(FlagsCommand::Validate { files }) => flags_validate(&files),
        Command::Flags(FlagsCommand::Assess { files, change, now }) => {
            flags_assess(&files, change, now.as_deref())
        }
        Command::Policy(PolicyCommand::List) if conn.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "policies": governance::POLICIES }))?
            );
            Ok(0)
        }
        Command::Policy(PolicyCommand::List) => {
            for policy in governance::POLICIES {
                println!("{:<28} {}", policy.id, policy.description);
            }
            Ok(0)
        }
        Command::Audit(a) => match (a.command, a.flag) {
            (
                Some(AuditCommand::Verify {
                    file: Some(file), ..
                }),
                _,
            ) => audit_verify(&file),
            (
                Some(AuditCommand::Verify {
                    data: Some(dir), ..
                }),
                _,
            ) => operator::audit_verify_data(&dir),
            (Some(AuditCommand::Verify { .. }), _) => operator::audit_verify_remote(&api()),
            (
                Some(AuditCommand::Log {
                    flag,
                    env,
                    action,
                    limit,
                }),
                _,
            ) => operator::audit_log(&api(), flag, env, action, limit),
            (None, Some(flag)) => operator::audit_report(
                &api(),
                &flag,
                &a.env,
                matches!(a.format, ReportFormat::Json),
            ),
            (None, None) => bail!(
                "give a FLAG for its audit report, or `vexil audit verify` / `vexil audit log`"
            ),
        },
        Command::Snapshot(SnapshotCommand::Build {
            files,
            env,
            version,
            expires_in,
            issued_at,
            key,
            out,
        }) => snapshot_build(
            &files,
            &env,
            version,
            expires_in,
            issued_at.as_deref(),
            &key,
            &out,
        ),
        Command::Snapshot(SnapshotCommand::Verify {
            snapshot,
            keys,
            env,
            now,
        }) => snapshot_verify(&snapshot, &keys, env, now.as_deref()),
        Command::Snapshot(SnapshotCommand::Payload {
            files,
            env,
            version,
            expires_in,
            issued_at,
            out,
        }) => snapshot_payload(
            &files,
            &env,
            version,
            expires_in,
            issued_at.as_deref(),
            &out,
        ),
        Command::Snapshot(SnapshotCommand::Inspect { snapshot, keys }) => {
            snapshot_inspect(&snapshot, keys.as_deref())
        }
        Command::Eval(args) => eval(args),
    }
}

fn import(from: ImportSource, file: &Path, out: Option<&Path>, allow_lossy: bool) -> Result<i32> {
    let input: Value = serde_json::from_str(&read(file)?)
        .with_context(|| format!("{} is not JSON", file.display()))?;
    let imported = match from {
        ImportSource::Unleash => vexil::import::unleash::translate(&input),
        ImportSource::Flagd => vexil::import::flagd::translate(&input),
    }
    .with_context(|| format!("cannot import {}", file.display()))?;
    let document = Value::Object(imported.document);
    let Some(snapshot) = validate(document.as_object().expect("an object"))? else {
        bail!("the translation does not validate (a bug in the importer: please report it with the input)");
    };
    for l in &imported.lossy {
        eprintln!("lossy: {}: {}", l.flag, l.message);
    }
    let flags = snapshot.flags().len();
    if !imported.lossy.is_empty() && !allow_lossy {
        eprintln!(
            "error: {} part(s) of {flags} flag(s) cannot be translated faithfully (listed above); pass --allow-lossy to write the translation anyway",
            imported.lossy.len()
        );
        return Ok(1);
    }
    let text = serde_json::to_string_pretty(&document)? + "\n";
    match out {
        Some(path) => {
            fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("imported {flags} flag(s) into {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(0)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn time_arg(name: &str, text: Option<&str>) -> Result<i64> {
    match text {
        None => Ok(now_ms()),
        Some(t) => parse_rfc3339_ms(t).ok_or_else(|| {
            anyhow!("--{name} `{t}` is not an RFC 3339 time such as 2027-01-31T00:00:00Z")
        }),
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write_new(path: &Path, contents: &str, private: bool, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists (pass --force to overwrite)",
            path.display()
        );
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = private;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn keys_generate(id: &str, out_private: &Path, out_public: &Path, force: bool) -> Result<i32> {
    if id.is_empty() {
        bail!("--id must not be empty");
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness available: {e}"))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let file = PrivateKeyFile::new(id, &key);
    let keyring = file.keyring()?;
    write_new(
        out_private,
        &(serde_json::to_string_pretty(&file)? + "\n"),
        true,
        force,
    )?;
    write_new(out_public, &(keyring.to_json() + "\n"), false, force)?;
    println!(
        "generated key `{id}`: private key {} (keep it secret), public keyring {}",
        out_private.display(),
        out_public.display()
    );
    Ok(0)
}

/// Reads a flags file as JSON, or YAML for `.yaml`/`.yml`.
fn read_flags_file(path: &Path) -> Result<Value> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        read(path)?
    };
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let value: Value = if yaml {
        serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", path.display()))?
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?
    };
    if !value.is_object() {
        bail!(
            "{}: a flags file is an object with `flags`, `segments` and `exclusion_groups`",
            path.display()
        );
    }
    Ok(value)
}

/// A name-keyed section of flags files (`segments`, `exclusion_groups`) being merged.
struct NamedSection {
    field: &'static str,
    items: Map<String, Value>,
    /// Which file defined each name.
    origins: BTreeMap<String, String>,
}

impl NamedSection {
    fn new(field: &'static str) -> Self {
        NamedSection {
            field,
            items: Map::new(),
            origins: BTreeMap::new(),
        }
    }
}

/// Merges flags files: flags are concatenated, segments and exclusion groups are
/// united (a name defined in two files is an error).
fn merge_flags_files(files: &[PathBuf]) -> Result<Map<String, Value>> {
    let mut flags = Vec::new();
    let mut named = [
        NamedSection::new("segments"),
        NamedSection::new("exclusion_groups"),
    ];
    let mut schema = None;
    for path in files {
        let Value::Object(doc) = read_flags_file(path)? else {
            unreachable!("checked above")
        };
        let origin = path.display().to_string();
        for (field, value) in doc {
            match field.as_str() {
                "flags" => match value {
                    Value::Array(items) => flags.extend(items),
                    _ => bail!("{origin}: `flags` must be a list"),
                },
                "schema" => schema = Some(value),
                "segments" | "exclusion_groups" => {
                    let Value::Object(items) = value else {
                        bail!("{origin}: `{field}` must be an object")
                    };
                    let Some(section) = named.iter_mut().find(|s| s.field == field) else {
                        continue;
                    };
                    for (name, def) in items {
                        if let Some(first) = section.origins.get(&name) {
                            bail!("{field} `{name}` is defined in both {first} and {origin}");
                        }
                        section.origins.insert(name.clone(), origin.clone());
                        section.items.insert(name, def);
                    }
                }
                "environment" | "version" | "issued_at" | "expires_at" => {
                    bail!(
                        "{origin}: `{field}` is set by `vexil snapshot build`, not in flags files"
                    )
                }
                _ => {} // descriptive top-level fields are not carried into snapshots
            }
        }
    }
    let mut out = Map::new();
    if let Some(schema) = schema {
        out.insert("schema".into(), schema);
    }
    out.insert("flags".into(), Value::Array(flags));
    for section in named {
        out.insert(section.field.into(), Value::Object(section.items));
    }
    Ok(out)
}

fn report_load_error(e: &LoadError) {
    match e {
        LoadError::Invalid(issues) => {
            eprintln!(
                "error: {} problem{} in the flags:",
                issues.len(),
                if issues.len() == 1 { "" } else { "s" }
            );
            for issue in issues {
                eprintln!("  {issue}");
            }
        }
        other => eprintln!("error: {other}"),
    }
}

fn validate(doc: &Map<String, Value>) -> Result<Option<Snapshot>> {
    // The origin's name limits, so a file that validates here is accepted there.
    let names = limits::document_issues(&Value::Object(doc.clone()));
    if !names.is_empty() {
        report_load_error(&LoadError::Invalid(names));
        return Ok(None);
    }
    let bytes = serde_json::to_vec(doc)?;
    match parse_document(&bytes).and_then(|d| Snapshot::compile(&d)) {
        Ok(snapshot) => Ok(Some(snapshot)),
        Err(e) => {
            report_load_error(&e);
            Ok(None)
        }
    }
}

fn flags_validate(files: &[PathBuf]) -> Result<i32> {
    let doc = merge_flags_files(files)?;
    Ok(match validate(&doc)? {
        Some(snapshot) => {
            println!("ok: {} flags valid", snapshot.flags().len());
            0
        }
        None => 1,
    })
}

/// Merges and validates flags files into a compiled snapshot for `env`, with its
/// times; `None` when validation failed (the problems are printed).
fn compile_snapshot(
    files: &[PathBuf],
    env: &str,
    version: u64,
    expires_in: Duration,
    issued_at: Option<&str>,
) -> Result<Option<Snapshot>> {
    if env.is_empty() {
        bail!("--env must not be empty");
    }
    let issued = time_arg("issued-at", issued_at)?;
    let expires = issued.saturating_add(expires_in.as_millis() as i64);
    let mut payload = Map::new();
    payload.insert("environment".into(), json!(env));
    payload.insert("version".into(), json!(version));
    payload.insert("issued_at".into(), json!(format_rfc3339_ms(issued)));
    payload.insert("expires_at".into(), json!(format_rfc3339_ms(expires)));
    payload.extend(merge_flags_files(files)?);
    validate(&payload)
}

fn write_out(out: &Path, bytes: &[u8]) -> Result<()> {
    if out == Path::new("-") {
        use std::io::Write;
        std::io::stdout()
            .write_all(bytes)
            .context("cannot write to standard output")
    } else {
        fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))
    }
}

fn snapshot_build(
    files: &[PathBuf],
    env: &str,
    version: u64,
    expires_in: Duration,
    issued_at: Option<&str>,
    key_path: &Path,
    out: &Path,
) -> Result<i32> {
    let key_file = PrivateKeyFile::from_json(&read(key_path)?)
        .with_context(|| format!("{} is not a private key file", key_path.display()))?;
    let key = key_file.signing_key()?;
    let Some(snapshot) = compile_snapshot(files, env, version, expires_in, issued_at)? else {
        return Ok(1);
    };
    let bytes = snapshot.encode(env, version);
    let envelope = sign(&bytes, &key_file.key_id, &key).to_json() + "\n";
    write_out(out, envelope.as_bytes())?;
    if out != Path::new("-") {
        println!(
            "signed snapshot {} v{version} for `{env}`: {} flags, {} bytes, key `{}`, expires {}",
            out.display(),
            snapshot.flags().len(),
            envelope.len(),
            key_file.key_id,
            snapshot
                .meta
                .expires_at_ms
                .map(format_rfc3339_ms)
                .unwrap_or_default()
        );
    }
    Ok(0)
}

fn snapshot_payload(
    files: &[PathBuf],
    env: &str,
    version: u64,
    expires_in: Duration,
    issued_at: Option<&str>,
    out: &Path,
) -> Result<i32> {
    let Some(snapshot) = compile_snapshot(files, env, version, expires_in, issued_at)? else {
        return Ok(1);
    };
    let bytes = snapshot.encode(env, version);
    write_out(out, &bytes)?;
    if out != Path::new("-") {
        println!(
            "payload {} v{version} for `{env}`: {} flags, {} bytes (sign `vexil-snapshot/2\\n` + these bytes with Ed25519)",
            out.display(),
            snapshot.flags().len(),
            bytes.len()
        );
    }
    Ok(0)
}

fn snapshot_inspect(path: &Path, keys: Option<&Path>) -> Result<i32> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (payload, verified) = if bytes.starts_with(&vexil::engine::wire::MAGIC) {
        (bytes, None)
    } else {
        let envelope = vexil::snapshot::Envelope::parse(&bytes).map_err(|e| {
            anyhow!(
                "{} is neither an envelope nor a payload: {e}",
                path.display()
            )
        })?;
        let verified = match keys {
            Some(keys) => {
                let keyring = Keyring::from_json(&read(keys)?)
                    .with_context(|| format!("{} is not a keyring", keys.display()))?;
                vexil::snapshot::verify(&bytes, &keyring, vexil::snapshot::DEFAULT_MAX_BYTES)
                    .map_err(|r| anyhow!("{r}"))?;
                Some(envelope.key_id.clone())
            }
            None => None,
        };
        let payload = vexil::snapshot::decode_base64(&envelope.payload)
            .ok_or_else(|| anyhow!("the envelope's payload is not base64"))?;
        (payload, verified)
    };
    let snapshot = Snapshot::decode(&payload).map_err(|e| anyhow!("{e}"))?;
    match verified {
        Some(key) => eprintln!("signature verified (key `{key}`)"),
        None if keys.is_none() => eprintln!("not verified: pass --keys to check the signature"),
        None => {}
    }
    println!("{}", serde_json::to_string_pretty(&snapshot.to_document())?);
    Ok(0)
}

/// Loads an envelope into a fresh store, as an edge would.
fn load(snapshot: &Path, keys: &Path, env: Option<String>, now: i64) -> Result<Store> {
    let bytes =
        fs::read(snapshot).with_context(|| format!("cannot read {}", snapshot.display()))?;
    let keyring = Keyring::from_json(&read(keys)?)
        .with_context(|| format!("{} is not a keyring", keys.display()))?;
    // Without --env, trust the payload's own environment (after the signature check).
    let env = match env {
        Some(env) => env,
        None => vexil::snapshot::verify(&bytes, &keyring, vexil::snapshot::DEFAULT_MAX_BYTES)
            .map(|v| v.environment)
            .map_err(|r| anyhow!("{r}"))?,
    };
    let mut store = Store::new(keyring, env, StalePolicy::ServeStale);
    store.load(&bytes, now).map_err(|r| anyhow!("{r}"))?;
    Ok(store)
}

fn snapshot_verify(
    snapshot: &Path,
    keys: &Path,
    env: Option<String>,
    now: Option<&str>,
) -> Result<i32> {
    let now = time_arg("now", now)?;
    let store = load(snapshot, keys, env, now)?;
    let s = store.snapshot().expect("loaded");
    let time = |t: Option<i64>| t.map(format_rfc3339_ms).unwrap_or_else(|| "-".into());
    println!(
        "valid: `{}` v{} signed by `{}`, {} flags, issued {}, expires {}{}",
        store.environment(),
        store.version().unwrap_or(0),
        store.key_id().unwrap_or("-"),
        s.flags().len(),
        time(s.meta.issued_at_ms),
        time(s.meta.expires_at_ms),
        if store.is_stale(now) { " (stale)" } else { "" }
    );
    Ok(0)
}

fn eval(args: EvalArgs) -> Result<i32> {
    let now = time_arg("now", args.now.as_deref())?;
    let default: Value = serde_json::from_str(&args.default)
        .map_err(|e| anyhow!("--default is not valid JSON: {e} (quote strings: '\"text\"')"))?;
    let expected = args.flag_type.map(|t| match t {
        FlagType::Boolean => ValueType::Bool,
        FlagType::String => ValueType::String,
        FlagType::Number => ValueType::Number,
        FlagType::Object => ValueType::Object,
    });
    let store = load(&args.snapshot, &args.keys, args.env.clone(), now)?;
    let snapshot = store.snapshot().expect("loaded");
    let keys: Vec<String> = match &args.flag {
        Some(key) => vec![key.clone()],
        None => snapshot.flags().iter().map(|f| f.key.to_string()).collect(),
    };
    let evaluate = |context: &Value| -> Result<Value> {
        let results: Vec<Details> = keys
            .iter()
            .map(|k| snapshot.details_for_context(k, context, default.clone(), expected, now))
            .collect();
        Ok(if args.flag.is_some() {
            serde_json::to_value(&results[0])?
        } else {
            Value::Object(
                results
                    .into_iter()
                    .map(|d| {
                        (
                            d.flag_key.clone(),
                            serde_json::to_value(d).unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            )
        })
    };
    if let Some(path) = &args.contexts {
        let text = if path == Path::new("-") {
            std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
        } else {
            read(path)?
        };
        let mut out = String::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let context: Value = serde_json::from_str(line)
                .map_err(|e| anyhow!("line {}: the context is not valid JSON: {e}", i + 1))?;
            out.push_str(&serde_json::to_string(&evaluate(&context)?)?);
            out.push('\n');
        }
        print!("{out}");
        return Ok(0);
    }
    let context_text = match (&args.context, &args.context_file) {
        (Some(text), _) => text.clone(),
        (None, Some(path)) => read(path)?,
        (None, None) => "{}".to_string(),
    };
    let context: Value = serde_json::from_str(&context_text)
        .map_err(|e| anyhow!("the context is not valid JSON: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&evaluate(&context)?)?);
    Ok(0)
}

fn flags_assess(files: &[PathBuf], change: ChangeArg, now: Option<&str>) -> Result<i32> {
    let now = time_arg("now", now)?;
    let doc = merge_flags_files(files)?;
    let segments: BTreeMap<String, vexil::engine::model::Clause> =
        serde_json::from_value(doc.get("segments").cloned().unwrap_or(Value::Null))
            .unwrap_or_default();
    let change = match change {
        ChangeArg::Create => governance::Change::Create,
        ChangeArg::Update => governance::Change::Update,
        ChangeArg::Enable => governance::Change::Enable,
        ChangeArg::Disable => governance::Change::Disable,
        ChangeArg::Archive => governance::Change::Archive,
    };
    let config = governance::GovernanceConfig::default();
    let mut refused = 0;
    for flag in doc
        .get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = flag.get("key").and_then(Value::as_str).unwrap_or("?");
        let a = governance::assess(flag, &segments, change, now, &config);
        let roles: Vec<&str> = a.roles().into_iter().collect();
        let oversight = a
            .oversight_level
            .map(|l| format!(", clinical oversight level {l}"))
            .unwrap_or_default();
        if a.allowed() {
            let needs = if roles.is_empty() {
                "no approval".to_string()
            } else {
                roles.join(" + ")
            };
            println!("{key}: allowed, needs {needs}{oversight}");
        } else {
            refused += 1;
            println!("{key}: refused{oversight}");
            for v in &a.violations {
                println!("  {}: {}", v.policy, v.message);
            }
        }
    }
    Ok(if refused > 0 { 1 } else { 0 })
}

fn audit_verify(file: &Path) -> Result<i32> {
    let links: Vec<audit::Link> = serde_json::from_str(&read(file)?).with_context(|| {
        format!(
            "{} is not an audit export (a JSON array of entries)",
            file.display()
        )
    })?;
    match audit::verify(&links) {
        Ok(n) => {
            let head = links
                .last()
                .map(|l| l.hash.as_str())
                .unwrap_or(audit::GENESIS);
            println!("ok: {n} entries verify; head {head}");
            Ok(0)
        }
        Err(broken) => {
            eprintln!("error: {broken}");
            Ok(1)
        }
    }
}
