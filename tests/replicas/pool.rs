//! A replica's reads do not wait behind its writes: while a write waits for the
//! database's write lock (`db::WRITE_LOCK`, held here by another session as another
//! replica's write would hold it), the replica still answers reads from another
//! connection of its pool.

use crate::support::{simple_flag, DataDir, Server};
use serde_json::json;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vexil::origin::db::WRITE_LOCK;

/// How many sessions of this test's database hold (`granted`) or wait for the write
/// lock.
fn write_lock_sessions(data: &DataDir, granted: bool) -> usize {
    // An advisory lock on a bigint key is listed as its high and low 32 bits.
    let sql = format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {} \
         AND objid = {} AND granted = {granted} \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (WRITE_LOCK >> 32) as u32,
        (WRITE_LOCK & 0xffff_ffff) as u32
    );
    data.psql(&sql).parse().unwrap()
}

fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn reads_answer_while_a_write_waits_for_another_replicas_write_lock() {
    let (data, admin) = DataDir::init("replica_pool");
    let server = Server::start(&data);
    let url = data.database.clone().unwrap();
    let mut holder = Command::new("psql")
        .args([url.as_str(), "-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql starts");
    let mut to_holder = holder.stdin.take().unwrap();
    writeln!(to_holder, "SELECT pg_advisory_lock({WRITE_LOCK});").unwrap();
    to_holder.flush().unwrap();
    until("the other session to hold the write lock", || {
        write_lock_sessions(&data, true) == 1
    });

    std::thread::scope(|scope| {
        let (server, admin) = (&server, &admin);
        let write = scope.spawn(move || {
            server.post(
                "/api/v1/environments/production/flags",
                admin,
                json!({ "flag": simple_flag("waits") }),
            )
        });
        until("the write to wait for the lock", || {
            write_lock_sessions(&data, false) == 1
        });
        let (sent, read) = mpsc::channel();
        scope.spawn(move || {
            let _ = sent.send(server.get("/api/v1/environments/production/flags", admin));
        });
        let answer = read.recv_timeout(Duration::from_secs(10));
        // Let the write go whatever the read did, so the test ends either way.
        writeln!(to_holder, "SELECT pg_advisory_unlock({WRITE_LOCK});").unwrap();
        drop(to_holder);
        let answer = answer.expect("a read answers while a write of its replica waits");
        assert_eq!(answer.status, 200, "{}", answer.text);
        let made = write.join().unwrap();
        assert_eq!(
            made.status, 201,
            "the write goes through once the lock is free: {}",
            made.text
        );
    });
    let _ = holder.wait();
}
