//! The origin's schema on PostgreSQL, against a real server (tests/support/postgres.rs):
//! the migrations run once, replicas starting together migrate once between them,
//! the audit table is append-only, and rows keep the order they were made in.

mod support;

use support::postgres::Postgres;
use vexil::origin::db::{params, Db, DbError};
use vexil::origin::store;

fn migrated(url: &str) -> Db {
    let mut db = Db::connect_postgres(url).expect("connect to the test server");
    store::migrate(&mut db).expect("the migrations run");
    db
}

/// The last migration refinery's history records.
fn version(db: &Db) -> i64 {
    db.query_row(
        "SELECT CAST(MAX(version) AS BIGINT) FROM refinery_schema_history",
        params![],
        |r| r.get(0),
    )
    .unwrap()
}

fn tables(db: &Db) -> Vec<String> {
    db.query(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' ORDER BY table_name",
        params![],
        |r| r.get(0),
    )
    .unwrap()
}

fn column_type(db: &Db, table: &str, column: &str) -> String {
    db.query_row(
        "SELECT data_type::text FROM information_schema.columns
         WHERE table_name = ?1 AND column_name = ?2",
        params![table, column],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn migrations_run_once_on_postgres_and_again_change_nothing() {
    let pg = Postgres::start();
    let url = pg.create_database("schema_once");
    let mut db = migrated(&url);
    let latest = version(&db);
    assert_eq!(latest, store::schema_version(&db).unwrap());
    let recorded: i64 = db
        .query_row(
            "SELECT count(*) FROM refinery_schema_history",
            params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded, latest, "each migration recorded once");
    assert!(latest >= 9, "{latest}");
    let before = tables(&db);
    for table in [
        "flags",
        "audit",
        "approvals",
        "outbox",
        "rollouts",
        "refinery_schema_history",
    ] {
        assert!(before.iter().any(|t| t == table), "{table} in {before:?}");
    }
    // The 5th migration renamed its new tables over the old ones.
    assert!(!before.iter().any(|t| t.ends_with("_by_key")), "{before:?}");
    store::migrate(&mut db).expect("migrating again");
    assert_eq!(version(&db), latest);
    assert_eq!(tables(&db), before);
    assert!(!before.iter().any(|t| t == "vexil_schema"), "{before:?}");
    // Types as translated: integers are 64-bit, reals double precision.
    assert_eq!(column_type(&db, "flags", "archived"), "bigint");
    assert_eq!(column_type(&db, "snapshots", "issued_at_ms"), "bigint");
    assert_eq!(
        column_type(&db, "rollouts", "start_percentage"),
        "double precision"
    );
    // Ids the code never supplies come from identities; the audit's are the chain's.
    let identity = |table: &str, column: &str| -> String {
        db.query_row(
            "SELECT is_identity::text FROM information_schema.columns
             WHERE table_name = ?1 AND column_name = ?2",
            params![table, column],
            |r| r.get(0),
        )
        .unwrap()
    };
    for (table, column) in [
        ("tokens", "id"),
        ("changes", "id"),
        ("webhooks", "id"),
        ("deliveries", "id"),
        ("rollouts", "id"),
        ("outbox", "seq"),
        ("approvals", "position"),
        ("signing_keys", "position"),
    ] {
        assert_eq!(identity(table, column), "YES", "{table}.{column}");
    }
    assert_eq!(identity("audit", "seq"), "NO");
}

#[test]
fn a_database_the_hand_written_runner_left_upgrades_through_refinery_keeping_its_data() {
    let pg = Postgres::start();
    let url = pg.create_database("schema_adopt");
    // As the hand-written runner left it after 7 migrations: each text run,
    // `vexil_schema` at 7, no refinery history.
    let mut old = Db::connect_postgres(&url).unwrap();
    {
        let tx = old.transaction().unwrap();
        for sql in &store::POSTGRES_MIGRATIONS[..7] {
            tx.execute_batch(sql).unwrap();
        }
        tx.set_schema_version(7).unwrap();
        tx.execute_batch(
            "INSERT INTO environments VALUES ('production', 't');
             INSERT INTO audit VALUES (1, 't', 'a', 'x', 's', '{}', 'p', 'h');",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    assert!(!old.has_table("refinery_schema_history").unwrap());
    assert_eq!(store::schema_version(&old).unwrap(), 7);
    drop(old);
    let db = migrated(&url);
    let history: Vec<(i64, String)> = db
        .query(
            "SELECT CAST(version AS BIGINT), name FROM refinery_schema_history ORDER BY version",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let latest = store::POSTGRES_MIGRATIONS.len() as i64;
    let expected: Vec<(i64, String)> = (1..=latest).map(|v| (v, "schema".into())).collect();
    assert_eq!(history, expected);
    let kept: (String, String) = db
        .query_row(
            "SELECT (SELECT name FROM environments), (SELECT actor FROM audit WHERE seq = 1)",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kept, ("production".into(), "a".into()));
    // The 8th and later migrations ran: the 9th's positions exist.
    assert_eq!(column_type(&db, "approvals", "position"), "bigint");
    // Migrating again changes nothing (the checksums recorded are refinery's own:
    // it would refuse divergent ones).
    let mut db = db;
    store::migrate(&mut db).expect("migrating again");
    assert_eq!(version(&db), latest);
}

#[test]
fn replicas_starting_together_migrate_once_between_them() {
    let pg = Postgres::start();
    let url = pg.create_database("schema_race");
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut db = Db::connect_postgres(&url).expect("connect");
                store::migrate(&mut db).map(|_| version(&db))
            })
        })
        .collect();
    for racer in racers {
        let migrated = racer.join().expect("no panic");
        assert!(
            matches!(migrated, Ok(v) if v >= 9),
            "every replica starts: {migrated:?}"
        );
    }
}

#[test]
fn the_audit_table_refuses_updates_deletes_and_truncation_on_postgres() {
    let pg = Postgres::start();
    let url = pg.create_database("schema_audit");
    let db = migrated(&url);
    db.execute(
        "INSERT INTO audit VALUES (1, 't', 'a', 'x', 's', '{}', 'p', 'h')",
        params![],
    )
    .expect("appending is allowed");
    let refused = |result: Result<(), DbError>, what: &str| match result {
        Err(DbError::Constraint(m)) => assert!(m.contains("append-only"), "{what}: {m}"),
        other => panic!("{what} was not refused as a constraint: {other:?}"),
    };
    refused(
        db.execute("UPDATE audit SET actor = 'b'", params![])
            .map(|_| ()),
        "UPDATE",
    );
    refused(
        db.execute("DELETE FROM audit WHERE seq = 1", params![])
            .map(|_| ()),
        "DELETE",
    );
    refused(db.execute_batch("TRUNCATE audit"), "TRUNCATE");
    let actor: String = db
        .query_row("SELECT actor FROM audit WHERE seq = 1", params![], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(actor, "a", "the entry is untouched");
    // psql, outside the layer, is refused the same way.
    let psql = pg.psql_on("schema_audit", "DELETE FROM audit");
    assert!(
        matches!(&psql, Err(m) if m.contains("append-only")),
        "{psql:?}"
    );
}

#[test]
fn approvals_and_signing_keys_keep_the_order_they_were_made_in() {
    let pg = Postgres::start();
    let url = pg.create_database("schema_order");
    let db = migrated(&url);
    for id in ["k-b", "k-a", "k-c"] {
        db.execute(
            "INSERT INTO signing_keys (id, public_key, created_at) VALUES (?1, 'p', 't')",
            params![id],
        )
        .unwrap();
    }
    let keys: Vec<String> = db
        .query(
            "SELECT id FROM signing_keys ORDER BY position",
            params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(keys, ["k-b", "k-a", "k-c"]);
    db.execute_batch(
        "INSERT INTO environments VALUES ('production', 't');
         INSERT INTO changes (environment, target, kind, status, author, base_revision,
                              required, created_at, created_at_ms)
             VALUES ('production', 'f', 'update', 'pending', 'a', 0, '[]', 't', 0);",
    )
    .unwrap();
    for approver in ["zoe", "adam", "mia"] {
        db.execute(
            "INSERT INTO approvals (change_id, approver, role, at) VALUES (1, ?1, 'r', 't')",
            params![approver],
        )
        .unwrap();
    }
    let approvers: Vec<String> = db
        .query(
            "SELECT approver FROM approvals WHERE change_id = 1 ORDER BY position",
            params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(approvers, ["zoe", "adam", "mia"]);
}

#[test]
fn both_back_ends_have_the_same_tables_and_columns() {
    let pg = Postgres::start();
    let url = pg.create_database("schema_same");
    let on_pg = migrated(&url);
    let mut on_sqlite = Db::open_sqlite_in_memory().unwrap();
    store::migrate(&mut on_sqlite).unwrap();
    assert_eq!(
        store::schema_version(&on_sqlite).unwrap(),
        store::schema_version(&on_pg).unwrap()
    );
    let mut sqlite_columns: Vec<(String, String)> = on_sqlite
        .query(
            "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut pg_columns: Vec<(String, String)> = on_pg
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'vexil_schema'",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    sqlite_columns.sort();
    pg_columns.sort();
    assert!(sqlite_columns.len() > 50, "{sqlite_columns:?}");
    assert_eq!(sqlite_columns, pg_columns);
}
