//! Keys: the verifier's keyring (key id → Ed25519 public key) and the signer's
//! private key file.

use super::base64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::collections::BTreeMap;

/// Errors reading keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The keyring has no keys.
    Empty,
    /// A key is not valid.
    Invalid {
        /// The key id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A key file is not valid JSON of the expected shape.
    Malformed(String),
}

impl KeyError {
    /// What went wrong, for a person. Built without `fmt`: the wasm module reports it,
    /// and carries no formatting code (`scripts/snip-wasm.mjs` checks).
    pub fn message(&self) -> String {
        match self {
            KeyError::Empty => {
                "the keyring is empty: configure at least one key id and public key".into()
            }
            KeyError::Invalid { id, reason } => ["key `", id, "`: ", reason].concat(),
            KeyError::Malformed(detail) => ["not a key file: ", detail].concat(),
        }
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for KeyError {}

fn decode_32(id: &str, text: &str, what: &str) -> Result<[u8; 32], KeyError> {
    let bytes = base64::decode(text.trim().as_bytes()).ok_or_else(|| KeyError::Invalid {
        id: id.to_string(),
        reason: [what, " is not base64 (padded, standard alphabet)"].concat(),
    })?;
    bytes.as_slice().try_into().map_err(|_| KeyError::Invalid {
        id: id.to_string(),
        reason: [
            what,
            " is ",
            &super::number(bytes.len() as u64),
            " bytes; Ed25519 keys are 32",
        ]
        .concat(),
    })
}

/// Key id → Ed25519 public key. Supplied by configuration, never trusted from the
/// channel that delivers snapshots; holding several keys lets keys rotate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring {
    /// Sorted by id, ids unique: a keyring holds a few keys, and a vector costs the
    /// wasm module less code than an ordered map.
    keys: Vec<(String, VerifyingKey)>,
}

impl Keyring {
    /// Builds a keyring from key id → base64 public key.
    pub fn from_base64_map(keys: &BTreeMap<String, String>) -> Result<Keyring, KeyError> {
        Keyring::from_pairs(keys.iter().map(|(id, key)| (id.as_str(), key.as_str())))
    }

    /// Builds a keyring from (key id, base64 public key) pairs.
    pub fn from_pairs<'a>(
        keys: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Keyring, KeyError> {
        let mut ring = Keyring::default();
        for (id, text) in keys {
            let id = id.to_string();
            if id.is_empty() {
                return Err(KeyError::Invalid {
                    id: id.clone(),
                    reason: "key id is empty".into(),
                });
            }
            let bytes = decode_32(&id, text, "public key")?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Invalid {
                id: id.clone(),
                reason: "not a valid Ed25519 public key".into(),
            })?;
            ring.insert(id, key);
        }
        if ring.keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(ring)
    }

    /// Parses a keyring JSON document: `{"<key id>": "<base64 public key>", ...}`.
    #[cfg(feature = "authoring")]
    pub fn from_json(text: &str) -> Result<Keyring, KeyError> {
        let map: BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| {
            KeyError::Malformed(format!(
                "expected {{\"<key id>\": \"<base64 public key>\"}}: {e}"
            ))
        })?;
        Keyring::from_base64_map(&map)
    }

    /// Adds a key.
    pub fn insert(&mut self, id: impl Into<String>, key: VerifyingKey) {
        let id = id.into();
        match self.keys.binary_search_by(|(k, _)| k.as_str().cmp(&id)) {
            Ok(at) => self.keys[at].1 = key,
            Err(at) => self.keys.insert(at, (id, key)),
        }
    }

    /// The key with this id.
    pub fn get(&self, id: &str) -> Option<&VerifyingKey> {
        let at = self
            .keys
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()?;
        Some(&self.keys[at].1)
    }

    /// The key ids.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    /// The keyring as JSON (`{"<key id>": "<base64 public key>"}`).
    #[cfg(feature = "authoring")]
    pub fn to_json(&self) -> String {
        let map: BTreeMap<&str, String> = self
            .keys
            .iter()
            .map(|(id, k)| (id.as_str(), base64::encode(k.as_bytes())))
            .collect();
        serde_json::to_string_pretty(&map).expect("strings serialise")
    }
}

/// A signing key file: `{"key_id": "...", "private_key": "<base64 32-byte seed>"}`.
#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct PrivateKeyFile {
    /// The key id verifiers know the public key by.
    pub key_id: String,
    /// Base64 of the 32-byte Ed25519 seed.
    pub private_key: String,
}

impl PrivateKeyFile {
    /// Wraps a signing key.
    pub fn new(key_id: impl Into<String>, key: &SigningKey) -> PrivateKeyFile {
        PrivateKeyFile {
            key_id: key_id.into(),
            private_key: base64::encode(&key.to_bytes()),
        }
    }

    /// Parses a key file.
    #[cfg(feature = "authoring")]
    pub fn from_json(text: &str) -> Result<PrivateKeyFile, KeyError> {
        serde_json::from_str(text).map_err(|e| {
            KeyError::Malformed(format!(
                "expected {{\"key_id\": \"...\", \"private_key\": \"<base64>\"}}: {e}"
            ))
        })
    }

    /// The signing key.
    pub fn signing_key(&self) -> Result<SigningKey, KeyError> {
        Ok(SigningKey::from_bytes(&decode_32(
            &self.key_id,
            &self.private_key,
            "private key",
        )?))
    }

    /// A keyring holding this key's public half.
    pub fn keyring(&self) -> Result<Keyring, KeyError> {
        let mut ring = Keyring::default();
        ring.insert(self.key_id.clone(), self.signing_key()?.verifying_key());
        Ok(ring)
    }
}
