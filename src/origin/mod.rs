//! The origin: the system of record for flags and the only place that signs
//! snapshots (native only).
//!
//! Layers, each depending only on those before it:
//! - [`governance`] and [`audit`]: pure policy assessment and the hash chain;
//! - [`config`], [`db`] and [`store`]: settings, the database layer every statement
//!   goes through, and the schema;
//! - [`auth`], [`keys`], [`publish`], [`changes`], [`reports`], [`webhooks`]: the
//!   origin's operations, as functions over one transaction, with time as a
//!   parameter;
//! - [`outbox`]: the stream of domain events the operations write, and the
//!   consumers (webhooks, server-sent events, publish targets) driven from it;
//! - [`http`]: the axum API over them; [`Origin`] ties state together.

pub mod api;
pub mod audit;
pub mod auth;
pub mod batch_checks;
pub mod changes;
pub mod config;
pub mod db;
pub mod edge_metrics;
pub mod events;
pub mod flag_insights;
pub mod governance;
pub mod health;
pub mod http;
pub mod identity;
pub mod kek;
pub mod key_store;
pub mod keys;
pub mod leader;
pub mod limits;
pub mod ofrep;
pub mod ofrep_metrics;
pub mod ops_metrics;
pub mod outbox;
pub mod publish;
pub mod reports;
pub mod reviews;
pub mod rollouts;
pub mod scheduled;
pub mod store;
pub mod targets;
pub mod tls;
pub mod webhooks;

use crate::engine::time::format_rfc3339_ms;
use crate::engine::Issue;
use config::OriginConfig;
use db::Db;
use governance::Violation;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Errors of the origin. Each maps to one HTTP status in [`http`].
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    /// Malformed request: bad JSON, a missing field, a bad parameter.
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or unknown ones.
    #[error("{0}")]
    Unauthorized(String),
    /// The credentials do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The flags would not compile.
    #[error("the flags would not compile: {}", issues_text(.0))]
    Invalid(Vec<Issue>),
    /// Governance refuses the change.
    #[error("the change violates {} polic{}: {}", .0.len(), if .0.len() == 1 { "y" } else { "ies" }, violations_text(.0))]
    Policy(Vec<Violation>),
    /// A metrics batch claims what no edge could have seen; refused whole.
    #[error("implausible metrics batch: {0}")]
    Implausible(String),
    /// A bulk update failed; the report says which operations and why.
    #[error("the bulk update failed; nothing was applied")]
    BulkFailed(Box<api::BulkReport>),
    /// Bad settings or data directory.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The TLS certificate or key cannot serve.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] db::DbError),
    /// The audit chain does not verify.
    #[error(transparent)]
    AuditBroken(#[from] audit::Broken),
    /// A bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
}

