//! The tamper-evident audit chain.
//!
//! Every entry's hash is `sha256(previous hash || canonical JSON of the entry)`, hex
//! encoded; the first entry chains from [`GENESIS`]. Canonical JSON has object keys
//! sorted at every depth and no insignificant whitespace, so the hash depends only on
//! the entry's content, whoever serialises it. Changing, removing, reordering or
//! inserting an entry breaks every hash after it, which [`verify`] reports.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The hash the first entry chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When, RFC 3339.
    pub at: String,
    /// Who: a token name, `system`, or an edge's pseudonymised unit.
    pub actor: String,
    /// What kind of event (`change.applied`, `flag.killed`, `evaluation.denied`, ...).
    pub action: String,
    /// What it concerns (`production/enhanced-order-routing-v2`).
    pub subject: String,
    /// Event details.
    #[serde(default)]
    pub details: Value,
}

/// An entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Hash of the previous link ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// `sha256(prev_hash || canonical(entry))`, hex.
    pub hash: String,
}

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
    let body = serde_json::to_value(entry).unwrap_or(Value::Null);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical_json(&body).as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Appends `entry` after `last` (or starts the chain), numbering it.
pub fn append(last: Option<&Link>, mut entry: Entry) -> Link {
    let prev_hash = last.map_or(GENESIS, |l| l.hash.as_str()).to_string();
    entry.seq = last.map_or(1, |l| l.entry.seq + 1);
    let hash = link_hash(&prev_hash, &entry);
    Link {
        entry,
        prev_hash,
        hash,
    }
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct Broken {
    /// The first entry that does not verify.
    pub seq: u64,
    /// Why.
    pub reason: String,
}

/// Verifies a whole chain, oldest first; returns how many entries verified.
pub fn verify<'a>(links: impl IntoIterator<Item = &'a Link>) -> Result<u64, Broken> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for link in links {
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
        if link_hash(&link.prev_hash, &link.entry) != link.hash {
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
