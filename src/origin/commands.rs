//! The origin's commands as a process runs them: `vexil init` (a new data
//! directory and database), `vexil serve` (the API until a signal) and
//! `vexil audit verify` (the stored chain checked offline).

use super::{
    audit, auth, clock_from_env, config, db, http, kek, key_store, keys, outbox, publish, store,
    system_now_ms, tls, Op, Origin, OriginConfig, OriginError, StaticFiles, CONFIG_FILE,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
