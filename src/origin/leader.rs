//! Leadership among replicas: which one runs the background jobs that talk to the
//! outside world or must run once (the rollout scheduler, webhook deliveries,
//! publish targets, snapshot refresh, outbox retention, health probes).
//!
//! On PostgreSQL the leader is the replica holding the session-level advisory lock
//! [`LEADER_LOCK`] on a connection of its own, opened for nothing else. The others
//! try to take it every [`RETRY`]; the leader checks its connection as often (a
//! failed check is a step down: the lock may be gone with the connection). When
//! the leader dies, PostgreSQL ends its session and frees the lock, and another
//! replica holds it at its next try: within [`RETRY`] of the server noticing,
//! which for a killed process is at once (the socket closes). Writes stay
//! correct whoever leads (they are serialised by `db::WRITE_LOCK`); leadership only
//! keeps external effects single. The jobs look at the leadership at every pass,
//! so a replica that steps down stops within one pass of its job.
//!
//! On SQLite there is one server: it always leads.

use super::db::{params, Db, DbError};
use super::store::Database;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The session-level advisory lock the leader holds (`pg_try_advisory_lock`):
/// "vexil" in ASCII, then 3 (the migrations' lock is …1, the writers' …2).
pub const LEADER_LOCK: i64 = 0x7665_7869_6c00_0003;

/// How often a follower tries to lead, and a leader checks it still does.
pub const RETRY: Duration = Duration::from_secs(2);

/// This replica's leadership, shared by the jobs and `GET /metrics`.
#[derive(Clone)]
pub struct Leadership {
    state: watch::Receiver<bool>,
    /// How many times this replica became leader: a job that keeps state across
    /// passes (what it last pushed) starts over in a new term.
    terms: Arc<AtomicU64>,
}

impl Leadership {
    /// A replica that always leads (SQLite, and tests of one server).
    pub fn always() -> Leadership {
        let (sender, state) = watch::channel(true);
        // The receiver keeps the value; no sender needs to live.
        drop(sender);
        Leadership {
            state,
            terms: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Leadership for an origin on `database`: always, on SQLite; on PostgreSQL, an
    /// election on a thread of its own (it blocks on its connection) that runs for
    /// the life of the process.
    pub fn elect(database: &Database) -> Leadership {
        let Database::Postgres(url) = database else {
            return Leadership::always();
        };
        let (sender, state) = watch::channel(false);
        let terms = Arc::new(AtomicU64::new(0));
        let (url, counted) = (url.clone(), terms.clone());
        std::thread::Builder::new()
            .name("vexil-leader".into())
            .spawn(move || campaign(&url, &sender, &counted))
            .map(|_| Leadership { state, terms })
            .unwrap_or_else(|e| {
                super::log(format_args!(
                    "leadership: cannot start the election ({e}); this replica never leads"
                ));
                let (_, state) = watch::channel(false);
                Leadership {
                    state,
                    terms: Arc::new(AtomicU64::new(0)),
                }
            })
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        *self.state.borrow()
    }

    /// The current term (see [`Leadership::terms`]): changes each time this
    /// replica becomes leader.
    pub fn term(&self) -> u64 {
        self.terms.load(Ordering::SeqCst)
    }

    /// Returns once this replica leads (at once if it does).
    pub async fn until_leading(&self) {
        if self.is_leader() {
            return;
        }
        let mut state = self.state.clone();
        // An error means the election ended (its thread is gone): never leading.
        if state.wait_for(|leads| *leads).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// One try: whether this session holds the lock now (taking it if free).
fn try_lead(db: &Db) -> Result<bool, DbError> {
    db.query_row(
        "SELECT pg_try_advisory_lock(?1)",
        params![LEADER_LOCK],
        |r| r.get::<bool>(0),
    )
}

/// Whether this session still holds the lock: asked of the server, so a
/// connection that broke, or a lock an operator released, is seen.
fn still_leads(db: &Db) -> Result<bool, DbError> {
    db.query_row(
        "SELECT COUNT(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = ?1",
        params![LEADER_LOCK],
        |r| r.get::<bool>(0),
    )
}

/// The election, forever: connect, try to lead, and once leading check it every
/// [`RETRY`]; any failure drops the connection (freeing the lock, if held) and
/// starts over.
fn campaign(url: &str, state: &watch::Sender<bool>, terms: &AtomicU64) {
    let mut conn: Option<Db> = None;
    loop {
        let was = *state.borrow();
        if conn.is_none() {
            match Db::connect_postgres(url) {
                Ok(db) => conn = Some(db),
                Err(e) => super::log(format_args!("leadership: cannot connect: {e}")),
            }
        }
        let asked = conn.as_ref().map(|db| match was {
            true => still_leads(db),
            false => try_lead(db),
        });
        let leads = match asked {
            Some(Ok(leads)) => leads,
            Some(Err(e)) => {
                super::log(format_args!(
                    "leadership: the election connection failed: {e}"
                ));
                // A new connection next time; the old session (and its lock) ends.
                conn = None;
                false
            }
            None => false,
        };
        if leads != was {
            if leads {
                terms.fetch_add(1, Ordering::SeqCst);
                super::log(format_args!(
                    "leadership: this replica now leads (runs the scheduler, webhooks, \
                     publish targets, refresh, retention and health probes)"
                ));
            } else {
                super::log(format_args!(
                    "leadership: this replica stepped down (another replica will lead)"
                ));
            }
            state.send_replace(leads);
        }
        std::thread::sleep(RETRY);
    }
}
