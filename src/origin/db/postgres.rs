//! The PostgreSQL back end, over the synchronous `postgres` client: the only file
//! that names it. `vexil serve --database postgres://…` runs on it; its tests run
//! against a throwaway server (tests/postgres_db.rs, tests/postgres_schema.rs).
//!
//! Statements are the shared dialect's: `?N` placeholders become `$N`
//! ([`numbered_dollar`]), each parameter is converted to the type the server
//! inferred for it, and each column is read by its type into a [`Value`].

use super::placeholders::numbered_dollar;
use super::postgres_tls;
use super::{DbError, Param, ToParam, Value};
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls, Row, Statement};
use std::cell::{RefCell, RefMut};
use std::collections::HashMap;

/// The client ([`super::Db::with_driver`]).
pub(super) type Driver = Client;

/// A row as the client gives it.
pub(super) type RowRef = Row;

/// How long connecting may take before it fails (an unreachable host would
/// otherwise wait for the system's TCP timeout, minutes).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many prepared statements a connection keeps; past it, the cache starts over.
const STATEMENT_CACHE: usize = 256;

pub(super) struct Postgres {
    // The client takes `&mut self` for every statement; the layer's statements take
    // `&self`, and one connection is used by one operation at a time (the origin
    // holds it behind a mutex).
    // `None` only while being dropped (see `Drop`).
    client: RefCell<Option<Client>>,
    /// Statements prepared on this connection, by their text as written (`?N`): a
    /// statement run again costs one round trip, not two. Emptied by
    /// [`Postgres::execute_batch`], which may change the schema under them.
    statements: RefCell<HashMap<String, Statement>>,
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        let message = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            // The client's own errors say what failed, their sources why
            // ("error connecting to server: Connection refused (os error 111)").
            None => {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    message = format!("{message}: {cause}");
                    source = cause.source();
                }
                message
            }
        };
        match e.code() {
            Some(
                &SqlState::UNIQUE_VIOLATION
                | &SqlState::FOREIGN_KEY_VIOLATION
                | &SqlState::CHECK_VIOLATION
                | &SqlState::NOT_NULL_VIOLATION
                | &SqlState::EXCLUSION_VIOLATION
                | &SqlState::RAISE_EXCEPTION,
            ) => DbError::Constraint(message),
            Some(
                &SqlState::LOCK_NOT_AVAILABLE
                | &SqlState::T_R_SERIALIZATION_FAILURE
                | &SqlState::T_R_DEADLOCK_DETECTED,
            ) => DbError::Busy(message),
            _ => DbError::Backend(message),
        }
    }
}

