//! The tamper-evident audit chain.
//!
//! Every entry's hash is `sha256(previous hash || canonical JSON of the entry)`, hex
//! encoded; the first entry chains from [`GENESIS`]. Canonical JSON has object keys
//! sorted at every depth and no insignificant whitespace, so the hash depends only on
//! the entry's content, whoever serialises it. Changing, removing, reordering or
//! inserting an entry breaks every hash after it, which [`verify`] reports.
//!
//! The stored chain keeps the exact text its details were hashed over, and
//! [`verify_stored`] hashes those bytes as stored, never a re-serialisation of them:
//! numbers (`20.10309278350515`) cannot drift between writing and verifying, and an
//! edit that would parse to the same value (one more digit of a float) is still
//! detected. Chains written before this was so verify unchanged: the text hashed was
//! always the canonical JSON that was stored.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The audit log's records, as the API shows them.
pub use crate::origin::api::audit::{Entry, Link, Page};

/// The hash the first entry chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `value` as canonical JSON: object keys sorted at every depth, compact.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                let mut out = serde_json::Map::new();
                for (k, v) in ordered {
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The hash of `entry` chained after `prev_hash`.
pub fn link_hash(prev_hash: &str, entry: &Entry) -> String {
    hash_with_details(prev_hash, entry, &canonical_json(&entry.details))
}

/// The hash of `entry` chained after `prev_hash`, its details being `details_text`
/// byte for byte. The text hashed is the entry's canonical JSON (keys sorted: action,
/// actor, at, details, seq, subject) with `details_text` in place of the details.
fn hash_with_details(prev_hash: &str, entry: &Entry, details_text: &str) -> String {
    let text = |s: &str| Value::String(s.to_string()).to_string();
    let body = format!(
        r#"{{"action":{},"actor":{},"at":{},"details":{details_text},"seq":{},"subject":{}}}"#,
        text(&entry.action),
        text(&entry.actor),
        text(&entry.at),
        entry.seq,
        text(&entry.subject),
    );
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(body.as_bytes());
    hex(&hasher.finalize())
}

/// Appends `entry` after `last` (or starts the chain), numbering it.
pub fn append(last: Option<&Link>, entry: Entry) -> Link {
    chained(last, entry).0
}

/// [`append`], also returning the details text the hash covers (what is stored).
fn chained(last: Option<&Link>, mut entry: Entry) -> (Link, String) {
    let prev_hash = last.map_or(GENESIS, |l| l.hash.as_str()).to_string();
    entry.seq = last.map_or(1, |l| l.entry.seq + 1);
    let details_text = canonical_json(&entry.details);
    let hash = hash_with_details(&prev_hash, &entry, &details_text);
    let link = Link {
        entry,
        prev_hash,
        hash,
    };
    (link, details_text)
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct Broken {
    /// The first entry that does not verify.
    pub seq: u64,
    /// What fails to verify there (a digest, a link to the previous entry).
    pub reason: String,
}

/// Verifies a whole chain, oldest first; returns how many entries verified.
pub fn verify<'a>(links: impl IntoIterator<Item = &'a Link>) -> Result<u64, Broken> {
    verify_hashes(
        links
            .into_iter()
            .map(|link| (link, link_hash(&link.prev_hash, &link.entry))),
    )
}

/// Verifies links, each with the hash its content gives.
fn verify_hashes<'a>(links: impl IntoIterator<Item = (&'a Link, String)>) -> Result<u64, Broken> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for (link, content_hash) in links {
        let seq = link.entry.seq;
        if seq != expected_seq {
            return Err(Broken {
                seq,
                reason: format!("expected entry {expected_seq}: an entry was removed or inserted"),
            });
        }
        if link.prev_hash != prev {
            return Err(Broken {
                seq,
                reason: "it does not chain from the previous entry".into(),
            });
        }
        if content_hash != link.hash {
            return Err(Broken {
                seq,
                reason: "its content does not match its hash: it was modified".into(),
            });
        }
        prev = link.hash.clone();
        expected_seq += 1;
    }
    Ok(expected_seq - 1)
}

// ---- The stored chain ----------------------------------------------------------

use super::{Op, OriginError};
use crate::origin::db::{params, Db, Row};

fn link_from_row(row: &Row<'_>) -> Result<Link, crate::origin::db::DbError> {
    stored_from_row(row).map(|(link, _)| link)
}

/// A stored link and its details text exactly as stored (what its hash covers).
fn stored_from_row(row: &Row<'_>) -> Result<(Link, String), crate::origin::db::DbError> {
    let details: String = row.get(5)?;
    let link = Link {
        entry: Entry {
            seq: row.get::<i64>(0)? as u64,
            at: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            subject: row.get(4)?,
            // A row edited into invalid JSON still has to fail verification, not
            // the read: keep the text as a string value.
            details: serde_json::from_str(&details)
                .unwrap_or_else(|_| Value::String(details.clone())),
        },
        prev_hash: row.get(6)?,
        hash: row.get(7)?,
    };
    Ok((link, details))
}

const COLUMNS: &str = "seq, at, actor, action, subject, details, prev_hash, hash";

/// Appends an entry to the stored chain, in the operation's transaction.
pub fn record(
    op: &Op<'_>,
    actor: &str,
    action: &str,
    subject: &str,
    details: Value,
) -> Result<Link, OriginError> {
    let last = op.db.query_opt(
        &format!("SELECT {COLUMNS} FROM audit ORDER BY seq DESC LIMIT 1"),
        params![],
        link_from_row,
    )?;
    let (link, details_text) = chained(
        last.as_ref(),
        Entry {
            seq: 0,
            at: op.now(),
            actor: actor.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            details,
        },
    );
    op.db.execute(
        &format!("INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            link.entry.seq as i64,
            link.entry.at,
            link.entry.actor,
            link.entry.action,
            link.entry.subject,
            details_text,
            link.prev_hash,
            link.hash
        ],
    )?;
    op.db.execute(
        "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET seq = ?1, hash = ?2, mac = ?3",
        params![
            link.entry.seq as i64,
            link.hash,
            head_mac(op.keys.audit_key(), link.entry.seq, &link.hash)
        ],
    )?;
    Ok(link)
}

