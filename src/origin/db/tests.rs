use super::*;

fn db() -> Db {
    let db = Db::open_sqlite_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, data BLOB, flag INTEGER NOT NULL DEFAULT 0)",
    )
    .unwrap();
    db
}

#[test]
fn statements_bind_parameters_and_rows_read_back() {
    let db = db();
    let id: i64 = db
        .query_row(
            "INSERT INTO t (name, score, data, flag) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            params!["a", 1.5, vec![1u8, 2], true],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(id, 1);
    let none: Option<f64> = None;
    assert_eq!(
        db.execute(
            "INSERT INTO t (name, score) VALUES (?1, ?2)",
            params!["b", none]
        )
        .unwrap(),
        1
    );
    let rows = db
        .query(
            "SELECT name, score, data, flag FROM t ORDER BY id",
            params![],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<Option<f64>>(1)?,
                    r.get::<Option<Vec<u8>>>(2)?,
                    r.get::<bool>(3)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        rows,
        [
            ("a".to_string(), Some(1.5), Some(vec![1, 2]), true),
            ("b".to_string(), None, None, false)
        ]
    );
    assert_eq!(
        db.query_opt("SELECT id FROM t WHERE name = ?1", params!["zz"], |r| r
            .get::<i64>(0))
            .unwrap(),
        None
    );
    assert_eq!(
        db.query_row("SELECT id FROM t WHERE name = ?1", params!["zz"], |r| r
            .get::<i64>(0)),
        Err(DbError::NoRows)
    );
}

#[test]
fn errors_are_typed() {
    let db = db();
    db.execute("INSERT INTO t (name) VALUES (?1)", params!["a"])
        .unwrap();
    let dup = db.execute("INSERT INTO t (name) VALUES (?1)", params!["a"]);
    assert!(matches!(dup, Err(DbError::Constraint(m)) if m.contains("UNIQUE")));
    let wrong = db.query_row("SELECT name FROM t", params![], |r| r.get::<i64>(0));
    assert!(
        matches!(wrong, Err(DbError::Conversion { column: 0, .. })),
        "{wrong:?}"
    );
    let big = db.execute(
        "INSERT INTO t (name, flag) VALUES ('b', ?1)",
        params![u64::MAX],
    );
    assert!(matches!(big, Err(DbError::Param(_))), "{big:?}");
    assert!(matches!(
        db.execute("SELEC 1", params![]),
        Err(DbError::Backend(_))
    ));
    let conflict = db
        .execute(
            "INSERT INTO t (name) VALUES (?1) ON CONFLICT DO NOTHING",
            params!["a"],
        )
        .unwrap();
    assert_eq!(conflict, 0);
}

#[test]
fn transactions_commit_or_roll_back() {
    let mut db = db();
    {
        let tx = db.transaction().unwrap();
        tx.execute("INSERT INTO t (name) VALUES ('kept')", params![])
            .unwrap();
        tx.commit().unwrap();
    }
    {
        let tx = db.transaction().unwrap();
        tx.execute("INSERT INTO t (name) VALUES ('dropped')", params![])
            .unwrap();
    }
    let names = db
        .query("SELECT name FROM t", params![], |r| r.get::<String>(0))
        .unwrap();
    assert_eq!(names, ["kept"]);
    assert_eq!(db.schema_version().unwrap(), 0);
    db.set_schema_version(3).unwrap();
    assert_eq!(db.schema_version().unwrap(), 3);
}
