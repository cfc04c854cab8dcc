//! The database layer's PostgreSQL back end against a real server (a throwaway one,
//! tests/support/postgres.rs): the same statements, in the dialect SQLite and
//! PostgreSQL share, that the origin runs on SQLite.

mod support;

use support::postgres::Postgres;
use vexil::origin::db::{params, Db, DbError};

fn connect(pg: &Postgres) -> Db {
    Db::connect_postgres(&pg.url).expect("connect to the test server")
}

const SCHEMA: &str = "
    CREATE TABLE items (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        score DOUBLE PRECISION,
        data BYTEA,
        archived INTEGER NOT NULL DEFAULT 0,
        small INTEGER
    );
    CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL);
";

#[test]
fn statements_placeholders_and_returning_run_on_postgres() {
    let pg = Postgres::start();
    let db = connect(&pg);
    db.execute_batch(SCHEMA).expect("the schema");

    let first: i64 = db
        .query_row(
            "INSERT INTO items (name, score, data, archived, small) VALUES (?1, ?2, ?3, ?4, ?5)
             RETURNING id",
            params!["a", 1.5, vec![1u8, 2, 3], true, 7i64],
            |r| r.get(0),
        )
        .expect("an insert returning its id");
    let none: Option<String> = None;
    let second: i64 = db
        .query_row(
            "INSERT INTO items (name, score, data) VALUES (?1, ?2, ?3) RETURNING id",
            params!["b", None::<f64>, None::<Vec<u8>>],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((first, second), (1, 2));

    // A placeholder used twice, and one compared with NULL: PostgreSQL cannot type
    // `?1 IS NULL` by itself, so the shared dialect casts it.
    let untyped = db.query(
        "SELECT id FROM items WHERE ?1 IS NULL OR name = ?1",
        params![none],
        |r| r.get::<i64>(0),
    );
    assert!(matches!(untyped, Err(DbError::Backend(_))), "{untyped:?}");
    let found = db
        .query(
            "SELECT id, name, score, data, archived, small FROM items
             WHERE (CAST(?1 AS TEXT) IS NULL OR name = ?1) OR id = ?2 ORDER BY id",
            params![none, 2i64],
            |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Option<f64>>(2)?,
                    r.get::<Option<Vec<u8>>>(3)?,
                    r.get::<bool>(4)?,
                    r.get::<Option<u32>>(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        found,
        [
            (1, "a".into(), Some(1.5), Some(vec![1, 2, 3]), true, Some(7)),
            (2, "b".into(), None, None, false, None),
        ]
    );

    // COUNT(*) is a BIGINT, `SELECT 1` an INTEGER: both read as integers.
    let count: i64 = db
        .query_row("SELECT COUNT(*) FROM items", params![], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2);
    let one: Option<i64> = db
        .query_opt("SELECT 1 FROM items WHERE name = ?1", params!["a"], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(one, Some(1));
    assert_eq!(
        db.query_opt("SELECT id FROM items WHERE name = ?1", params!["zz"], |r| {
            r.get::<i64>(0)
        })
        .unwrap(),
        None
    );
    assert_eq!(
        db.query_row("SELECT id FROM items WHERE name = ?1", params!["zz"], |r| {
            r.get::<i64>(0)
        }),
        Err(DbError::NoRows)
    );

    // Upserts in the shared dialect.
    for _ in 0..3 {
        db.execute(
            "INSERT INTO counters (name, n) VALUES (?1, 1)
             ON CONFLICT (name) DO UPDATE SET n = counters.n + 1",
            params!["hits"],
        )
        .unwrap();
    }
    let hits: i64 = db
        .query_row(
            "SELECT n FROM counters WHERE name = ?1",
            params!["hits"],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hits, 3);
    let ignored = db
        .execute(
            "INSERT INTO items (name) VALUES (?1) ON CONFLICT DO NOTHING",
            params!["a"],
        )
        .unwrap();
    assert_eq!(ignored, 0);
    let changed = db
        .execute(
            "UPDATE items SET archived = ?1 WHERE id >= ?2",
            params![false, 1i64],
        )
        .unwrap();
    assert_eq!(changed, 2);

    // A statement prepared once runs again; a schema change (through
    // `execute_batch`) prepares it anew.
    let all = "SELECT * FROM items ORDER BY id";
    let names = db.query(all, params![], |r| r.get::<String>(1)).unwrap();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        names,
        db.query(all, params![], |r| r.get::<String>(1)).unwrap()
    );
    db.execute_batch("ALTER TABLE items DROP COLUMN name; ALTER TABLE items ADD COLUMN name TEXT")
        .unwrap();
    db.execute("UPDATE items SET name = ?1", params!["c"])
        .unwrap();
    let renamed = db.query(all, params![], |r| r.get::<String>(5)).unwrap();
    assert_eq!(renamed, ["c", "c"]);
}

#[test]
fn errors_are_typed_on_postgres() {
    let pg = Postgres::start();
    let db = connect(&pg);
    db.execute_batch(SCHEMA).unwrap();
    db.execute("INSERT INTO items (name) VALUES (?1)", params!["a"])
        .unwrap();
    let duplicate = db.execute("INSERT INTO items (name) VALUES (?1)", params!["a"]);
    assert!(
        matches!(&duplicate, Err(DbError::Constraint(m)) if m.contains("unique")),
        "{duplicate:?}"
    );
    let wrong = db.query_row("SELECT name FROM items", params![], |r| r.get::<i64>(0));
    assert!(
        matches!(wrong, Err(DbError::Conversion { column: 0, .. })),
        "{wrong:?}"
    );
    let too_few = db.execute(
        "INSERT INTO items (name, score) VALUES (?1, ?2)",
        params!["b"],
    );
    assert!(matches!(too_few, Err(DbError::Param(_))), "{too_few:?}");
    let bad = db.execute("SELEC 1", params![]);
    assert!(matches!(bad, Err(DbError::Backend(_))), "{bad:?}");
}

#[test]
fn transactions_commit_or_roll_back_on_postgres() {
    let pg = Postgres::start();
    let mut db = connect(&pg);
    db.execute_batch(SCHEMA).unwrap();
    {
        let tx = db.transaction().unwrap();
        tx.execute("INSERT INTO items (name) VALUES (?1)", params!["kept"])
            .unwrap();
        tx.commit().unwrap();
    }
    {
        let tx = db.transaction().unwrap();
        tx.execute("INSERT INTO items (name) VALUES (?1)", params!["dropped"])
            .unwrap();
        // Dropped without commit: rolled back.
    }
    {
        // A failed statement aborts the transaction; dropping it rolls back and
        // leaves the connection usable.
        let tx = db.transaction().unwrap();
        tx.execute(
            "INSERT INTO items (name) VALUES (?1)",
            params!["also dropped"],
        )
        .unwrap();
        assert!(tx
            .execute("INSERT INTO items (name) VALUES (?1)", params!["kept"])
            .is_err());
    }
    let names = db
        .query("SELECT name FROM items ORDER BY id", params![], |r| {
            r.get::<String>(0)
        })
        .unwrap();
    assert_eq!(names, ["kept"]);

    // The schema version lives in a table of its own.
    assert_eq!(db.schema_version().unwrap(), 0);
    {
        let tx = db.transaction().unwrap();
        tx.set_schema_version(8).unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(db.schema_version().unwrap(), 8);
}
