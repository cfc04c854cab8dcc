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
//! - [`http`]: the axum API over them; [`Origin`] ties state together, and
//!   `commands.rs` runs `init`, `serve` and `audit verify` over it.

pub mod api;
pub mod audit;
pub mod auth;
pub mod batch_checks;
pub mod changes;
mod commands;
pub mod config;
pub mod db;
pub mod edge_metrics;
mod error;
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

pub use commands::{
    init, init_with_kek, serve, verify_data_dir, verify_data_dir_with_kek, InitOutput,
    ServeOptions, DEFAULT_ENVIRONMENTS,
};
pub use error::OriginError;

use crate::engine::time::format_rfc3339_ms;
use config::OriginConfig;
use db::Db;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
