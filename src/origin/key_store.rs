//! Where the private halves of the origin's keys live: in the data directory
//! (SQLite: `keys/<id>.json` and `keys/audit.key`, mode 0600, as always), or sealed
//! in the database (PostgreSQL: table `sealed_keys`, each sealed with the
//! key-encryption key, see [`super::kek`]).
//!
//! PostgreSQL keeps them in the database because replicas share it and nothing
//! else: each replica's data directory holds only its settings, and a rotation made
//! by one replica is a row the others read. SQLite stays on files: one machine,
//! whose data directory already holds the database beside the keys, so a KEK
//! would be one more secret to keep for nothing (and every existing data directory
//! keeps working untouched). A KEK given with SQLite is not used.

use super::db::{params, Db};
use super::kek::{Kek, KEK_ENV};
use super::OriginError;
use crate::snapshot::PrivateKeyFile;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};

/// The file `vexil init` leaves in `keys/` of a data directory whose keys are
/// sealed in the database: it marks the directory as initialised, and says where
/// the keys went.
pub const SEALED_MARKER: &str = "sealed-in-database";

/// Where an origin's private keys are kept.
#[derive(Debug, Clone)]
pub enum KeyStore {
    /// Files in the data directory's `keys/`.
    Files(PathBuf),
    /// Rows of `sealed_keys`, sealed with this KEK.
    Sealed(Kek),
}

/// The name a signing key is sealed under (also its associated data).
fn signing_name(id: &str) -> String {
    format!("signing:{id}")
}

/// The name the audit key is sealed under.
const AUDIT_NAME: &str = "audit";

/// `keys/` of a data directory.
pub fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

/// The file of a data directory that shows `vexil init` ran there, if any.
pub fn initialised_marker(data_dir: &Path) -> Option<PathBuf> {
    [
        keys_dir(data_dir).join("audit.key"),
        keys_dir(data_dir).join(SEALED_MARKER),
    ]
    .into_iter()
    .find(|p| p.exists())
}

fn key_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
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

