//! Environments, their current flags, and publishing them as signed snapshots.
//!
//! Every applied change publishes: the environment's flags, segments and exclusion
//! groups become a payload with the next version, signed with the active key and
//! stored (history kept). The engine's own compiler validates every state before
//! it is stored, so the origin can never publish what an edge would reject.

use super::api::{SnapshotInfo, SnapshotList};
use super::{audit, rfc3339, Op, OriginError};
use crate::engine::{parse_document, Issue, LoadError, Snapshot};
use crate::origin::db::{params, Db};
use crate::snapshot::sign;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A flag as stored in an environment.
#[derive(Debug, Clone)]
pub struct FlagRow {
    /// The flag document, as its author wrote it (descriptive fields kept).
    pub document: Value,
    /// Archived flags are kept but not published.
    pub archived: bool,
    /// Incremented by every applied change.
    pub revision: i64,
    /// When it last changed.
    pub updated_at: String,
    /// The same, epoch milliseconds.
    pub updated_at_ms: i64,
    /// Who changed it last.
    pub updated_by: String,
}

/// Everything an environment publishes.
#[derive(Debug, Clone, Default)]
pub struct EnvState {
    /// Flags by key.
    pub flags: BTreeMap<String, FlagRow>,
    /// Segments by name.
    pub segments: Map<String, Value>,
    /// Exclusion groups by name.
    pub exclusion_groups: Map<String, Value>,
}

impl EnvState {
    /// The flags document an edge evaluates: unarchived flags, segments, groups.
    pub fn document(&self) -> Map<String, Value> {
        let flags: Vec<Value> = self
            .flags
            .values()
            .filter(|f| !f.archived)
            .map(|f| f.document.clone())
            .collect();
        let mut doc = Map::new();
        doc.insert("flags".into(), Value::Array(flags));
        doc.insert("segments".into(), Value::Object(self.segments.clone()));
        doc.insert(
            "exclusion_groups".into(),
            Value::Object(self.exclusion_groups.clone()),
        );
        doc
    }

    /// Compiles the state with the engine; its issues are the answer to a bad change.
    pub fn validate(&self) -> Result<Snapshot, OriginError> {
        validate_document(&Value::Object(self.document()))
    }
}

/// Compiles a flags document with the engine.
pub fn validate_document(doc: &Value) -> Result<Snapshot, OriginError> {
    let bytes = serde_json::to_vec(doc)?;
    let parsed = parse_document(&bytes).and_then(|d| Snapshot::compile(&d));
    parsed.map_err(|e| match e {
        LoadError::Invalid(issues) => OriginError::Invalid(issues),
        other => OriginError::Invalid(vec![Issue {
            path: String::new(),
            message: other.to_string(),
        }]),
    })
}

/// Names of every environment.
pub fn environment_names(db: &Db) -> Result<Vec<String>, OriginError> {
    let names = db.query(
        "SELECT name FROM environments ORDER BY created_at, name",
        params![],
        |r| r.get(0),
    )?;
    Ok(names)
}

/// Fails with a helpful 404 unless `env` exists.
pub fn require_environment(db: &Db, env: &str) -> Result<(), OriginError> {
    let found = db.query_opt(
        "SELECT 1 FROM environments WHERE name = ?1",
        params![env],
        |_| Ok(()),
    )?;
    match found {
        Some(()) => Ok(()),
        None => Err(OriginError::NotFound(format!(
            "no environment `{env}`; environments are {}",
            environment_names(db)?.join(", ")
        ))),
    }
}

/// Creates an environment and publishes its first (empty) snapshot.
pub fn create_environment(
    op: &Op<'_>,
    actor: &str,
    name: &str,
) -> Result<crate::origin::api::CreatedEnvironment, OriginError> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(OriginError::BadRequest(format!(
            "environment name `{name}`: use lowercase letters, digits, `-` and `_`, starting with a letter (at most 64)"
        )));
    }
    let exists = op.db.query_opt(
        "SELECT 1 FROM environments WHERE name = ?1",
        params![name],
        |_| Ok(()),
    )?;
    if exists.is_some() {
        return Err(OriginError::Conflict(format!(
            "environment `{name}` already exists"
        )));
    }
    op.db.execute(
        "INSERT INTO environments (name, created_at) VALUES (?1, ?2)",
        params![name, op.now()],
    )?;
    audit::record(op, actor, "environment.created", name, json!({}))?;
    let version = publish(op, name)?;
    Ok(crate::origin::api::CreatedEnvironment {
        name: name.to_string(),
        snapshot_version: version,
        flags: 0,
    })
}

/// Loads an environment's current state.
pub fn load_state(db: &Db, env: &str) -> Result<EnvState, OriginError> {
    require_environment(db, env)?;
    let mut state = EnvState::default();
    let rows = db.query(
        "SELECT key, document, archived, revision, updated_at, updated_at_ms, updated_by
         FROM flags WHERE environment = ?1 ORDER BY key",
        params![env],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<bool>(2)?,
                r.get::<i64>(3)?,
                r.get::<String>(4)?,
                r.get::<i64>(5)?,
                r.get::<String>(6)?,
            ))
        },
    )?;
    for row in rows {
        let (key, doc, archived, revision, updated_at, updated_at_ms, updated_by) = row;
        state.flags.insert(
            key,
            FlagRow {
                document: serde_json::from_str(&doc)?,
                archived,
                revision,
                updated_at,
                updated_at_ms,
                updated_by,
            },
        );
    }
    for (table, column, target) in [
        ("segments", "clause", &mut state.segments),
        (
            "exclusion_groups",
            "definition",
            &mut state.exclusion_groups,
        ),
    ] {
        let rows = db.query(
            &format!("SELECT name, {column} FROM {table} WHERE environment = ?1 ORDER BY name"),
            params![env],
            |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
        )?;
        for row in rows {
            let (name, text) = row;
            target.insert(name, serde_json::from_str(&text)?);
        }
    }
    Ok(state)
}

