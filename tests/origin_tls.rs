//! `vexil serve --tls-cert FILE --tls-key FILE` (issue 16 item 5): a certificate
//! made by rcgen in the test, a client that trusts it, HSTS with TLS and not
//! without, and a clear refusal to start for every bad certificate or key.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files in
/// `dir`; returns (cert path, key path, cert PEM).
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("rcgen makes a certificate");
    let cert_pem = made.cert.pem();
    let cert = dir.join(format!("{name}-cert.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key, cert_pem)
}

/// A client trusting only `cert_pem`.
fn client(cert_pem: &str) -> ureq::Agent {
    let cert = ureq::tls::Certificate::from_pem(cert_pem.as_bytes()).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// Runs `vexil serve` expected to refuse to start; returns its standard error.
fn refused(data: &DataDir, args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(["serve", "--data", data.arg(), "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vexil serve {args:?} did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "vexil serve {args:?} succeeded: {err}");
    err
}

#[test]
fn serves_https_with_hsts_to_a_client_that_trusts_the_certificate() {
    let (data, admin) = DataDir::init("tls-serve");
    let (cert, key, cert_pem) = certificate(data.path(), "server");
    let s = Server::start_args(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let agent = client(&cert_pem);
    let mut health = agent
        .get(&format!("{}/api/v1/health", s.url))
        .call()
        .expect("an HTTPS answer");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let body = health.body_mut().read_to_string().unwrap();
    assert!(body.contains("ok") || body.contains("status"), "{body}");
    // An authenticated read over TLS, and HSTS on errors too.
    let who = agent
        .get(&format!("{}/api/v1/whoami", s.url))
        .header("Authorization", format!("Bearer {admin}"))
        .call()
        .unwrap();
    assert_eq!(who.status().as_u16(), 200);
    let missing = agent
        .get(&format!("{}/api/v1/no-such-route", s.url))
        .call()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert!(missing.headers().contains_key("strict-transport-security"));
    // A client that does not trust the certificate is refused.
    let untrusting: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    assert!(untrusting
        .get(&format!("{}/api/v1/health", s.url))
        .call()
        .is_err());
    // Plain HTTP to the TLS port gets no answer.
    let plain = s.url.replace("https://", "http://");
    assert!(untrusting
        .get(&format!("{plain}/api/v1/health"))
        .call()
        .is_err());
    // SIGTERM stops a TLS server as cleanly as a plain one.
    assert!(s.stop().success());
}

#[test]
fn plain_http_sends_no_hsts() {
    let (data, _admin) = DataDir::init("tls-off");
    let s = Server::start(&data);
    assert!(s.url.starts_with("http://"), "{}", s.url);
    let r = s.call("GET", "/api/v1/health", None, None, &[]).expect(200);
    assert_eq!(r.header("strict-transport-security"), None);
}

#[test]
fn bad_certificates_and_keys_stop_the_server_with_the_file_named() {
    let (data, _admin) = DataDir::init("tls-bad");
    let (cert, key, _) = certificate(data.path(), "one");
    let (_, other_key, _) = certificate(data.path(), "two");
    let garbage = data.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").unwrap();
    let missing = data.path().join("missing.pem");
    let (cert, key, other_key, garbage, missing) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        other_key.to_str().unwrap(),
        garbage.to_str().unwrap(),
        missing.to_str().unwrap(),
    );

    let err = refused(&data, &["--tls-cert", missing, "--tls-key", key]);
    assert!(
        err.contains(&format!("cannot read the TLS certificate {missing}")),
        "{err}"
    );
    let err = refused(&data, &["--tls-cert", cert, "--tls-key", missing]);
    assert!(
        err.contains(&format!("cannot read the TLS private key {missing}")),
        "{err}"
    );
    let err = refused(&data, &["--tls-cert", garbage, "--tls-key", key]);
    assert!(
        err.contains(&format!(
            "the TLS certificate {garbage} holds no certificate"
        )),
        "{err}"
    );
    let err = refused(&data, &["--tls-cert", cert, "--tls-key", garbage]);
    assert!(
        err.contains(&format!(
            "the TLS private key {garbage} holds no private key"
        )),
        "{err}"
    );
    // The certificate as its own key: a file with no key in it.
    let err = refused(&data, &["--tls-cert", cert, "--tls-key", cert]);
    assert!(err.contains("holds no private key"), "{err}");
    let err = refused(&data, &["--tls-cert", cert, "--tls-key", other_key]);
    assert!(
        err.contains(&format!(
            "the TLS certificate {cert} and private key {other_key} do not go together"
        )),
        "{err}"
    );
    // One without the other is a usage error.
    let err = refused(&data, &["--tls-cert", cert]);
    assert!(err.contains("--tls-key"), "{err}");
}
