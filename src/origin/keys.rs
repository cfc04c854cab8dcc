//! The origin's secrets: Ed25519 snapshot-signing keys (private halves in
//! `keys/<id>.json`, mode 0600; public halves and their validity in the database)
//! and the key that authenticates the audit chain's head (`keys/audit.key`).

use super::api::{KeyListing, PublicKey, RetiringKey, Rotation};
use super::{rfc3339, OriginError};
use crate::origin::db::{params, Db};
use crate::snapshot::PrivateKeyFile;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A public signing key and its validity.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// Key id, as in envelopes' `key_id`.
    pub id: String,
    /// Base64 Ed25519 public key.
    pub public_key: String,
    /// When it was created.
    pub created_at: String,
    /// When it stopped signing, if it did.
    pub retired_at: Option<String>,
    /// After this (epoch ms) snapshots it signed are no longer valid.
    pub not_after_ms: Option<i64>,
}

/// The active signing key, the keys still valid, and the audit key.
#[derive(Clone)]
pub struct SigningKeys {
    active_id: String,
    active: SigningKey,
    known: Vec<KeyInfo>,
    audit_key: [u8; 32],
}

fn random_32() -> Result<[u8; 32], OriginError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| OriginError::Internal(format!("no randomness available: {e}")))?;
    Ok(bytes)
}

/// Writes a secret file readable by its owner only.
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<(), OriginError> {
    use std::io::Write as _;
    let io = |e: std::io::Error| OriginError::Io(format!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

fn key_path(data_dir: &Path, id: &str) -> PathBuf {
    keys_dir(data_dir).join(format!("{id}.json"))
}

/// Reads the audit key of a data directory.
pub fn read_audit_key(data_dir: &Path) -> Result<[u8; 32], OriginError> {
    let path = keys_dir(data_dir).join("audit.key");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| OriginError::Io(format!("cannot read {}: {e}", path.display())))?;
    BASE64
        .decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            OriginError::Config(format!("{} is not a 32-byte base64 key", path.display()))
        })
}

fn new_key_id(now_ms: i64) -> Result<String, OriginError> {
    let date: String = rfc3339(now_ms)
        .chars()
        .take(10)
        .filter(|c| *c != '-')
        .collect();
    let suffix: String = random_32()?[..3]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("k{date}-{suffix}"))
}

fn generate(db: &Db, data_dir: &Path, now_ms: i64) -> Result<(String, SigningKey), OriginError> {
    let id = new_key_id(now_ms)?;
    let key = SigningKey::from_bytes(&random_32()?);
    let file = PrivateKeyFile::new(&id, &key);
    let text = serde_json::to_string_pretty(&file)? + "\n";
    write_private(&key_path(data_dir, &id), &text)?;
    db.execute(
        "INSERT INTO signing_keys (id, public_key, created_at) VALUES (?1, ?2, ?3)",
        params![
            id,
            BASE64.encode(key.verifying_key().as_bytes()),
            rfc3339(now_ms)
        ],
    )?;
    Ok((id, key))
}

fn load_known(db: &Db) -> Result<Vec<KeyInfo>, OriginError> {
    let rows = db.query(
        "SELECT id, public_key, created_at, retired_at, not_after_ms FROM signing_keys
         ORDER BY position DESC",
        params![],
        |r| {
            Ok(KeyInfo {
                id: r.get(0)?,
                public_key: r.get(1)?,
                created_at: r.get(2)?,
                retired_at: r.get(3)?,
                not_after_ms: r.get(4)?,
            })
        },
    )?;
    Ok(rows)
}

impl SigningKeys {
    /// Creates the first signing key and the audit key of a new data directory.
    pub fn create_first(db: &Db, data_dir: &Path, now_ms: i64) -> Result<SigningKeys, OriginError> {
        let dir = keys_dir(data_dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| OriginError::Io(format!("cannot create {}: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| OriginError::Io(format!("cannot restrict {}: {e}", dir.display())))?;
        }
        let audit_key = random_32()?;
        write_private(&dir.join("audit.key"), &(BASE64.encode(audit_key) + "\n"))?;
        let (active_id, active) = generate(db, data_dir, now_ms)?;
        Ok(SigningKeys {
            active_id,
            active,
            known: load_known(db)?,
            audit_key,
        })
    }

    /// Loads the keys of an initialised data directory.
    pub fn load(db: &Db, data_dir: &Path) -> Result<SigningKeys, OriginError> {
        let known = load_known(db)?;
        let active_id = known
            .iter()
            .find(|k| k.retired_at.is_none())
            .map(|k| k.id.clone())
            .ok_or_else(|| {
                OriginError::Config("the database lists no active signing key".into())
            })?;
        let path = key_path(data_dir, &active_id);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            OriginError::Io(format!(
                "cannot read the signing key {}: {e}",
                path.display()
            ))
        })?;
        let active = PrivateKeyFile::from_json(&text)
            .and_then(|f| f.signing_key())
            .map_err(|e| OriginError::Config(format!("{}: {e}", path.display())))?;
        Ok(SigningKeys {
            active_id,
            active,
            known,
            audit_key: read_audit_key(data_dir)?,
        })
    }

    /// Id of the key that signs new snapshots.
    pub fn active_id(&self) -> &str {
        &self.active_id
    }

    /// The key that signs new snapshots.
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// The secret authenticating the audit chain's head.
    pub fn audit_key(&self) -> &[u8] {
        &self.audit_key
    }

    /// Makes a new key the active one; the previous one stays valid for `overlap`.
    pub fn rotate(
        &mut self,
        db: &Db,
        data_dir: &Path,
        now_ms: i64,
        overlap: Duration,
    ) -> Result<Rotation, OriginError> {
        let not_after = now_ms.saturating_add(overlap.as_millis() as i64);
        db.execute(
            "UPDATE signing_keys SET retired_at = ?1, not_after_ms = ?2 WHERE id = ?3",
            params![rfc3339(now_ms), not_after, self.active_id],
        )?;
        let previous = std::mem::take(&mut self.active_id);
        let (id, key) = generate(db, data_dir, now_ms)?;
        self.active_id = id;
        self.active = key;
        self.known = load_known(db)?;
        Ok(Rotation {
            active: self.active_id.clone(),
            retiring: vec![RetiringKey {
                id: previous,
                not_after: rfc3339(not_after),
            }],
        })
    }

    /// Keys verifiers should trust at `now_ms`: the active key and retiring keys
    /// within their overlap.
    pub fn trusted(&self, now_ms: i64) -> impl Iterator<Item = &KeyInfo> {
        self.known
            .iter()
            .filter(move |k| k.retired_at.is_none() || k.not_after_ms.is_some_and(|t| t > now_ms))
    }

    /// The `GET /api/v1/keys` answer.
    pub fn public_listing(&self, now_ms: i64) -> KeyListing {
        let keys = self
            .trusted(now_ms)
            .map(|k| PublicKey {
                id: k.id.clone(),
                public_key: k.public_key.clone(),
                status: if k.retired_at.is_none() {
                    "active"
                } else {
                    "retiring"
                }
                .into(),
                created_at: k.created_at.clone(),
                not_after: k.not_after_ms.map(rfc3339),
            })
            .collect();
        let keyring: serde_json::Map<String, Value> = self
            .trusted(now_ms)
            .map(|k| (k.id.clone(), json!(k.public_key)))
            .collect();
        KeyListing { keys, keyring }
    }
}