/// Column `i` of `row`, borrowed, by the column's type.
pub(super) fn value(row: &RowRef, i: usize) -> Result<Value<'_>, DbError> {
    let ty = match row.columns().get(i) {
        Some(column) => column.type_().clone(),
        None => {
            return Err(DbError::Backend(format!(
                "no column {i}: the row has {}",
                row.len()
            )))
        }
    };
    let v = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|n| Value::Integer(n.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|n| Value::Integer(n.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|b| Value::Integer(b.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map(|r| Value::Real(r.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<&str>>(i)?.map(Value::Text)
        }
        Type::BYTEA => row.try_get::<_, Option<&[u8]>>(i)?.map(Value::Blob),
        _ => {
            return Err(DbError::Conversion {
                column: i,
                expected: "null, an integer, a real, text or a blob",
                found: "a PostgreSQL type the layer does not read (cast it in the query)",
            })
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

type Bound<'p> = Box<dyn ToSql + Sync + 'p>;

/// Runs `f`, which blocks on the client's own (current-thread) runtime. On a worker
/// thread of the origin's async runtime (a few of its tasks read the database
/// there directly, as SQLite lets them), through `block_in_place`: tokio refuses
/// to block on one runtime inside another.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// `param` as the Rust type the client writes for a parameter of type `ty`.
fn typed<'p>(param: Param<'p>, ty: &Type, n: usize) -> Result<Bound<'p>, DbError> {
    let refused = |what: &str| {
        DbError::Param(format!(
            "parameter ?{} is {what}, the statement wants {ty}",
            n + 1
        ))
    };
    let narrow = |what: &str| refused(&format!("{what} out of range"));
    Ok(match param {
        Param::Null => match *ty {
            Type::INT8 => Box::new(None::<i64>),
            Type::INT4 => Box::new(None::<i32>),
            Type::INT2 => Box::new(None::<i16>),
            Type::BOOL => Box::new(None::<bool>),
            Type::FLOAT8 => Box::new(None::<f64>),
            Type::FLOAT4 => Box::new(None::<f32>),
            Type::BYTEA => Box::new(None::<Vec<u8>>),
            _ => Box::new(None::<&str>),
        },
        Param::Integer(i) => match *ty {
            Type::INT8 => Box::new(i),
            Type::INT4 => Box::new(i32::try_from(i).map_err(|_| narrow("an integer"))?),
            Type::INT2 => Box::new(i16::try_from(i).map_err(|_| narrow("an integer"))?),
            Type::BOOL => Box::new(i != 0),
            Type::FLOAT8 => Box::new(i as f64),
            // SQLite stores an integer bound to a text column as its digits.
            Type::TEXT | Type::VARCHAR => Box::new(i.to_string()),
            _ => return Err(refused("an integer")),
        },
        // -0.0 stored as 0.0, as SQLite stores it (an integral real goes to disk as
        // an integer): both back ends read back the same value.
        Param::Real(r) => match *ty {
            Type::FLOAT8 => Box::new(r + 0.0),
            Type::FLOAT4 => Box::new((r + 0.0) as f32),
            _ => return Err(refused("a real")),
        },
        Param::Text(t) => match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Box::new(t),
            _ => return Err(refused("text")),
        },
        Param::Blob(b) => match *ty {
            Type::BYTEA => Box::new(b),
            _ => return Err(refused("a blob")),
        },
    })
}

/// A client connected to `url` (`postgres://user@host:port/database`), secured as
/// its `sslmode` and `sslrootcert` say ([`postgres_tls`]), giving up after
/// [`CONNECT_TIMEOUT`] unless the URL says otherwise (`connect_timeout=`).
fn connect_client(url: &str) -> Result<Client, DbError> {
    let secured = postgres_tls::secured(url)?;
    let mut config: Config = secured
        .url
        .parse()
        .map_err(|e: postgres::Error| DbError::Backend(format!("a bad URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok(match postgres_tls::connector(&secured)? {
        Some(tls) => config.connect(tls)?,
        None => config.connect(NoTls)?,
    })
}

impl Postgres {
    /// Connects to `url` ([`connect_client`]).
    pub(super) fn connect(url: &str) -> Result<Postgres, DbError> {
        Ok(Postgres {
            client: RefCell::new(Some(blocking(|| connect_client(url))?)),
            statements: RefCell::new(HashMap::new()),
        })
    }

    /// Whether the server closed the connection.
    pub(super) fn is_closed(&self) -> bool {
        self.client.borrow().as_ref().is_none_or(Client::is_closed)
    }

    fn client(&self) -> Result<RefMut<'_, Client>, DbError> {
        RefMut::filter_map(self.client.borrow_mut(), Option::as_mut)
            .map_err(|_| DbError::Backend("the connection is closed".into()))
    }

    /// Prepares `sql` (translated) and runs `f` with its parameters bound.
    fn with_statement<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&mut Client, &Statement, &[&(dyn ToSql + Sync)]) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        blocking(|| self.with_statement_blocking(sql, params, f))
    }

    fn with_statement_blocking<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&mut Client, &Statement, &[&(dyn ToSql + Sync)]) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut client = self.client()?;
        let cached = self.statements.borrow().get(sql).cloned();
        let statement = match cached {
            Some(statement) => statement,
            None => {
                let translated = numbered_dollar(sql).map_err(DbError::Backend)?;
                let statement = client.prepare(&translated)?;
                let mut statements = self.statements.borrow_mut();
                if statements.len() >= STATEMENT_CACHE {
                    statements.clear();
                }
                statements.insert(sql.to_string(), statement.clone());
                statement
            }
        };
        let types = statement.params();
        if types.len() != params.len() {
            return Err(DbError::Param(format!(
                "the statement has {} parameters, {} given",
                types.len(),
                params.len()
            )));
        }
        let bound = params
            .iter()
            .zip(types)
            .enumerate()
            .map(|(n, (p, ty))| typed(p.to_param()?, ty, n))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        f(&mut client, &statement, &refs)
    }

    pub(super) fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<usize, DbError> {
        self.with_statement(sql, params, |client, statement, bound| {
            let n = client.execute(statement, bound)?;
            usize::try_from(n).map_err(|_| DbError::Backend(format!("{n} rows changed")))
        })
    }

    pub(super) fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        if !matches!(sql, "BEGIN" | "COMMIT" | "ROLLBACK") {
            self.statements.borrow_mut().clear();
        }
        blocking(|| Ok(self.client()?.batch_execute(sql)?))
    }

    /// Begins a transaction holding the advisory lock `key` until it ends, in one
    /// round trip (the prepared statements stay: nothing here changes the schema).
    pub(super) fn begin_serialised(&self, key: i64) -> Result<(), DbError> {
        let sql = format!("BEGIN; SELECT pg_advisory_xact_lock({key})");
        blocking(|| Ok(self.client()?.batch_execute(&sql)?))
    }

    /// Runs `f` on the client itself, for a library that drives it (the
    /// migrations); the prepared statements go, as `f` may change the schema.
    pub(super) fn with_client<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> T,
    ) -> Result<T, DbError> {
        self.statements.get_mut().clear();
        let client = self
            .client
            .get_mut()
            .as_mut()
            .ok_or_else(|| DbError::Backend("the connection is closed".into()))?;
        Ok(blocking(|| f(client)))
    }

    pub(super) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&RowRef) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        self.rows(sql, params)?.first().map(f).transpose()
    }

    pub(super) fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnMut(&RowRef) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        self.rows(sql, params)?.iter().map(f).collect()
    }

    fn rows(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, DbError> {
        self.with_statement(sql, params, |client, statement, bound| {
            Ok(client.query(statement, bound)?)
        })
    }
}

