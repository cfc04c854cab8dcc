//! The key-encryption key (KEK): what seals the origin's private keys (the snapshot
//! signing keys and the audit key) where they are kept in the database, so that
//! replicas on one PostgreSQL database share them and the database alone (a
//! backup, a read replica, a leaked dump) never holds them in clear.
//!
//! The KEK is 32 random bytes, base64, from `VEXIL_KEY_ENCRYPTION_KEY` or a file
//! (`--key-encryption-key-file`); it is never written anywhere by the origin.
//! Sealing is XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): a random
//! 24-byte nonce per sealing (random nonces of that size never repeat in practice),
//! and the sealed value's name as associated data, so a sealed key moved to
//! another row (an audit key passed off as a signing key) does not open.

use super::OriginError;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::path::Path;

/// The environment variable holding the KEK (base64 of 32 bytes).
pub const KEK_ENV: &str = "VEXIL_KEY_ENCRYPTION_KEY";

/// Bytes of the nonce stored before each sealed value.
const NONCE_LEN: usize = 24;

/// A key-encryption key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(…)")
    }
}

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error)]
pub enum Unsealed {
    /// Too short to hold a nonce and a tag: not something this module sealed.
    #[error("it is not a sealed value ({0} bytes)")]
    Malformed(usize),
    /// The tag does not verify: another KEK sealed it, or it was altered.
    #[error("wrong key-encryption key? (or the sealed value was altered)")]
    WrongKey,
}

impl Kek {
    /// A KEK from its base64 text; `source` names where it came from, for errors.
    pub fn from_base64(text: &str, source: &str) -> Result<Kek, OriginError> {
        BASE64
            .decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Kek)
            .ok_or_else(|| {
                OriginError::Config(format!(
                    "{source} is not a key-encryption key: give 32 random bytes in base64 \
                     (`openssl rand -base64 32`)"
                ))
            })
    }

    /// The KEK in the file `path` (its base64 text).
    pub fn from_file(path: &Path) -> Result<Kek, OriginError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            OriginError::Io(format!(
                "cannot read the key-encryption key {}: {e}",
                path.display()
            ))
        })?;
        Kek::from_base64(&text, &path.display().to_string())
    }

    /// The KEK in the file `file` when given, else in [`KEK_ENV`] when set.
    pub fn resolve(file: Option<&Path>) -> Result<Option<Kek>, OriginError> {
        if let Some(path) = file {
            return Kek::from_file(path).map(Some);
        }
        match std::env::var(KEK_ENV) {
            Ok(text) if !text.trim().is_empty() => Kek::from_base64(&text, KEK_ENV).map(Some),
            _ => Ok(None),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// `secret` sealed under the name `name`: the nonce, then the ciphertext and tag.
    pub fn seal(&self, name: &str, secret: &[u8]) -> Result<Vec<u8>, OriginError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| OriginError::Internal(format!("no randomness available: {e}")))?;
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| OriginError::Internal(format!("cannot seal {name}")))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// The secret `sealed` holds, if this KEK sealed it under `name`.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, Unsealed> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(Unsealed::Malformed(sealed.len()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| Unsealed::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek([byte; 32])
    }

    #[test]
    fn a_sealed_secret_opens_with_its_kek_and_name_only() {
        let secret = b"thirty-two bytes of private key!";
        let sealed = kek(1).seal("signing:k1", secret).unwrap();
        assert!(
            !sealed.windows(secret.len()).any(|w| w == secret),
            "not in clear"
        );
        assert_eq!(kek(1).open("signing:k1", &sealed).unwrap(), secret);
        assert!(matches!(
            kek(2).open("signing:k1", &sealed),
            Err(Unsealed::WrongKey)
        ));
        assert!(matches!(
            kek(1).open("audit", &sealed),
            Err(Unsealed::WrongKey)
        ));
        assert!(matches!(
            kek(1).open("signing:k1", &sealed[..20]),
            Err(Unsealed::Malformed(20))
        ));
        // A fresh nonce each time: the same secret never seals to the same bytes.
        assert_ne!(sealed, kek(1).seal("signing:k1", secret).unwrap());
    }

    #[test]
    fn a_kek_is_32_bytes_of_base64() {
        let good = BASE64.encode([7u8; 32]);
        assert!(Kek::from_base64(&format!("{good}\n"), "x").is_ok());
        let short = BASE64.encode([7u8; 16]);
        let e = Kek::from_base64(&short, "THE_VAR").unwrap_err().to_string();
        assert!(e.contains("THE_VAR is not a key-encryption key"), "{e}");
        assert!(Kek::from_base64("not base64!", "x").is_err());
        assert_eq!(format!("{:?}", kek(9)), "Kek(…)");
    }
}