fn head_mac(key: &[u8], seq: u64, hash: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{seq}:{hash}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which entries to list.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filter {
    /// Entries about this flag (in any environment unless `environment` is set).
    pub flag: Option<String>,
    /// Entries about this environment.
    pub environment: Option<String>,
    /// Entries of this action (`change.applied`, ...).
    pub action: Option<String>,
    /// Entries by this actor.
    pub actor: Option<String>,
    /// Entries after this sequence number.
    pub after: Option<u64>,
    /// Entries before this sequence number (with `order=newest`, the previous page's `next`).
    pub before: Option<u64>,
    /// `oldest` first (the default) or `newest` first.
    #[serde(default)]
    pub order: Order,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The order audit entries are listed in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    #[default]
    Oldest,
    /// Newest first.
    Newest,
}

/// One page of entries matching `filter`.
pub fn page(db: &Db, filter: &Filter) -> Result<Page, OriginError> {
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let mut entries = list(
        db,
        &Filter {
            limit: Some(limit as u32 + 1),
            ..filter.clone()
        },
    )?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next = if more {
        entries.last().map(|l| l.entry.seq)
    } else {
        None
    };
    Ok(Page { entries, next })
}

/// Entries matching `filter`, oldest first unless `filter.order` says newest.
pub fn list(db: &Db, filter: &Filter) -> Result<Vec<Link>, OriginError> {
    // Subjects are `ENV/FLAG` (`ENV/segment:NAME`, ...) or `ENV`: matched by exact
    // comparison of their parts, never as a LIKE pattern, so `?flag=%25` matches
    // only a flag named `%` and case matters.
    let (exact, prefix, suffix) = match (&filter.environment, &filter.flag) {
        (Some(env), Some(flag)) => (Some(format!("{env}/{flag}")), None, None),
        (Some(env), None) => (Some(env.clone()), Some(format!("{env}/")), None),
        (None, Some(flag)) => (None, None, Some(format!("/{flag}"))),
        (None, None) => (None, None, None),
    };
    // 1001: `page` asks for one more than its limit to know whether more match.
    let limit = filter.limit.unwrap_or(100).clamp(1, 1001);
    let rows = db.query(
        &format!(
            "SELECT {COLUMNS} FROM audit
             WHERE seq > ?1 AND (CAST(?8 AS BIGINT) IS NULL OR seq < ?8)
               AND (CAST(?2 AS TEXT) IS NULL OR subject = ?2 OR
                   (CAST(?3 AS TEXT) IS NOT NULL AND substr(subject, 1, length(?3)) = ?3))
               AND (CAST(?7 AS TEXT) IS NULL OR
                   (length(subject) > length(?7)
                    AND substr(subject, length(subject) - length(?7) + 1) = ?7))
               AND (CAST(?4 AS TEXT) IS NULL OR action = ?4)
               AND (CAST(?5 AS TEXT) IS NULL OR actor = ?5)
             ORDER BY seq {} LIMIT ?6",
            if filter.order == Order::Newest {
                "DESC"
            } else {
                "ASC"
            }
        ),
        params![
            filter.after.unwrap_or(0) as i64,
            exact,
            prefix,
            filter.action,
            filter.actor,
            limit,
            suffix,
            filter.before.map(|b| b as i64)
        ],
        link_from_row,
    )?;
    Ok(rows)
}

/// Verifies the whole stored chain and its head (so entries removed from the end
/// are detected too); returns how many entries verified. `audit_key` is the secret
/// the head is authenticated with.
pub fn verify_stored(db: &Db, audit_key: &[u8]) -> Result<u64, OriginError> {
    let stored = db.query(
        &format!("SELECT {COLUMNS} FROM audit ORDER BY seq"),
        params![],
        stored_from_row,
    )?;
    let count = verify_hashes(stored.iter().map(|(link, details_text)| {
        (
            link,
            hash_with_details(&link.prev_hash, &link.entry, details_text),
        )
    }))?;
    let links: Vec<&Link> = stored.iter().map(|(link, _)| link).collect();
    let head: Option<(i64, String, String)> = db.query_opt(
        "SELECT seq, hash, mac FROM audit_head WHERE id = 1",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let broken = |seq: u64, reason: &str| {
        OriginError::AuditBroken(Broken {
            seq,
            reason: reason.to_string(),
        })
    };
    match (head, links.last()) {
        (None, None) => Ok(0),
        (None, Some(_)) => Err(broken(1, "the chain's head record is missing")),
        (Some((seq, hash, mac)), last) => {
            let seq = seq.max(0) as u64;
            if head_mac(audit_key, seq, &hash) != mac {
                return Err(broken(seq, "the chain's head record was modified"));
            }
            match last {
                Some(l) if l.entry.seq == seq && l.hash == hash => Ok(count),
                Some(l) if l.entry.seq < seq => Err(broken(
                    l.entry.seq + 1,
                    &format!(
                        "entries {}..={seq} were removed from the end",
                        l.entry.seq + 1
                    ),
                )),
                None => Err(broken(1, &format!("entries 1..={seq} were removed"))),
                Some(l) => Err(broken(
                    l.entry.seq,
                    "the newest entry does not match the chain's head record",
                )),
            }
        }
    }
}
