//! The SQLite back end, over rusqlite: the only file that names it (with the
//! in-memory test database and integration tests that open files directly;
//! `Db::with_driver` hands its connection to refinery as [`Driver`]).

use super::{DbError, Param, ToParam, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode};
use std::path::Path;

/// rusqlite's connection ([`super::Db::with_driver`]).
pub(super) type Driver = Connection;

/// A row as rusqlite gives it.
pub(super) type RowRef<'a> = rusqlite::Row<'a>;

/// How many prepared statements stay cached: the origin has about 150 distinct ones,
/// the hot ones far fewer.
const STATEMENT_CACHE: usize = 128;

pub(super) struct Sqlite {
    conn: Connection,
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::ConstraintViolation => DbError::Constraint(e.to_string()),
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => DbError::Busy(e.to_string()),
                _ => DbError::Backend(e.to_string()),
            },
            _ => DbError::Backend(e.to_string()),
        }
    }
}

/// Column `i` of `row`, borrowed.
pub(super) fn value<'a>(row: &'a RowRef<'a>, i: usize) -> Result<Value<'a>, DbError> {
    Ok(match row.get_ref(i)? {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => {
            Value::Text(std::str::from_utf8(t).map_err(|_| DbError::Conversion {
                column: i,
                expected: "text",
                found: "text that is not UTF-8",
            })?)
        }
        ValueRef::Blob(b) => Value::Blob(b),
    })
}

fn bind<'p>(params: &'p [&'p dyn ToParam]) -> Result<Vec<ToSqlOutput<'p>>, DbError> {
    params
        .iter()
        .map(|p| {
            Ok(ToSqlOutput::Borrowed(match p.to_param()? {
                Param::Null => ValueRef::Null,
                Param::Integer(n) => ValueRef::Integer(n),
                Param::Real(r) => ValueRef::Real(r),
                Param::Text(t) => ValueRef::Text(t.as_bytes()),
                Param::Blob(b) => ValueRef::Blob(b),
            }))
        })
        .collect()
}

impl Sqlite {
    pub(super) fn open(path: &Path) -> Result<Sqlite, DbError> {
        let conn = Connection::open(path)?;
        // WAL keeps readers off the writer's back; FULL sync makes a commit durable.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::configure(conn)
    }

    pub(super) fn open_in_memory() -> Result<Sqlite, DbError> {
        Self::configure(Connection::open_in_memory()?)
    }

    fn configure(conn: Connection) -> Result<Sqlite, DbError> {
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Sqlite { conn })
    }

    pub(super) fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<usize, DbError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(bind(params)?))?)
    }

    pub(super) fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    pub(super) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&RowRef<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(bind(params)?))?;
        match rows.next()? {
            Some(row) => f(row).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut f: impl FnMut(&RowRef<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(bind(params)?))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(f(row)?);
        }
        Ok(out)
    }

    /// rusqlite's own connection, for a library that drives it (the migrations).
    pub(super) fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(super) fn user_version(&self) -> Result<i64, DbError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    pub(super) fn set_user_version(&self, version: i64) -> Result<(), DbError> {
        Ok(self.conn.pragma_update(None, "user_version", version)?)
    }
}
