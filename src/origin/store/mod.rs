//! The store: the schema, its migrations for both back ends (`sqlite.rs` and
//! `postgres.rs`, one text each per version) and opening the origin's database
//! through [`Db`].
//!
//! Every write the origin makes runs in one transaction, so a crash loses nothing
//! committed and leaves nothing half-applied. The audit table refuses updates,
//! deletes (and on PostgreSQL truncation) through triggers; the hash chain detects
//! tampering that bypasses them.

use super::db::{params, Db, DbError};
use super::OriginError;
use refinery::{Migration, Runner, Target};
use std::path::Path;

mod database;
mod postgres;
mod sqlite;

/// The PostgreSQL migrations' texts (tests make databases as older versions left
/// them).
#[doc(hidden)]
pub use self::postgres::MIGRATIONS as POSTGRES_MIGRATIONS;
pub use database::{redacted, Database};

/// How many migrations there are; each back end has one text per version, in order.
/// Never edit a released migration (refinery refuses a database whose recorded
/// checksum differs): add a new one, in both files.
///
/// The runner is refinery (0.10): each text is the migration `V{n}__schema`, applied
/// in its own transaction and recorded in refinery's table
/// `refinery_schema_history` in the same one. refinery-core 0.10 accepts rusqlite
/// only up to 0.41, which is why rusqlite is held at 0.41 (Cargo.toml). On
/// PostgreSQL the run holds the session advisory lock [`MIGRATION_LOCK`], since
/// refinery takes none: replicas starting together migrate one after the other,
/// and a replica that waited finds the work done.
///
/// Vexil migrated with a hand-written runner before, which recorded how many
/// migrations ran in `PRAGMA user_version` (SQLite) or the table `vexil_schema`
/// (PostgreSQL). A database it left, with no refinery history, has those
/// migrations recorded as applied first (in one transaction, with the checksums
/// refinery computes, none run again); refinery then applies the rest.
const COUNT: usize = 10;

/// The advisory lock PostgreSQL migrations hold (`pg_advisory_lock`, for the
/// session): any constant every vexil agrees on ("vexil" in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x7665_7869_6c00_0001;

/// refinery's history table (its default name).
const HISTORY: &str = "refinery_schema_history";

/// The migrations for the back end of `db`, as refinery's `V1__schema`,
/// `V2__schema`…
fn migrations(db: &Db) -> Result<Vec<Migration>, OriginError> {
    let texts: &[&str; COUNT] = if db.is_postgres() {
        &postgres::MIGRATIONS
    } else {
        &sqlite::MIGRATIONS
    };
    texts
        .iter()
        .enumerate()
        .map(|(i, sql)| {
            Migration::unapplied(&format!("V{}__schema", i + 1), sql)
                .map_err(|e| OriginError::Internal(format!("migration {}: {e}", i + 1)))
        })
        .collect()
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
            if !create && schema_version(&conn)? == 0 {
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

/// The schema version: the last migration refinery recorded, or for a database
/// the hand-written runner left, the version it recorded; 0 for an empty database.
pub fn schema_version(conn: &Db) -> Result<i64, OriginError> {
    let (recorded, last) = history(conn)?;
    Ok(if recorded > 0 {
        last
    } else {
        conn.schema_version()?
    })
}

/// How many migrations refinery's history records, and the last one's version.
fn history(conn: &Db) -> Result<(i64, i64), OriginError> {
    if !conn.has_table(HISTORY)? {
        return Ok((0, 0));
    }
    Ok(conn.query_row(
        &format!("SELECT count(*), CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM {HISTORY}"),
        params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Applies the migrations the database has not seen, through refinery (on
/// PostgreSQL holding [`MIGRATION_LOCK`] for the whole run), after recording in
/// refinery's history those the hand-written runner applied, if it was the last to
/// migrate this database.
pub fn migrate(conn: &mut Db) -> Result<(), OriginError> {
    if !conn.is_postgres() {
        return run_migrations(conn);
    }
    conn.query_row(
        "SELECT 1 FROM (SELECT pg_advisory_lock(?1)) AS locked",
        params![MIGRATION_LOCK],
        |r| r.get::<i64>(0),
    )?;
    let migrated = run_migrations(conn);
    // Released even when the run failed (the session would hold it otherwise); a
    // connection too broken to release it takes the lock with it as it closes.
    let released = conn.query_row(
        "SELECT pg_advisory_unlock(?1)",
        params![MIGRATION_LOCK],
        |r| r.get::<bool>(0),
    );
    migrated?;
    released?;
    Ok(())
}

fn run_migrations(conn: &mut Db) -> Result<(), OriginError> {
    let migrations = migrations(conn)?;
    let too_new = |version: i64| {
        OriginError::Config(format!(
            "the database has schema version {version}; this vexil knows {COUNT}: upgrade vexil"
        ))
    };
    // refinery's message says what it was doing; its sources, why ("db error:
    // relation … already exists").
    let failed = |e: refinery::Error| {
        let mut message = format!("migrating the schema: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        OriginError::Db(DbError::Backend(message))
    };
    let (recorded, last) = history(conn)?;
    if last > COUNT as i64 {
        return Err(too_new(last));
    }
    if recorded == 0 {
        let legacy = conn.schema_version()?;
        if legacy > COUNT as i64 {
            return Err(too_new(legacy));
        }
        if legacy > 0 {
            // Left by the hand-written runner: its migrations recorded as applied,
            // all in one transaction, none run.
            let adopt = Runner::new(&migrations)
                .set_target(Target::FakeVersion(legacy as i32))
                .set_grouped(true);
            conn.with_driver(|c| adopt.run(c), |c| adopt.run(c))?
                .map_err(failed)?;
        }
    }
    let runner = Runner::new(&migrations);
    conn.with_driver(|c| runner.run(c), |c| runner.run(c))?
        .map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests;
