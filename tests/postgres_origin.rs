//! `vexil init --database postgres://…` and `vexil serve --database …` against a real
//! PostgreSQL server (tests/support/postgres.rs): the origin prepares the database,
//! serves from it, and says clearly what is wrong with a bad URL, a server that does
//! not answer, or a database `init` never prepared.

mod support;

use support::postgres::Postgres;
use support::{vexil, DataDir, Server};

fn stderr(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn init_on(dir: &std::path::Path, url: &str) -> std::process::Output {
    vexil(&[
        "init",
        "--json",
        "--data",
        dir.to_str().unwrap(),
        "--database",
        url,
    ])
}

#[test]
fn an_origin_initialised_on_postgres_serves_health_and_signed_snapshots() {
    let pg = Postgres::start();
    let url = pg.create_database("origin_serves");
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let out = init_on(&data_dir, &url);
    assert!(
        out.status.success(),
        "init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let admin = made["admin_token"].as_str().unwrap().to_string();
    assert_eq!(made["database"], url.as_str());
    // Settings and keys in the data directory; no SQLite file beside them.
    assert!(data_dir.join("vexil.toml").exists());
    assert!(data_dir.join("keys").is_dir());
    assert!(!data_dir.join("vexil.db").exists());
    assert_eq!(
        pg.psql_on("origin_serves", "SELECT count(*) FROM environments")
            .as_deref(),
        Ok("3")
    );

    // A second init of the same database is refused, and leaves it as it was.
    let again = tempfile::tempdir().unwrap();
    let e = stderr(&init_on(again.path(), &url));
    assert!(e.contains("already holds a Vexil origin"), "{e}");
    // So is a second init of the data directory, whatever database it names.
    let e = stderr(&vexil(&["init", "--data", data_dir.to_str().unwrap()]));
    assert!(e.contains("already initialised"), "{e}");
    assert!(!data_dir.join("vexil.db").exists());
    // Without its --database, the data directory says where to look.
    let e = stderr(&vexil(&[
        "audit",
        "verify",
        "--data",
        data_dir.to_str().unwrap(),
    ]));
    assert!(e.contains("its database is elsewhere"), "{e}");

    let data = DataDir {
        dir: data_dir,
        database: Some(url.clone()),
    };
    let server = Server::start(&data);
    let health = server
        .call("GET", "/api/v1/health", None, None, &[])
        .expect(200);
    assert_eq!(health.json["status"], "ok", "{}", health.json);
    let flag = serde_json::json!({ "flag": support::simple_flag("checkout") });
    server
        .post("/api/v1/environments/development/flags", &admin, flag)
        .expect(201);
    let payload = support::verified_payload(&server, "development", &admin);
    assert_eq!(support::flag_keys(&payload), ["checkout"]);
    // What the origin wrote is in PostgreSQL, the audit chain included.
    let audited = pg
        .psql_on("origin_serves", "SELECT count(*) > 1 FROM audit")
        .unwrap();
    assert_eq!(audited, "t");
    drop(server);
    let verify = vexil(&["audit", "verify", "--data", data.arg(), "--database", &url]);
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("intact"),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn bad_urls_unreachable_servers_and_unprepared_databases_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let e = stderr(&vexil(&[
        "init",
        "--data",
        data,
        "--database",
        "mysql://u@h/db",
    ]));
    assert!(e.contains("unsupported database URL"), "{e}");
    assert!(!dir.path().join("vexil.db").exists());

    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://vexil:s3cret@127.0.0.1:{port}/vexil");
    let e = stderr(&vexil(&["init", "--data", data, "--database", &url]));
    assert!(e.contains("cannot connect to PostgreSQL at"), "{e}");
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(!e.contains("s3cret"), "the password never shows: {e}");
    let e = stderr(&vexil(&["serve", "--data", data, "--database", &url]));
    assert!(e.contains("cannot connect to PostgreSQL at"), "{e}");

    let e = stderr(&vexil(&[
        "init",
        "--data",
        data,
        "--database",
        "postgres://u@[::1/db",
    ]));
    assert!(e.contains("cannot connect to PostgreSQL"), "{e}");

    // A database nobody initialised: serve says how to prepare it.
    let pg = Postgres::start();
    let url = pg.create_database("origin_unprepared");
    let e = stderr(&vexil(&["serve", "--data", data, "--database", &url]));
    assert!(e.contains("has no Vexil schema"), "{e}");
    assert!(e.contains("vexil init --data"), "{e}");

    // The environment variable serves as --database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(["init", "--data", data])
        .env("VEXIL_DATABASE_URL", &url)
        .env(vexil::origin::kek::KEK_ENV, support::TEST_KEK)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("vexil.db").exists());
    assert_eq!(
        pg.psql_on("origin_unprepared", "SELECT count(*) FROM environments")
            .as_deref(),
        Ok("3")
    );
}
