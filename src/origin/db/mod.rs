//! The database layer: every statement the origin runs goes through [`Db`], so the
//! origin's code names no driver and one SQL text serves every back end.
//!
//! - [`Db`]: a connection; [`Db::execute`], [`Db::query_row`], [`Db::query_opt`],
//!   [`Db::query`] and [`Db::execute_batch`], and [`Db::transaction`], whose [`Tx`]
//!   derefs to the same [`Db`] and rolls back unless committed;
//! - [`Row`]: a result row, read by index with [`Row::get`] as any [`FromValue`];
//! - parameters: `params![a, b]`, a slice of [`ToParam`] (text, integers, reals,
//!   booleans as 0/1, blobs, `Option` as `NULL`);
//! - [`DbError`]: typed failures, with no driver type in them.
//!
//! SQL is written in the dialect SQLite and PostgreSQL share: numbered placeholders
//! `?1`, `?2`… (translated for PostgreSQL by [`placeholders::numbered_dollar`]),
//! `INSERT … ON CONFLICT … DO NOTHING / DO UPDATE` (the stored row's columns
//! qualified by the table in `DO UPDATE SET`), `RETURNING id` instead of the last
//! inserted row id, `CAST(?1 AS TEXT) IS NULL` where a parameter's type would
//! otherwise be unknown to PostgreSQL, and no function only one of them has. The
//! schema is each back end's own (`store/sqlite.rs`, `store/postgres.rs`: the same
//! tables, translated type for type), so the origin's statements run unchanged on
//! both: SQLite (`sqlite.rs`) and PostgreSQL (`postgres.rs`).

mod error;
pub mod placeholders;
pub mod pool;
mod postgres;
mod postgres_tls;
mod sqlite;
mod value;

pub use error::DbError;
pub use value::{FromValue, Mismatch, Param, ToParam, Value};

/// Parameters for a statement: `params![env, key]` is `&[&env, &key]` as a slice of
/// [`ToParam`]; `params![]` binds none.
pub use crate::__db_params as params;

use std::path::Path;

/// Where the hand-written runner that preceded refinery kept the schema version on
/// PostgreSQL (it has no `user_version`).
const SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS vexil_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
)";

/// The transaction-level advisory lock (`pg_advisory_xact_lock`) every PostgreSQL
/// transaction takes as its first statement ("vexil" in ASCII, then 2; the
/// migrations' lock is …1). Replicas on one database then write one at a time, as
/// SQLite's single writer does: each write reads the audit chain's head, the
/// environment's last snapshot version and the batches already ingested, and
/// decides from them; without the lock two replicas would decide from the same
/// state (a forked chain, a version taken twice, a batch counted twice), and outbox
/// sequence numbers could commit out of order, so that the event watcher, reading
/// by sequence, would pass over one committed late. The lock is released at commit
/// or rollback, or when the connection closes (a replica killed mid-write).
pub const WRITE_LOCK: i64 = 0x7665_7869_6c00_0002;

/// A database connection. Statements take `&self`; a transaction takes the
/// connection (`&mut self`) for as long as it is open.
pub struct Db {
    backend: Backend,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    // Boxed: the client and its statement cache are three times SQLite's handle.
    Postgres(Box<postgres::Postgres>),
}

/// One row of a result, valid inside the closure that reads it.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a sqlite::RowRef<'a>),
    Postgres(&'a postgres::RowRef),
}

impl Row<'_> {
    /// Column `i` (from 0) as `T`; a mismatched or out-of-range value is
    /// [`DbError::Conversion`].
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        let value = match &self.inner {
            RowInner::Sqlite(row) => sqlite::value(row, i)?,
            RowInner::Postgres(row) => postgres::value(row, i)?,
        };
        T::from_value(value).map_err(|m| DbError::Conversion {
            column: i,
            expected: m.expected,
            found: m.found,
        })
    }
}

impl Db {
    /// Opens (creating it if missing) the SQLite database at `path`, in WAL mode,
    /// with durable commits, foreign keys enforced and a 5 s busy timeout.
    pub fn open_sqlite(path: &Path) -> Result<Db, DbError> {
        Ok(Db {
            backend: Backend::Sqlite(sqlite::Sqlite::open(path)?),
        })
    }

