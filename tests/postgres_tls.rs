//! The origin's connection to PostgreSQL over TLS: a throwaway server with a
//! certificate made by rcgen here (tests/support/postgres.rs), and `vexil init` /
//! `vexil serve` with libpq's `sslmode` and `sslrootcert` in the URL. The server's
//! own `pg_stat_ssl` says whether a session is encrypted.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::Path;
use support::postgres::Postgres;
use support::{vexil, DataDir, Server};

/// A CA, and a server certificate it signed for `names`: (CA PEM, cert PEM, key PEM).
fn certificates(names: &[&str]) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Vexil test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// `vexil init` of a new data directory on `url`.
fn init(dir: &Path, url: &str) -> std::process::Output {
    vexil(&[
        "init",
        "--json",
        "--data",
        dir.to_str().unwrap(),
        "--database",
        url,
    ])
}

fn with(url: &str, query: &str) -> String {
    format!("{url}?{query}")
}

/// Whether every session of `database` is encrypted (`None`: no session).
fn sessions_encrypted(pg: &Postgres, database: &str) -> Option<bool> {
    let sql = format!(
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = '{database}'"
    );
    match pg.psql_on("postgres", &sql).unwrap().as_str() {
        "t" => Some(true),
        "f" => Some(false),
        _ => None,
    }
}

#[test]
fn sslmode_and_sslrootcert_secure_the_origins_connection_as_libpq_would() {
    let (ca, cert, key) = certificates(&["127.0.0.1", "localhost"]);
    let pg = Postgres::start_with_tls(&cert, &key);
    let work = tempfile::tempdir().unwrap();
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let (other_ca, _, _) = certificates(&["127.0.0.1"]);
    let other_ca_file = work.path().join("other-ca.pem");
    std::fs::write(&other_ca_file, &other_ca).unwrap();

    // verify-full against the CA that signed the certificate: init, then a server
    // whose sessions are all encrypted.
    let url = pg.create_database("tls_full");
    let full = with(
        &url,
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    let data = DataDir {
        dir: work.path().join("full"),
        database: Some(full.clone()),
    };
    let out = init(&data.dir, &full);
    assert!(
        out.status.success(),
        "init over verify-full: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&data);
    assert_eq!(sessions_encrypted(&pg, "tls_full"), Some(true));
    drop(server);

    // Another CA: refused, the certificate named as the reason.
    let url = pg.create_database("tls_wrong_ca");
    let wrong = with(
        &url,
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            other_ca_file.display()
        ),
    );
    let out = init(&work.path().join("wrong"), &wrong);
    assert!(!out.status.success(), "another CA must be refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("certificate") && stderr.contains("cannot connect to PostgreSQL"),
        "{stderr}"
    );

    // `require` encrypts without checking the certificate; `disable` does not encrypt.
    for (name, mode, encrypted) in [
        ("tls_require", "sslmode=require", true),
        ("tls_disable", "sslmode=disable", false),
    ] {
        let url = with(&pg.create_database(name), mode);
        let data = DataDir {
            dir: work.path().join(name),
            database: Some(url.clone()),
        };
        let out = init(&data.dir, &url);
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let server = Server::start(&data);
        assert_eq!(sessions_encrypted(&pg, name), Some(encrypted), "{mode}");
        drop(server);
    }

    // A missing root file and an unknown mode are clear errors.
    let url = pg.create_database("tls_bad");
    for (query, says) in [
        (
            "sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
            "sslrootcert",
        ),
        ("sslmode=strict", "verify-full"),
    ] {
        let out = init(&work.path().join("bad"), &with(&url, query));
        assert!(!out.status.success(), "{query}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{query}: {stderr}");
    }
}

#[test]
fn verify_ca_checks_the_chain_and_verify_full_the_name_too() {
    // A certificate for another name than the address connected to.
    let (ca, cert, key) = certificates(&["db.internal"]);
    let pg = Postgres::start_with_tls(&cert, &key);
    let work = tempfile::tempdir().unwrap();
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let url = pg.create_database("tls_names");
    let full = with(
        &url,
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    let out = init(&work.path().join("full"), &full);
    assert!(!out.status.success(), "verify-full must check the name");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    let chain = with(
        &url,
        &format!("sslmode=verify-ca&sslrootcert={}", ca_file.display()),
    );
    let out = init(&work.path().join("chain"), &chain);
    assert!(
        out.status.success(),
        "verify-ca: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