/// A connection that only listens (`LISTEN channel`), for notifications other
/// sessions send with `pg_notify` (they arrive when the sender commits).
pub(super) struct Listener {
    client: Client,
}

impl Listener {
    /// Connects to `url` and listens on `channel` (a plain identifier).
    pub(super) fn connect(url: &str, channel: &str) -> Result<Listener, DbError> {
        let mut client = connect_client(url)?;
        client.batch_execute(&format!("LISTEN {channel}"))?;
        Ok(Listener { client })
    }

    /// Waits up to `timeout` for notifications; whether any came (all that came
    /// are taken). A closed connection is an error.
    pub(super) fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, DbError> {
        use postgres::fallible_iterator::FallibleIterator as _;
        let got = {
            let mut notifications = self.client.notifications();
            let got = notifications.timeout_iter(timeout).next()?.is_some();
            // Several commits in a burst wake once.
            while notifications.iter().next()?.is_some() {}
            got
        };
        if self.client.is_closed() {
            return Err(DbError::Backend("the listening connection closed".into()));
        }
        Ok(got)
    }
}

impl Drop for Postgres {
    /// Closing the client blocks on its runtime, which tokio refuses inside another
    /// (the origin's state is dropped in its runtime at shutdown): then it closes on a
    /// thread of its own.
    fn drop(&mut self) {
        self.statements.get_mut().clear();
        if let Some(client) = self.client.get_mut().take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(client)).join();
            }
        }
    }
}
