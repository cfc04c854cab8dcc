//! TLS for `vexil serve --tls-cert FILE --tls-key FILE`: PEM files read once at
//! start into a rustls server configuration (the ring provider, TLS 1.2 and 1.3).
//!
//! Every way the pair can be wrong fails at start with the file named: missing or
//! unreadable, not PEM, no certificate, no private key, or a key that is not the
//! certificate's. When TLS is on, answers carry `Strict-Transport-Security`
//! ([`HSTS`]).

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `Strict-Transport-Security` value sent when TLS is on: browsers use HTTPS
/// only, for a year. Not `includeSubDomains`: the origin does not speak for its
/// parent domain's other hosts.
pub const HSTS: &str = "max-age=31536000";

/// The certificate chain and private key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    pub key: PathBuf,
}

/// Why the certificate and key cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing or unreadable.
    #[error("cannot read the TLS {what} {}: {error}", path.display())]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why (in the message, so not also a source).
        error: std::io::Error,
    },
    /// A file is not PEM, or has none of what it should hold.
    #[error("the TLS {what} {} {problem}", path.display())]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong, as a phrase.
        problem: String,
    },
    /// rustls refused the pair: most often a key that is not the certificate's.
    #[error("the TLS certificate {} and private key {} do not go together: {reason}", cert.display(), key.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        reason: String,
    },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        what,
        path: path.to_path_buf(),
        error,
    })
}

fn pem_problem(e: rustls::pki_types::pem::Error, expected: &str) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::NoItemsFound => {
            format!("holds no {expected} (expected a PEM `-----BEGIN ...-----` block)")
        }
        other => format!("is not valid PEM: {other:?}"),
    }
}

/// Reads the certificate chain of a PEM file.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |problem: String| TlsError::Pem {
        what: "certificate",
        path: path.to_path_buf(),
        problem,
    };
    let bytes = read("certificate", path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem(pem_problem(e, "certificate")))?;
    if certs.is_empty() {
        return Err(pem(
            "holds no certificate (expected `-----BEGIN CERTIFICATE-----`)".into(),
        ));
    }
    Ok(certs)
}

/// Reads the first private key of a PEM file.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read("private key", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        what: "private key",
        path: path.to_path_buf(),
        problem: pem_problem(e, "private key"),
    })
}

impl TlsFiles {
    /// The rustls server configuration of the pair (HTTP/1.1 by ALPN).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let certs = read_certificates(&self.cert)?;
        let key = read_private_key(&self.key)?;
        let mismatch = |e: rustls::Error| TlsError::Mismatch {
            cert: self.cert.clone(),
            key: self.key.clone(),
            reason: e.to_string(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(mismatch)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(mismatch)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("vexil-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn names_the_file_and_the_problem() {
        let missing = TlsFiles {
            cert: PathBuf::from("/nonexistent/cert.pem"),
            key: PathBuf::from("/nonexistent/key.pem"),
        };
        let e = missing.server_config().unwrap_err().to_string();
        assert!(
            e.starts_with("cannot read the TLS certificate /nonexistent/cert.pem"),
            "{e}"
        );
        let empty = temp("empty.pem", "not a certificate\n");
        let e = read_certificates(&empty).unwrap_err().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
        let e = read_private_key(&empty).unwrap_err().to_string();
        assert!(e.contains("holds no private key"), "{e}");
        let _ = std::fs::remove_file(empty);
    }
}
