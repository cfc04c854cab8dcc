//! The origin's secrets: Ed25519 snapshot-signing keys (public halves and their
//! validity in the database; private halves where the [`KeyStore`] keeps them:
//! `keys/<id>.json`, mode 0600, on SQLite, sealed in the database on PostgreSQL)
//! and the key that authenticates the audit chain's head (`keys/audit.key`, or
//! sealed likewise).

use super::api::{KeyListing, PublicKey, RetiringKey, Rotation};
use super::key_store::KeyStore;
use super::{rfc3339, OriginError};
use crate::origin::db::{params, Db};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use std::path::Path;
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

fn generate(db: &Db, store: &KeyStore, now_ms: i64) -> Result<(String, SigningKey), OriginError> {
    let id = new_key_id(now_ms)?;
    let key = SigningKey::from_bytes(&random_32()?);
    store.put_signing(db, &id, &key, &rfc3339(now_ms))?;
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

/// The id of the key the database says signs now.
fn active_in(db: &Db) -> Result<String, OriginError> {
    db.query_opt(
        "SELECT id FROM signing_keys WHERE retired_at IS NULL ORDER BY position DESC LIMIT 1",
        params![],
        |r| r.get(0),
    )?
    .ok_or_else(|| OriginError::Config("the database lists no active signing key".into()))
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
    /// Creates the first signing key and the audit key of a new origin, kept in
    /// `store` (prepared in `data_dir`).
    pub fn create_first(
        db: &Db,
        store: &KeyStore,
        data_dir: &Path,
        now_ms: i64,
    ) -> Result<SigningKeys, OriginError> {
        store.prepare(data_dir)?;
        let audit_key = random_32()?;
        store.put_audit(db, &audit_key, &rfc3339(now_ms))?;
        let (active_id, active) = generate(db, store, now_ms)?;
        Ok(SigningKeys {
            active_id,
            active,
            known: load_known(db)?,
            audit_key,
        })
    }

    /// Loads the keys of an initialised origin from `store`.
    pub fn load(db: &Db, store: &KeyStore) -> Result<SigningKeys, OriginError> {
        let active_id = active_in(db)?;
        Ok(SigningKeys {
            active: store.signing(db, &active_id)?,
            active_id,
            known: load_known(db)?,
            audit_key: store.audit(db)?,
        })
    }

    /// Loads the keys again when the database's active key is no longer this one
    /// (another replica rotated): run inside the write transaction, under the write
    /// lock, so the check and the signing that follows see the same key set.
    /// Returns whether they changed.
    pub fn refresh(&mut self, db: &Db, store: &KeyStore) -> Result<bool, OriginError> {
        let active_id = active_in(db)?;
        if active_id == self.active_id {
            return Ok(false);
        }
        self.active = store.signing(db, &active_id)?;
        self.active_id = active_id;
        self.known = load_known(db)?;
        Ok(true)
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
        store: &KeyStore,
        now_ms: i64,
        overlap: Duration,
    ) -> Result<Rotation, OriginError> {
        let not_after = now_ms.saturating_add(overlap.as_millis() as i64);
        db.execute(
            "UPDATE signing_keys SET retired_at = ?1, not_after_ms = ?2 WHERE id = ?3",
            params![rfc3339(now_ms), not_after, self.active_id],
        )?;
        let previous = std::mem::take(&mut self.active_id);
        let (id, key) = generate(db, store, now_ms)?;
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