/// The newest snapshot of an environment.
#[derive(Debug, Clone)]
pub struct Published {
    /// Version.
    pub version: u64,
    /// The envelope JSON.
    pub envelope: String,
    /// Strong ETag (quoted).
    pub etag: String,
    /// Issue time, epoch ms.
    pub issued_at_ms: i64,
}

fn published(r: &crate::origin::db::Row<'_>) -> Result<Published, crate::origin::db::DbError> {
    Ok(Published {
        version: r.get::<i64>(0)? as u64,
        envelope: r.get(1)?,
        etag: r.get(2)?,
        issued_at_ms: r.get(3)?,
    })
}

/// The newest snapshot of `env`.
pub fn latest(db: &Db, env: &str) -> Result<Option<Published>, OriginError> {
    Ok(db.query_opt(
        "SELECT version, envelope, etag, issued_at_ms FROM snapshots
             WHERE environment = ?1 ORDER BY version DESC LIMIT 1",
        params![env],
        published,
    )?)
}

/// One stored snapshot of `env`.
pub fn at_version(db: &Db, env: &str, version: u64) -> Result<Published, OriginError> {
    require_environment(db, env)?;
    db.query_opt(
        "SELECT version, envelope, etag, issued_at_ms FROM snapshots
         WHERE environment = ?1 AND version = ?2",
        params![env, version as i64],
        published,
    )?
    .ok_or_else(|| OriginError::NotFound(format!("`{env}` has no snapshot version {version}")))
}

/// The snapshot history of `env`, newest first.
pub fn history(db: &Db, env: &str, limit: u32) -> Result<SnapshotList, OriginError> {
    require_environment(db, env)?;
    let rows = db.query(
        "SELECT version, key_id, issued_at, expires_at, etag FROM snapshots
         WHERE environment = ?1 ORDER BY version DESC LIMIT ?2",
        params![env, limit],
        |r| {
            Ok(SnapshotInfo {
                version: r.get(0)?,
                key_id: r.get(1)?,
                issued_at: r.get(2)?,
                expires_at: r.get(3)?,
                etag: r.get(4)?,
            })
        },
    )?;
    Ok(SnapshotList { snapshots: rows })
}

/// Signs and stores the next snapshot of `env` from its current state; returns
/// the new version.
pub fn publish(op: &Op<'_>, env: &str) -> Result<u64, OriginError> {
    let state = load_state(op.db, env)?;
    let version = latest(op.db, env)?.map_or(1, |p| p.version + 1);
    let expires_ms = op
        .now_ms
        .saturating_add(op.config.snapshot_ttl.as_millis() as i64);
    let mut payload = Map::new();
    payload.insert("environment".into(), json!(env));
    payload.insert("version".into(), json!(version));
    payload.insert("issued_at".into(), json!(op.now()));
    payload.insert("expires_at".into(), json!(rfc3339(expires_ms)));
    payload.extend(state.document());
    let payload = Value::Object(payload);
    // Never sign what an edge would reject; edges read the compiled, binary form.
    let bytes = validate_document(&payload)?.encode(env, version);
    let envelope = sign(&bytes, op.keys.active_id(), op.keys.active()).to_json();
    let digest = Sha256::digest(envelope.as_bytes());
    let etag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    op.db.execute(
        "INSERT INTO snapshots (environment, version, key_id, envelope, etag, issued_at, issued_at_ms, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            env,
            version as i64,
            op.keys.active_id(),
            envelope,
            format!("\"{etag}\""),
            op.now(),
            op.now_ms,
            rfc3339(expires_ms)
        ],
    )?;
    super::outbox::emit(
        op,
        super::outbox::DomainEvent::SnapshotPublished {
            environment: env.to_string(),
            version,
        },
    )?;
    Ok(version)
}

/// Whether a base64 payload starts with this engine's payload version (its first 8
/// characters are its first 6 bytes).
fn payload_is_current(base64_payload: &str) -> bool {
    use base64::Engine as _;
    base64_payload
        .get(..8)
        .and_then(|head| base64::engine::general_purpose::STANDARD.decode(head).ok())
        .is_some_and(|head| head.starts_with(&crate::engine::wire::MAGIC))
}

/// Re-signs every environment whose newest snapshot has used half its lifetime, so
/// edges never go stale while nothing changes, or is in an earlier envelope format
/// or payload version (a data directory from an earlier Vexil: its edges must get
/// what they can read, and the wasm module runs only version-3 patterns).
/// Returns what was published.
pub fn refresh_due(op: &Op<'_>) -> Result<Vec<(String, u64)>, OriginError> {
    let half = (op.config.snapshot_ttl.as_millis() / 2) as i64;
    let outdated = |p: &Published| {
        crate::snapshot::Envelope::parse(p.envelope.as_bytes())
            .is_ok_and(|e| e.format != crate::snapshot::FORMAT || !payload_is_current(&e.payload))
    };
    let mut out = Vec::new();
    for env in environment_names(op.db)? {
        let due =
            latest(op.db, &env)?.is_none_or(|p| p.issued_at_ms + half <= op.now_ms || outdated(&p));
        if due {
            out.push((env.clone(), publish(op, &env)?));
        }
    }
    Ok(out)
}
