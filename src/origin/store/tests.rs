use super::*;
use crate::origin::db::params;

#[test]
fn migrations_run_once_and_audit_is_append_only() {
    let mut conn = Db::open_sqlite_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    migrate(&mut conn).unwrap();
    let version = schema_version(&conn).unwrap();
    assert_eq!(version as usize, COUNT);
    conn.execute(
        "INSERT INTO audit VALUES (1, 't', 'a', 'x', 's', '{}', 'p', 'h')",
        params![],
    )
    .unwrap();
    let err = conn
        .execute("UPDATE audit SET actor = 'b'", params![])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(conn.execute("DELETE FROM audit", params![]).is_err());
}

#[test]
fn migration_5_makes_existing_sdk_keys_server_keys_and_keeps_metrics() {
    let mut conn = Db::open_sqlite_in_memory().unwrap();
    let tx = conn.transaction().unwrap();
    for sql in &sqlite::MIGRATIONS[..4] {
        tx.execute_batch(sql).unwrap();
    }
    tx.set_schema_version(4).unwrap();
    tx.execute_batch(
        "INSERT INTO environments VALUES ('production', 't');
         INSERT INTO tokens (name, kind, roles, environment, hash, created_at)
             VALUES ('edge', 'sdk', '[]', 'production', 'h1', 't'), ('admin', 'token', '[\"admin\"]', NULL, 'h2', 't');
         INSERT INTO metric_batches VALUES ('b1', 'production', 't', 'x');
         INSERT INTO metric_buckets VALUES ('production', 10000, '{}');",
    )
    .unwrap();
    tx.commit().unwrap();
    migrate(&mut conn).unwrap();
    let kinds: Vec<(String, Option<String>)> = conn
        .query(
            "SELECT name, sdk_kind FROM tokens ORDER BY id",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        kinds,
        [
            ("edge".into(), Some("server".into())),
            ("admin".into(), None)
        ]
    );
    let source: String = conn
        .query_row("SELECT source FROM metric_buckets", params![], |r| r.get(0))
        .unwrap();
    assert_eq!(source, "server");
    let batches: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM metric_batches WHERE batch_id = 'b1'",
            params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(batches, 1);
}

#[test]
fn migration_9_orders_existing_and_new_rows_as_they_were_made() {
    let mut conn = Db::open_sqlite_in_memory().unwrap();
    let tx = conn.transaction().unwrap();
    for sql in &sqlite::MIGRATIONS[..8] {
        tx.execute_batch(sql).unwrap();
    }
    tx.set_schema_version(8).unwrap();
    tx.execute_batch(
        "INSERT INTO signing_keys (id, public_key, created_at) VALUES ('k-b', 'p', 't'), ('k-a', 'p', 't');
         INSERT INTO environments VALUES ('production', 't');
         INSERT INTO changes (environment, target, kind, status, author, base_revision, required, created_at, created_at_ms)
             VALUES ('production', 'f', 'update', 'pending', 'a', 0, '[]', 't', 0);
         INSERT INTO approvals (change_id, approver, role, at) VALUES (1, 'zoe', 'r', 't'), (1, 'adam', 'r', 't');",
    )
    .unwrap();
    tx.commit().unwrap();
    migrate(&mut conn).unwrap();
    conn.execute_batch(
        "INSERT INTO signing_keys (id, public_key, created_at) VALUES ('k-0', 'p', 't');
         INSERT INTO approvals (change_id, approver, role, at) VALUES (1, 'abe', 'r', 't');",
    )
    .unwrap();
    let order = |sql: &str| -> Vec<(String, i64)> {
        conn.query(sql, params![], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    assert_eq!(
        order("SELECT id, position FROM signing_keys ORDER BY position"),
        [("k-b".into(), 1), ("k-a".into(), 2), ("k-0".into(), 3)]
    );
    assert_eq!(
        order("SELECT approver, position FROM approvals ORDER BY position"),
        [("zoe".into(), 1), ("adam".into(), 2), ("abe".into(), 3)]
    );
}

/// The rows refinery's history holds: (version, name, checksum).
fn history_rows(conn: &Db) -> Vec<(i64, String, String)> {
    conn.query(
        "SELECT version, name, checksum FROM refinery_schema_history ORDER BY version",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn a_database_the_hand_written_runner_left_upgrades_through_refinery_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        // As the hand-written runner left it after 6 migrations: each text run,
        // `user_version` 6, no refinery history.
        let mut old = Db::open_sqlite(&path).unwrap();
        let tx = old.transaction().unwrap();
        for sql in &sqlite::MIGRATIONS[..6] {
            tx.execute_batch(sql).unwrap();
        }
        tx.set_schema_version(6).unwrap();
        tx.execute_batch(
            "INSERT INTO environments VALUES ('production', 't');
             INSERT INTO audit VALUES (1, 't', 'a', 'x', 's', '{}', 'p', 'h');",
        )
        .unwrap();
        tx.commit().unwrap();
        assert!(!old.has_table("refinery_schema_history").unwrap());
    }
    let conn = open(dir.path(), &Database::Sqlite(path.clone()), false).unwrap();
    // 1..6 recorded with the checksums refinery computes for them, 7.. applied.
    let expected: Vec<(i64, String, String)> = migrations(&conn)
        .unwrap()
        .iter()
        .map(|m| {
            (
                m.version().into(),
                m.name().to_string(),
                m.checksum().to_string(),
            )
        })
        .collect();
    assert_eq!(expected.len(), COUNT);
    assert_eq!(history_rows(&conn), expected);
    assert_eq!(schema_version(&conn).unwrap() as usize, COUNT);
    let kept: (String, String) = conn
        .query_row(
            "SELECT (SELECT name FROM environments), (SELECT actor FROM audit WHERE seq = 1)",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kept, ("production".into(), "a".into()));
    // The 7th migration's tables exist; the audit table is still append-only.
    assert!(conn.execute("DELETE FROM audit", params![]).is_err());
    drop(conn);
    // Opening again runs nothing and records nothing more.
    let again = open(dir.path(), &Database::Sqlite(path), false).unwrap();
    assert_eq!(history_rows(&again), expected);
}

#[test]
fn a_database_newer_than_this_vexil_is_refused() {
    let mut conn = Db::open_sqlite_in_memory().unwrap();
    conn.set_schema_version(COUNT as i64 + 1).unwrap();
    let err = migrate(&mut conn).unwrap_err().to_string();
    assert!(err.contains("upgrade vexil"), "{err}");
    let mut conn = Db::open_sqlite_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO refinery_schema_history VALUES ({}, 'later', 't', '0')",
        COUNT + 1
    ))
    .unwrap();
    let err = migrate(&mut conn).unwrap_err().to_string();
    assert!(err.contains("upgrade vexil"), "{err}");
}