/// Reads the audit key file of a data directory.
fn read_audit_file(dir: &Path) -> Result<[u8; 32], OriginError> {
    let path = dir.join("audit.key");
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

impl KeyStore {
    /// The store for an origin whose database is `db` and data directory `data_dir`:
    /// PostgreSQL needs a KEK (refused clearly without one), SQLite uses files.
    pub fn for_database(
        db: &Db,
        data_dir: &Path,
        kek: Option<Kek>,
    ) -> Result<KeyStore, OriginError> {
        if !db.is_postgres() {
            return Ok(KeyStore::Files(keys_dir(data_dir)));
        }
        kek.map(KeyStore::Sealed).ok_or_else(|| {
            OriginError::Config(format!(
                "an origin on PostgreSQL keeps its private keys in the database, sealed with a \
                 key-encryption key: set {KEK_ENV} (32 random bytes in base64, \
                 `openssl rand -base64 32`) or give --key-encryption-key-file FILE; every \
                 replica needs the same one"
            ))
        })
    }

    /// Whether the keys are sealed in the database.
    pub fn is_sealed(&self) -> bool {
        matches!(self, KeyStore::Sealed(_))
    }

    /// Makes the place ready for a new origin's keys: `keys/` (mode 0700), with the
    /// marker file when the keys go to the database.
    pub(crate) fn prepare(&self, data_dir: &Path) -> Result<(), OriginError> {
        let dir = keys_dir(data_dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| OriginError::Io(format!("cannot create {}: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| OriginError::Io(format!("cannot restrict {}: {e}", dir.display())))?;
        }
        if self.is_sealed() {
            write_private(
                &dir.join(SEALED_MARKER),
                "This origin's private keys are sealed in its PostgreSQL database (table \
                 sealed_keys); the key-encryption key that opens them is not kept here.\n",
            )?;
        }
        Ok(())
    }

    /// Keeps the private half of the new signing key `id`.
    pub(crate) fn put_signing(
        &self,
        db: &Db,
        id: &str,
        key: &SigningKey,
        at: &str,
    ) -> Result<(), OriginError> {
        match self {
            KeyStore::Files(dir) => {
                let text = serde_json::to_string_pretty(&PrivateKeyFile::new(id, key))? + "\n";
                write_private(&key_path(dir, id), &text)
            }
            KeyStore::Sealed(kek) => put_sealed(db, kek, &signing_name(id), &key.to_bytes(), at),
        }
    }

    /// The private half of the signing key `id`.
    pub(crate) fn signing(&self, db: &Db, id: &str) -> Result<SigningKey, OriginError> {
        match self {
            KeyStore::Files(dir) => {
                let path = key_path(dir, id);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    OriginError::Io(format!(
                        "cannot read the signing key {}: {e}",
                        path.display()
                    ))
                })?;
                PrivateKeyFile::from_json(&text)
                    .and_then(|f| f.signing_key())
                    .map_err(|e| OriginError::Config(format!("{}: {e}", path.display())))
            }
            KeyStore::Sealed(kek) => {
                let seed = open_sealed(db, kek, &signing_name(id), &format!("signing key {id}"))?;
                Ok(SigningKey::from_bytes(&seed))
            }
        }
    }

    /// Keeps a new origin's audit key.
    pub(crate) fn put_audit(&self, db: &Db, key: &[u8; 32], at: &str) -> Result<(), OriginError> {
        match self {
            KeyStore::Files(dir) => {
                write_private(&dir.join("audit.key"), &(BASE64.encode(key) + "\n"))
            }
            KeyStore::Sealed(kek) => put_sealed(db, kek, AUDIT_NAME, key, at),
        }
    }

    /// Seals into the database the key files of an origin initialised on PostgreSQL
    /// before its keys were kept there (migration 10): once, when `sealed_keys` is
    /// empty and `data_dir` has `keys/audit.key`, in one write transaction (so two
    /// replicas starting together import once). Returns how many keys it sealed.
    /// The files stay: the operator removes them once the database is backed up.
    pub(crate) fn import_files(&self, db: &mut Db, data_dir: &Path) -> Result<usize, OriginError> {
        let KeyStore::Sealed(kek) = self else {
            return Ok(0);
        };
        let dir = keys_dir(data_dir);
        if !dir.join("audit.key").exists() {
            return Ok(0);
        }
        let tx = db.transaction()?;
        let sealed: i64 =
            tx.query_row("SELECT COUNT(*) FROM sealed_keys", params![], |r| r.get(0))?;
        if sealed > 0 {
            return Ok(0);
        }
        let files = KeyStore::Files(dir.clone());
        let at = super::rfc3339(super::system_now_ms());
        put_sealed(&tx, kek, AUDIT_NAME, &files.audit(&tx)?, &at)?;
        let ids: Vec<String> = tx.query("SELECT id FROM signing_keys", params![], |r| r.get(0))?;
        let mut count = 1;
        for id in ids.iter().filter(|id| key_path(&dir, id).exists()) {
            let key = files.signing(&tx, id)?;
            put_sealed(&tx, kek, &signing_name(id), &key.to_bytes(), &at)?;
            count += 1;
        }
        tx.commit()?;
        super::log(format_args!(
            "keys: sealed {count} keys of {} into the database; remove the files once the \
             database is backed up",
            dir.display()
        ));
        Ok(count)
    }

    /// The audit key.
    pub fn audit(&self, db: &Db) -> Result<[u8; 32], OriginError> {
        match self {
            KeyStore::Files(dir) => read_audit_file(dir),
            KeyStore::Sealed(kek) => open_sealed(db, kek, AUDIT_NAME, "the audit key"),
        }
    }
}

fn put_sealed(
    db: &Db,
    kek: &Kek,
    name: &str,
    secret: &[u8; 32],
    at: &str,
) -> Result<(), OriginError> {
    db.execute(
        "INSERT INTO sealed_keys (name, sealed, created_at) VALUES (?1, ?2, ?3)",
        params![name, kek.seal(name, secret)?, at],
    )?;
    Ok(())
}

fn open_sealed(db: &Db, kek: &Kek, name: &str, what: &str) -> Result<[u8; 32], OriginError> {
    let sealed: Vec<u8> = db
        .query_opt(
            "SELECT sealed FROM sealed_keys WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?
        .ok_or_else(|| {
            OriginError::Config(format!(
                "the database holds no sealed {what}: an origin initialised before its keys \
                 were kept in the database seals them there at its first start with the \
                 data directory that has them (keys/)"
            ))
        })?;
    let secret = kek
        .open(name, &sealed)
        .map_err(|e| OriginError::Config(format!("cannot decrypt {what} in the database: {e}")))?;
    <[u8; 32]>::try_from(secret.as_slice()).map_err(|_| {
        OriginError::Config(format!(
            "{what} in the database is {} bytes, not 32",
            secret.len()
        ))
    })
}
