//! The store: the schema, its migrations for both back ends (`sqlite.rs` and
//! `postgres.rs`, one text each per version) and opening the origin's database
//! through [`Db`].
//!
//! Every write the origin makes runs in one transaction, so a crash loses nothing
//! committed and leaves nothing half-applied. The audit table refuses updates,
//! deletes (and on PostgreSQL truncation) through triggers; the hash chain detects
//! tampering that bypasses them.

use super::db::{params, Db};
use super::OriginError;
use std::path::Path;

mod database;
mod postgres;
mod sqlite;

pub use database::{redacted, Database};

/// How many migrations there are; each back end has one text per version, in order.
/// `PRAGMA user_version` (SQLite) or the table `vexil_schema` (PostgreSQL) records
/// how many ran. Never edit a released migration: add a new one, in both files.
///
/// The runner is hand-written, and serves both back ends, because no well-kept
/// runner links beside rusqlite 0.43 (checked 2026-12-07): refinery-core 0.10
/// accepts rusqlite up to 0.40 / 0.41, and rusqlite_migration 2.6 requires 0.40
/// (and is SQLite-only). It is small: each migration in its own transaction, the
/// version written in the same transaction, and on PostgreSQL an advisory lock held
/// by that transaction so replicas starting together migrate one after the other.
const COUNT: usize = 10;

/// The advisory lock PostgreSQL migrations hold (`pg_advisory_xact_lock`): any
/// constant every vexil agrees on ("vexil" in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x7665_7869_6c00_0001;

/// The migrations' texts for the back end of `db`.
fn migrations(db: &Db) -> &'static [&'static str; COUNT] {
    if db.is_postgres() {
        &postgres::MIGRATIONS
    } else {
        &sqlite::MIGRATIONS
    }
}

/// The database file inside a data directory.
pub const DB_FILE: &str = "vexil.db";

/// Opens (creating if asked) the database of the origin whose data directory is
/// `data_dir`, and brings its schema up to date. Not creating, a database `vexil
/// init` never prepared is refused, naming the command that prepares it.
pub fn open(data_dir: &Path, database: &Database, create: bool) -> Result<Db, OriginError> {
    let not_initialised = |what: String| {
        let flag = if *database == Database::in_data_dir(data_dir) {
            String::new()
        } else {
            format!(" --database {}", database.describe())
        };
        OriginError::Config(format!(
            "{what}: run `vexil init --data {}{flag}` first",
            data_dir.display()
        ))
    };
    let mut conn = match database {
        Database::Sqlite(path) => {
            if !create && !path.exists() {
                let default = path == &data_dir.join(DB_FILE);
                if default && super::key_store::initialised_marker(data_dir).is_some() {
                    return Err(OriginError::Config(format!(
                        "{} has no {DB_FILE}: its database is elsewhere; give it with \
                         --database URL (or VEXIL_DATABASE_URL)",
                        data_dir.display()
                    )));
                }
                return Err(not_initialised(match default {
                    true => format!("{} has no Vexil database", data_dir.display()),
                    false => format!("{} does not exist", path.display()),
                }));
            }
            Db::open_sqlite(path)?
        }
        Database::Postgres(url) => {
            let conn = Db::connect_postgres(url).map_err(|e| {
                OriginError::Config(format!(
                    "cannot connect to PostgreSQL at {}: {e}",
                    database.describe()
                ))
            })?;
            if !create && conn.schema_version()? == 0 {
                return Err(not_initialised(format!(
                    "the PostgreSQL database {} has no Vexil schema",
                    database.describe()
                )));
            }
            conn
        }
    };
    migrate(&mut conn)?;
    Ok(conn)
}

/// Applies the migrations the database has not seen, each in its own transaction
/// (on PostgreSQL holding [`MIGRATION_LOCK`], the version read again under it: a
/// replica that waited finds the work done).
pub fn migrate(conn: &mut Db) -> Result<(), OriginError> {
    let texts = migrations(conn);
    loop {
        let tx = conn.transaction()?;
        if tx.is_postgres() {
            tx.query_row(
                "SELECT 1 FROM (SELECT pg_advisory_xact_lock(?1)) AS locked",
                params![MIGRATION_LOCK],
                |r| r.get::<i64>(0),
            )?;
        }
        let applied = tx.schema_version()?.max(0) as usize;
        if applied > COUNT {
            return Err(OriginError::Config(format!(
                "the database has schema version {applied}; this vexil knows {COUNT}: upgrade vexil"
            )));
        }
        let Some(sql) = texts.get(applied) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.set_schema_version((applied + 1) as i64)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests;
