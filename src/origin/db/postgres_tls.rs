//! How the connection to PostgreSQL is secured: libpq's `sslmode` and `sslrootcert`
//! URL parameters, over rustls.
//!
//! The client understands only `disable`, `prefer` and `require` and refuses
//! parameters it does not know, so both are taken out of the URL here and the TLS
//! connector does what libpq would:
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted, TLS if the server offers it
//!   (`prefer`) or always (`require`), the certificate not checked, unless
//!   `sslrootcert` names a file, which makes it `verify-ca`;
//! - `verify-ca`: the certificate chains to a root of `sslrootcert` (a PEM file, or
//!   `system` for the system's store, the default);
//! - `verify-full`: that, and the certificate names the host connected to.

use super::DbError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the URL's `sslmode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Roots {
    /// The system's certificate store.
    System,
    /// A PEM file of CA certificates.
    File(PathBuf),
}

/// The URL without the parameters the client refuses, and what they asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Secured {
    /// The URL to give the client (`sslmode` as it understands it).
    pub url: String,
    /// The mode asked for.
    pub mode: SslMode,
    /// The roots to verify with (verifying modes only).
    pub roots: Option<Roots>,
}

/// Splits the TLS settings out of `url`.
pub(super) fn secured(url: &str) -> Result<Secured, DbError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = SslMode::Prefer;
    let mut root_file = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                mode = match value {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(DbError::Backend(format!(
                            "a bad URL: sslmode `{other}` is not one of disable, allow, prefer, \
                             require, verify-ca, verify-full"
                        )))
                    }
                }
            }
            "sslrootcert" => root_file = Some(percent_decoded(value)?),
            _ => kept.push(pair),
        }
    }
    // libpq: a root certificate file given makes `require` verify the chain.
    if mode == SslMode::Require && root_file.as_deref().is_some_and(|f| f != "system") {
        mode = SslMode::VerifyCa;
    }
    let roots = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull).then(|| {
        match root_file.as_deref() {
            None | Some("system") => Roots::System,
            Some(file) => Roots::File(PathBuf::from(file)),
        }
    });
    let client_mode = match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        _ => "require",
    };
    kept.push(match client_mode {
        "disable" => "sslmode=disable",
        "prefer" => "sslmode=prefer",
        _ => "sslmode=require",
    });
    Ok(Secured {
        url: format!("{base}?{}", kept.join("&")),
        mode,
        roots,
    })
}

fn percent_decoded(value: &str) -> Result<String, DbError> {
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| DbError::Backend("a bad URL: sslrootcert is not UTF-8".into()))
}

/// The rustls connector for `secured` (`None` for `disable`).
pub(super) fn connector(secured: &Secured) -> Result<Option<MakeRustlsConnect>, DbError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Backend(format!("TLS: {e}")))?;
    let config = match (&secured.mode, &secured.roots) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Prefer | SslMode::Require, _) | (_, None) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth(),
        (mode, Some(roots)) => {
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(root_store(roots)?), provider)
                    .build()
                    .map_err(|e| DbError::Backend(format!("TLS: {e}")))?;
            let verifier: Arc<dyn ServerCertVerifier> = if *mode == SslMode::VerifyCa {
                Arc::new(ChainOnly(verifier))
            } else {
                verifier
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(Some(MakeRustlsConnect::new(config)))
}

fn root_store(roots: &Roots) -> Result<RootCertStore, DbError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        Roots::File(path) => {
            use rustls::pki_types::pem::PemObject as _;
            let unreadable = |e: &dyn std::fmt::Display| {
                DbError::Backend(format!("cannot read sslrootcert {}: {e}", path.display()))
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| unreadable(&e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unreadable(&e))?;
            for cert in certs {
                store.add(cert).map_err(|e| unreadable(&e))?;
            }
        }
    }
    if store.is_empty() {
        return Err(DbError::Backend(match roots {
            Roots::System => "no CA certificates in the system's store to verify the server with: \
                              give sslrootcert=PATH"
                .into(),
            Roots::File(path) => format!("sslrootcert {} holds no certificate", path.display()),
        }));
    }
    Ok(store)
}

/// `verify-ca`: the chain is checked, the name is not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, the certificate taken as it comes (as libpq
/// does); the handshake's signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_leave_the_url_as_libpq_reads_them() {
        let s = secured("postgres://u@h/db").unwrap();
        assert_eq!(
            (s.url.as_str(), s.mode, s.roots),
            ("postgres://u@h/db?sslmode=prefer", SslMode::Prefer, None)
        );
        let s = secured("postgres://u@h/db?sslmode=disable&connect_timeout=3").unwrap();
        assert_eq!(s.url, "postgres://u@h/db?connect_timeout=3&sslmode=disable");
        assert_eq!(s.mode, SslMode::Disable);
        let s =
            secured("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(s.url, "postgres://u@h/db?sslmode=require");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.roots, Some(Roots::File("/etc/ca.pem".into())));
        let s = secured("postgres://u@h/db?sslmode=verify-ca").unwrap();
        assert_eq!(s.roots, Some(Roots::System));
        // A root file makes `require` verify the chain, as in libpq.
        let s = secured("postgres://u@h/db?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(s.mode, SslMode::VerifyCa);
        let s = secured("postgres://u@h/db?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!((s.mode, s.roots), (SslMode::Require, None));
        let e = secured("postgres://u@h/db?sslmode=strict").unwrap_err();
        assert!(e.to_string().contains("verify-full"), "{e}");
    }
}
