//! The connections one origin process uses: SQLite's one connection behind a mutex
//! (one writer; a second connection would add nothing), or a pool of PostgreSQL
//! connections (r2d2), so that a read never waits behind a write, and a write waiting
//! for another replica's write lock ([`super::WRITE_LOCK`]) holds up nothing else.

use super::{Db, DbError};
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How many PostgreSQL connections one process keeps at most (beside the leader
/// election's and the event listener's own).
pub const POOL_SIZE: u32 = 8;

/// How long taking a connection may wait when all are in use.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens PostgreSQL connections for the pool.
#[derive(Debug)]
pub struct PostgresConnections {
    url: String,
}

impl r2d2::ManageConnection for PostgresConnections {
    type Connection = Db;
    type Error = DbError;

    fn connect(&self) -> Result<Db, DbError> {
        Db::connect_postgres(&self.url)
    }

    fn is_valid(&self, db: &mut Db) -> Result<(), DbError> {
        db.query_row("SELECT 1", super::params![], |r| r.get::<i64>(0))
            .map(drop)
    }

    fn has_broken(&self, db: &mut Db) -> bool {
        db.is_closed()
    }
}

/// The connections of one origin process.
pub enum Connections {
    /// SQLite: its one connection.
    One(Mutex<Db>),
    /// PostgreSQL: a pool.
    Pool(r2d2::Pool<PostgresConnections>),
}

/// A connection taken from [`Connections`], given back when dropped.
pub enum Connection<'a> {
    /// The one connection, locked.
    One(MutexGuard<'a, Db>),
    /// A pooled connection.
    Pooled(r2d2::PooledConnection<PostgresConnections>),
}

impl Connections {
    /// `first`, the connection the origin was opened with: kept as the one on SQLite;
    /// on PostgreSQL (`url`), the pool's first connection.
    pub fn new(first: Db, url: Option<&str>) -> Connections {
        let Some(url) = url.filter(|_| first.is_postgres()) else {
            return Connections::One(Mutex::new(first));
        };
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            // A broken connection is noticed by `has_broken`; testing each one taken
            // would cost a round trip per statement group.
            .test_on_check_out(false)
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build_unchecked(PostgresConnections {
                url: url.to_string(),
            });
        drop(first);
        Connections::Pool(pool)
    }

    /// A connection: waits while all are in use (up to 30 s on PostgreSQL).
    pub fn get(&self) -> Result<Connection<'_>, DbError> {
        match self {
            // A panic while holding the lock rolled its transaction back; the
            // connection itself is still usable.
            Connections::One(db) => Ok(Connection::One(
                db.lock().unwrap_or_else(|p| p.into_inner()),
            )),
            Connections::Pool(pool) => pool.get().map(Connection::Pooled).map_err(|e| {
                DbError::Busy(format!("no PostgreSQL connection free or to be had: {e}"))
            }),
        }
    }
}

impl Deref for Connection<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        match self {
            Connection::One(db) => db,
            Connection::Pooled(db) => db,
        }
    }
}

impl DerefMut for Connection<'_> {
    fn deref_mut(&mut self) -> &mut Db {
        match self {
            Connection::One(db) => db,
            Connection::Pooled(db) => db,
        }
    }
}