fn issues_text(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn violations_text(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.policy, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<crate::engine::edit::EditError> for OriginError {
    /// An unknown rule is not found; every other edit refused is a bad request.
    fn from(e: crate::engine::edit::EditError) -> Self {
        match e {
            crate::engine::edit::EditError::NoRule { .. } => OriginError::NotFound(e.to_string()),
            _ => OriginError::BadRequest(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for OriginError {
    fn from(e: serde_json::Error) -> Self {
        OriginError::Internal(format!("stored JSON is unreadable: {e}"))
    }
}

/// Writes a line of the server's log to standard error, never failing: a closed
/// terminal or pipe must not stop the origin.
pub(crate) fn log(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// RFC 3339 text of epoch milliseconds.
pub(crate) fn rfc3339(ms: i64) -> String {
    format_rfc3339_ms(ms)
}

/// The wall clock, in epoch milliseconds.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A clock: epoch milliseconds. Injected so tests control time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock, or, when `VEXIL_CLOCK_FILE` names a file, the wall clock plus the
/// milliseconds written in that file: tests move an origin's time forward (a rollout
/// stage of ten minutes passes in an instant) without waiting.
pub fn clock_from_env() -> Clock {
    match std::env::var_os("VEXIL_CLOCK_FILE") {
        Some(path) => Arc::new(move || {
            let offset = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<i64>().ok())
                .unwrap_or(0);
            system_now_ms().saturating_add(offset)
        }),
        None => Arc::new(system_now_ms),
    }
}

/// Where the console and the `vexil` package are served from.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    /// The console (`www/`), served at `/`.
    pub console: PathBuf,
    /// The npm package (`pkg/`, with its wasm), served at `/pkg/`.
    pub pkg: PathBuf,
}

impl StaticFiles {
    /// `www/` and `pkg/` of this source tree, when they exist (a source checkout).
    pub fn from_source_tree() -> Option<StaticFiles> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Self::under(root)
    }

    /// `DIR/www` and `DIR/pkg`, when `DIR/www` exists.
    pub fn under(root: &Path) -> Option<StaticFiles> {
        let console = root.join("www");
        console.is_dir().then(|| StaticFiles {
            console,
            pkg: root.join("pkg"),
        })
    }
}

/// An open origin: its database, settings, signing keys and clock.
pub struct Origin {
    /// The console and package files, if served.
    pub www: Option<StaticFiles>,
    db: db::pool::Connections,
    /// Settings from `vexil.toml`.
    pub config: OriginConfig,
    /// The signing keys.
    pub keys: Mutex<keys::SigningKeys>,
    /// Where their private halves are kept.
    key_store: key_store::KeyStore,
    /// The database it was opened on.
    database: store::Database,
    /// Where the data lives.
    pub data_dir: PathBuf,
    clock: Clock,
}

/// The settings file in a data directory.
pub const CONFIG_FILE: &str = "vexil.toml";

impl Origin {
    /// Opens an initialised data directory, its database the SQLite file in it.
    pub fn open(data_dir: &Path, clock: Clock) -> Result<Origin, OriginError> {
        Origin::open_with(data_dir, &store::Database::in_data_dir(data_dir), clock)
    }

    /// Opens an initialised data directory whose database is `database`, with the
    /// key-encryption key of [`kek::KEK_ENV`] if set (PostgreSQL needs one).
    pub fn open_with(
        data_dir: &Path,
        database: &store::Database,
        clock: Clock,
    ) -> Result<Origin, OriginError> {
        Origin::open_with_kek(data_dir, database, kek::Kek::resolve(None)?, clock)
    }

    /// Opens an initialised data directory whose database is `database`; `kek`
    /// opens the private keys sealed in a PostgreSQL database.
    pub fn open_with_kek(
        data_dir: &Path,
        database: &store::Database,
        kek: Option<kek::Kek>,
        clock: Clock,
    ) -> Result<Origin, OriginError> {
        let mut conn = store::open(data_dir, database, false)?;
        let key_store = key_store::KeyStore::for_database(&conn, data_dir, kek)?;
        key_store.import_files(&mut conn, data_dir)?;
        let config_path = data_dir.join(CONFIG_FILE);
        let config = match std::fs::read_to_string(&config_path) {
            Ok(text) => OriginConfig::from_toml_in(&text, data_dir)
                .map_err(|e| OriginError::Config(format!("{}: {e}", config_path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => OriginConfig::default(),
            Err(e) => {
                return Err(OriginError::Io(format!(
                    "cannot read {}: {e}",
                    config_path.display()
                )))
            }
        };
        let keys = keys::SigningKeys::load(&conn, &key_store)?;
        let origin = Origin {
            www: StaticFiles::from_source_tree(),
            db: db::pool::Connections::new(
                conn,
                match database {
                    store::Database::Postgres(url) => Some(url.as_str()),
                    store::Database::Sqlite(_) => None,
                },
            ),
            config,
            keys: Mutex::new(keys),
            key_store,
            database: database.clone(),
            data_dir: data_dir.to_path_buf(),
            clock,
        };
        // Events a crash left unconsumed (or written by `init`) are consumed now.
        origin.write(|_| Ok(()))?;
        Ok(origin)
    }

    /// The current time, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    fn lock_db(&self) -> Result<db::pool::Connection<'_>, OriginError> {
        Ok(self.db.get()?)
    }

    /// Runs `f` in one transaction, committed only if it succeeds; the outbox's
    /// transactional consumers consume what `f` emitted in the same transaction.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Op<'_>) -> Result<T, OriginError>,
    ) -> Result<T, OriginError> {
        let mut conn = self.lock_db()?;
        let tx = conn.transaction()?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        self.follow_rotation(&tx, &mut keys)?;
        let op = Op {
            db: &tx,
            config: &self.config,
            keys: &keys,
            now_ms: self.now_ms(),
        };
        let out = f(&op)?;
        outbox::dispatch(&op, &outbox::consumers())?;
        drop(keys);
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` against the database without writing.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Op<'_>) -> Result<T, OriginError>,
    ) -> Result<T, OriginError> {
        let conn = self.lock_db()?;
        // A copy: reads on other connections do not wait for a write's keys.
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let op = Op {
            db: &conn,
            config: &self.config,
            keys: &keys,
            now_ms: self.now_ms(),
        };
        f(&op)
    }

    /// Rotates the signing key and republishes every environment with the new key.
    pub fn rotate_key(
        &self,
        actor: &str,
        overlap: Option<std::time::Duration>,
    ) -> Result<api::Rotation, OriginError> {
        let mut conn = self.lock_db()?;
        let tx = conn.transaction()?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        self.follow_rotation(&tx, &mut keys)?;
        let now_ms = self.now_ms();
        let overlap = overlap.unwrap_or(self.config.rotation_overlap);
        let mut next = keys.clone();
        let report = next.rotate(&tx, &self.key_store, now_ms, overlap)?;
        let op = Op {
            db: &tx,
            config: &self.config,
            keys: &next,
            now_ms,
        };
        let details = serde_json::to_value(&report)?;
        audit::record(&op, actor, "keys.rotated", "keys", details)?;
        for env in publish::environment_names(op.db)? {
            publish::publish(&op, &env)?;
        }
        outbox::dispatch(&op, &outbox::consumers())?;
        tx.commit()?;
        *keys = next;
        Ok(report)
    }
}

impl Origin {
    /// On PostgreSQL, takes up the keys another replica rotated to (see
    /// [`keys::SigningKeys::refresh`]); inside a write transaction, under the write
    /// lock, so what this write signs with is the database's active key. SQLite has
    /// one server: its keys change only through it.
    fn follow_rotation(&self, db: &Db, keys: &mut keys::SigningKeys) -> Result<(), OriginError> {
        if db.is_postgres() && keys.refresh(db, &self.key_store)? {
            log(format_args!(
                "signing keys: now signing with {} (rotated by another replica)",
                keys.active_id()
            ));
        }
        Ok(())
    }

    /// Takes up a rotation another replica made, outside any write (the event
    /// watcher calls it a few times a second, so a replica's `GET /keys` and
    /// snapshots follow within a second, not at its next write).
    pub fn follow_key_rotation(&self) -> Result<(), OriginError> {
        let conn = self.lock_db()?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        self.follow_rotation(&conn, &mut keys)
    }

    /// The database this origin was opened on.
    pub fn database(&self) -> &store::Database {
        &self.database
    }

    /// Whether the private keys are sealed in the database.
    pub fn keys_sealed(&self) -> bool {
        self.key_store.is_sealed()
    }
}

/// One operation's view of the origin: the transaction (or connection), settings,
/// keys and the time the operation happens at.
pub struct Op<'a> {
    /// The database, inside the operation's transaction when writing.
    pub db: &'a Db,
    /// Settings.
    pub config: &'a OriginConfig,
    /// Signing keys.
    pub keys: &'a keys::SigningKeys,
    /// The operation's time, epoch milliseconds.
    pub now_ms: i64,
}

impl Op<'_> {
    /// The operation's time as RFC 3339.
    pub fn now(&self) -> String {
        rfc3339(self.now_ms)
    }
}

/// What `vexil init` created.
#[derive(Debug, Clone)]
pub struct InitOutput {
    /// The database, as [`store::Database::describe`] names it (no password).
    pub database: String,
    /// The admin bearer token, shown once.
    pub admin_token: String,
    /// Id of the signing key.
    pub key_id: String,
    /// Whether the private keys are sealed in the database (PostgreSQL), not in
    /// the data directory's `keys/`.
    pub keys_sealed: bool,
    /// Environments created.
    pub environments: Vec<String>,
}

/// The environments every origin starts with.
pub const DEFAULT_ENVIRONMENTS: &[&str] = &["development", "staging", "production"];

/// Creates a data directory: schema, signing key (mode 0600), settings, the default
/// environments with a first (empty) snapshot each, and an admin token. The database
/// is `database` (see [`store::Database::from_url`]; `None`: `vexil.db` in the data
/// directory), which must not hold an origin already. The key-encryption key, which
/// PostgreSQL needs, is [`kek::KEK_ENV`]'s.
pub fn init(data_dir: &Path, database: Option<&str>) -> Result<InitOutput, OriginError> {
    init_with_kek(data_dir, database, kek::Kek::resolve(None)?)
}

/// [`init`] with the key-encryption key `kek` (sealing the private keys in a
/// PostgreSQL database; not used on SQLite).
pub fn init_with_kek(
    data_dir: &Path,
    database: Option<&str>,
    kek: Option<kek::Kek>,
) -> Result<InitOutput, OriginError> {
    let io = |what: &str, e: std::io::Error| OriginError::Io(format!("cannot {what}: {e}"));
    let database = store::Database::from_url(database, data_dir)?;
    let taken = || {
        OriginError::Conflict(if database == store::Database::in_data_dir(data_dir) {
            format!(
                "{} is already initialised (it has {}); use another directory",
                data_dir.display(),
                store::DB_FILE
            )
        } else {
            format!(
                "the database {} already holds a Vexil origin; use another database",
                database.describe()
            )
        })
    };
    if let store::Database::Sqlite(path) = &database {
        if path.exists() {
            return Err(taken());
        }
    }
    // The data directory of an origin already (whose database may be elsewhere).
    if let Some(marker) = key_store::initialised_marker(data_dir) {
        return Err(OriginError::Conflict(format!(
            "{} is already initialised (it has {}); use another directory",
            data_dir.display(),
            marker.display()
        )));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| io(&format!("create {}", data_dir.display()), e))?;
    let mut conn = store::open(data_dir, &database, true)?;
    // Before anything is written: PostgreSQL without a KEK is refused here.
    let key_store = key_store::KeyStore::for_database(&conn, data_dir, kek)?;
    let environments: i64 =
        conn.query_row("SELECT COUNT(*) FROM environments", db::params![], |r| {
            r.get(0)
        })?;
    if environments > 0 {
        return Err(taken());
    }
    let config_path = data_dir.join(CONFIG_FILE);
    if !config_path.exists() {
        std::fs::write(&config_path, config::DEFAULT_TOML)
            .map_err(|e| io(&format!("write {}", config_path.display()), e))?;
    }
    let now_ms = system_now_ms();
    let tx = conn.transaction()?;
    let signing = keys::SigningKeys::create_first(&tx, &key_store, data_dir, now_ms)?;
    let config = OriginConfig::default();
    let op = Op {
        db: &tx,
        config: &config,
        keys: &signing,
        now_ms,
    };
    for env in DEFAULT_ENVIRONMENTS {
        publish::create_environment(&op, "system", env)?;
    }
    let admin = auth::create_token(&op, "admin", &["admin".to_string()])?;
    audit::record(
        &op,
        "system",
        "origin.initialised",
        "origin",
        serde_json::json!({ "key_id": signing.active_id(), "environments": DEFAULT_ENVIRONMENTS }),
    )?;
    outbox::dispatch(&op, &outbox::consumers())?;
    tx.commit()?;
    Ok(InitOutput {
        database: database.describe(),
        admin_token: admin.token,
        key_id: signing.active_id().to_string(),
        keys_sealed: key_store.is_sealed(),
        environments: DEFAULT_ENVIRONMENTS.iter().map(|s| s.to_string()).collect(),
    })
}

/// Options of `vexil serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The data directory made by [`init`].
    pub data_dir: PathBuf,
    /// The database URL given to [`init`] (`None`: `vexil.db` in the data directory).
    pub database: Option<String>,
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free one).
    pub listen: String,
    /// A directory holding `www/` (the console) and `pkg/` (the package) to serve;
    /// default: this source tree's, when present.
    pub www_root: Option<PathBuf>,
    /// Serve HTTPS with this certificate and key (HSTS on every answer).
    pub tls: Option<tls::TlsFiles>,
    /// `GET /metrics` without credentials (default: a token that may read).
    pub public_metrics: bool,
    /// The key-encryption key (PostgreSQL: it opens the private keys sealed in the
    /// database).
    pub kek: Option<kek::Kek>,
}

/// Runs the server until SIGINT or SIGTERM. Prints `listening on http://ADDR` (or
/// `https://`) once bound.
pub fn serve(options: ServeOptions) -> Result<(), OriginError> {
    // A bad certificate or key fails before anything opens or binds.
    let tls = match &options.tls {
        Some(files) => Some(files.server_config()?),
        None => None,
    };
    let database = store::Database::from_url(options.database.as_deref(), &options.data_dir)?;
    let mut origin = Origin::open_with_kek(
        &options.data_dir,
        &database,
        options.kek.clone(),
        clock_from_env(),
    )?;
    if let Some(root) = &options.www_root {
        origin.www = Some(StaticFiles::under(root).ok_or_else(|| {
            OriginError::Config(format!("{} has no www/ directory to serve", root.display()))
        })?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| OriginError::Io(format!("cannot start the async runtime: {e}")))?;
    let how = http::Listening {
        tls,
        public_metrics: options.public_metrics,
    };
    runtime.block_on(http::serve(Arc::new(origin), &options.listen, how))
}

/// Verifies the audit chain stored in an origin's database (`database` as given to
/// [`init`]) with its audit key (of the data directory, or sealed in the database and
/// opened with [`kek::KEK_ENV`]'s key); returns the number of entries.
pub fn verify_data_dir(data_dir: &Path, database: Option<&str>) -> Result<u64, OriginError> {
    verify_data_dir_with_kek(data_dir, database, kek::Kek::resolve(None)?)
}

/// [`verify_data_dir`] with the key-encryption key `kek`.
pub fn verify_data_dir_with_kek(
    data_dir: &Path,
    database: Option<&str>,
    kek: Option<kek::Kek>,
) -> Result<u64, OriginError> {
    let database = store::Database::from_url(database, data_dir)?;
    let conn = store::open(data_dir, &database, false)?;
    let key_store = key_store::KeyStore::for_database(&conn, data_dir, kek)?;
    audit::verify_stored(&conn, &key_store.audit(&conn)?)
}