    /// A fresh in-memory SQLite database (tests).
    pub fn open_sqlite_in_memory() -> Result<Db, DbError> {
        Ok(Db {
            backend: Backend::Sqlite(sqlite::Sqlite::open_in_memory()?),
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user@host/db`),
    /// secured as its `sslmode` and `sslrootcert` say.
    pub fn connect_postgres(url: &str) -> Result<Db, DbError> {
        Ok(Db {
            backend: Backend::Postgres(Box::new(postgres::Postgres::connect(url)?)),
        })
    }

    /// Whether the connection is gone (a PostgreSQL server that closed it); an
    /// SQLite file never is.
    pub fn is_closed(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            Backend::Postgres(db) => db.is_closed(),
        }
    }

    /// Whether this is a PostgreSQL connection (the schema's migrations, and the
    /// few statements only one back end has, differ).
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<usize, DbError> {
        match &self.backend {
            Backend::Sqlite(db) => db.execute(sql, params),
            Backend::Postgres(db) => db.execute(sql, params),
        }
    }

    /// Runs statements separated by `;`, without parameters (schema changes).
    pub fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(db) => db.execute_batch(sql),
            Backend::Postgres(db) => db.execute_batch(sql),
        }
    }

    /// The first row of a query, read by `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, f)?.ok_or(DbError::NoRows)
    }

    /// The first row of a query, read by `f`, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        match &self.backend {
            Backend::Sqlite(db) => db.query_opt(sql, params, |r| {
                f(&Row {
                    inner: RowInner::Sqlite(r),
                })
            }),
            Backend::Postgres(db) => db.query_opt(sql, params, |r| {
                f(&Row {
                    inner: RowInner::Postgres(r),
                })
            }),
        }
    }

    /// Every row of a query, each read by `f`, in the query's order.
    pub fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        match &self.backend {
            Backend::Sqlite(db) => db.query(sql, params, |r| {
                f(&Row {
                    inner: RowInner::Sqlite(r),
                })
            }),
            Backend::Postgres(db) => db.query(sql, params, |r| {
                f(&Row {
                    inner: RowInner::Postgres(r),
                })
            }),
        }
    }

    /// Runs `sqlite` on rusqlite's `Connection`, or `postgres` on the `postgres`
    /// crate's `Client`, whichever this is: for a library that drives the
    /// connection itself (the schema's migrations, through refinery), so that only
    /// this module names the drivers. Not inside a [`Tx`] (it takes `&mut self`).
    pub fn with_driver<T>(
        &mut self,
        sqlite: impl FnOnce(&mut sqlite::Driver) -> T,
        postgres: impl FnOnce(&mut postgres::Driver) -> T,
    ) -> Result<T, DbError> {
        match &mut self.backend {
            Backend::Sqlite(db) => Ok(sqlite(db.connection())),
            Backend::Postgres(db) => db.with_client(postgres),
        }
    }

    /// Whether the table `name` exists (on PostgreSQL, in the current schema).
    pub fn has_table(&self, name: &str) -> Result<bool, DbError> {
        let sql = match &self.backend {
            Backend::Sqlite(_) => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
            }
            Backend::Postgres(_) => {
                "SELECT count(*) FROM pg_catalog.pg_tables
                 WHERE schemaname = current_schema() AND tablename = ?1"
            }
        };
        Ok(self.query_row(sql, params![name], |r| r.get::<i64>(0))? > 0)
    }

    /// The schema version the hand-written runner that preceded refinery recorded:
    /// how many migrations it ran (SQLite: `PRAGMA user_version`; PostgreSQL: the
    /// one-row table `vexil_schema`, 0 without it). `store::migrate` reads it once,
    /// to record those migrations in refinery's history.
    pub fn schema_version(&self) -> Result<i64, DbError> {
        match &self.backend {
            Backend::Sqlite(db) => db.user_version(),
            Backend::Postgres(_) => {
                if !self.has_table("vexil_schema")? {
                    return Ok(0);
                }
                let version = self.query_opt(
                    "SELECT version FROM vexil_schema WHERE id = 1",
                    params![],
                    |r| r.get(0),
                )?;
                Ok(version.unwrap_or(0))
            }
        }
    }

    /// Records the schema version as the hand-written runner did (tests make
    /// databases as it left them with this).
    pub fn set_schema_version(&self, version: i64) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(db) => db.set_user_version(version),
            Backend::Postgres(_) => {
                self.execute_batch(SCHEMA_TABLE)?;
                self.execute(
                    "INSERT INTO vexil_schema (id, version) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET version = ?1",
                    params![version],
                )?;
                Ok(())
            }
        }
    }

    /// Begins a transaction: statements through the [`Tx`] (it derefs to this `Db`)
    /// take effect together at [`Tx::commit`], or not at all if it is dropped.
    /// On PostgreSQL it first waits for [`WRITE_LOCK`].
    pub fn transaction(&mut self) -> Result<Tx<'_>, DbError> {
        match &self.backend {
            Backend::Sqlite(db) => db.execute_batch("BEGIN")?,
            Backend::Postgres(db) => db.begin_serialised(WRITE_LOCK)?,
        }
        Ok(Tx {
            db: self,
            open: true,
        })
    }
}

/// A PostgreSQL connection that listens for notifications on one channel (see
/// [`Listener::wait`]); other sessions notify with `SELECT pg_notify(channel, …)`.
pub struct Listener(postgres::Listener);

impl Listener {
    /// Connects to the PostgreSQL database at `url` and runs `LISTEN channel`
    /// (`channel`: a plain lower-case identifier).
    pub fn connect(url: &str, channel: &str) -> Result<Listener, DbError> {
        Ok(Listener(postgres::Listener::connect(url, channel)?))
    }

    /// Blocks up to `timeout` for a notification; whether one (or more) came. A
    /// closed connection is an error: connect again.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, DbError> {
        self.0.wait(timeout)
    }
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub struct Tx<'a> {
    db: &'a mut Db,
    open: bool,
}

impl Tx<'_> {
    /// Commits. If the commit fails, the transaction rolls back when dropped.
    pub fn commit(mut self) -> Result<(), DbError> {
        self.db.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: the operation already failed, and a connection
            // whose rollback failed is one SQLite and PostgreSQL both roll back anyway.
            let _ = self.db.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests;
