//! The PostgreSQL the origin's tests run against: a throwaway server each test
//! starts itself (tests/support/postgres.rs), or `VEXIL_TEST_DATABASE_URL`.

mod support;

use support::postgres::Postgres;

#[test]
fn a_throwaway_server_answers_and_is_gone_after() {
    let pg = Postgres::start();
    assert_eq!(pg.psql("SELECT 1 + 1").as_deref(), Ok("2"));
    pg.psql("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)")
        .expect("a table");
    pg.psql("INSERT INTO t (v) VALUES ('a'), ('b')")
        .expect("rows");
    assert_eq!(pg.psql("SELECT count(*) FROM t").as_deref(), Ok("2"));
    assert!(
        pg.psql("SELECT * FROM missing").is_err(),
        "errors are reported"
    );
    let url = pg.url.clone();
    drop(pg);
    if std::env::var_os("VEXIL_TEST_DATABASE_URL").is_none() {
        let after = std::process::Command::new("psql")
            .args([url.as_str(), "-X", "-c", "SELECT 1"])
            .output()
            .expect("psql runs");
        assert!(!after.status.success(), "the server was stopped");
    }
}

#[test]
fn two_servers_run_side_by_side() {
    let (a, b) = (Postgres::start(), Postgres::start());
    if std::env::var_os("VEXIL_TEST_DATABASE_URL").is_none() {
        assert_ne!(a.url, b.url);
    }
    assert_eq!(a.psql("SELECT 'a'").as_deref(), Ok("a"));
    assert_eq!(b.psql("SELECT 'b'").as_deref(), Ok("b"));
}
