//! Bearer tokens and SDK keys: generated at random, stored as SHA-256 hashes, each
//! with its roles (tokens) or its environment (SDK keys).
//!
//! SDK keys come in two kinds, as LaunchDarkly's do. **Server** keys (`vxs_`) are
//! secret: workers and servers hold them, and their metrics drive rollout guards.
//! **Client** keys (`vxc_`) are public by nature (they ship in browser code): they
//! read the snapshot and OFREP like server keys, and may post metrics for
//! dashboards, but those metrics never drive a rollout unless it opts in.

use super::api::{
    CreatedToken, KeyBatches, Revoked, SdkKeyList, SdkKeyRow, TokenList, TokenRow, WhoAmI,
};
use super::governance::roles as approver;
use super::{Op, OriginError};
use crate::origin::db::{params, Db};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::Serialize;

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Roles a token may hold.
pub const ROLES: &[&str] = &[
    "admin",
    "editor",
    "viewer",
    approver::TECH_LEAD,
    approver::SECURITY,
    approver::PRODUCT_OWNER,
    approver::COMPLIANCE,
    approver::CLINICAL_OVERSIGHT,
    approver::CLINICAL_ENGINEERING,
    approver::IRB,
];

/// Whether a role is one of the approver roles.
pub fn is_approver_role(role: &str) -> bool {
    ROLES[3..].contains(&role)
}

/// The kind of an SDK key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SdkKind {
    /// Public, for browsers and mobile apps: its metrics are labelled and do not
    /// drive rollout guards by default.
    Client,
    /// Secret, for workers and servers: its metrics drive rollout guards.
    Server,
}

impl SdkKind {
    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            SdkKind::Client => "client",
            SdkKind::Server => "server",
        }
    }

    /// Parses `client` or `server`.
    pub fn parse(text: &str) -> Result<SdkKind, OriginError> {
        match text {
            "client" => Ok(SdkKind::Client),
            "server" => Ok(SdkKind::Server),
            other => Err(OriginError::BadRequest(format!(
                "an SDK key's kind is `client` (public, browsers) or `server` (secret, workers and servers), not `{other}`"
            ))),
        }
    }

    /// The prefix of its secrets.
    pub fn prefix(self) -> &'static str {
        match self {
            SdkKind::Client => "vxc_",
            SdkKind::Server => "vxs_",
        }
    }
}

/// Whether `secret` looks like an SDK key of either kind (not a token).
pub fn is_sdk_secret(secret: &str) -> bool {
    secret.starts_with(SdkKind::Client.prefix()) || secret.starts_with(SdkKind::Server.prefix())
}

/// Who is calling.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    /// Token id.
    #[serde(skip)]
    pub id: i64,
    /// The person or system the token belongs to (the four-eyes identity).
    pub name: String,
    /// `token` or `sdk`.
    pub kind: &'static str,
    /// Roles (tokens only).
    pub roles: BTreeSet<String>,
    /// The environment an SDK key belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The kind of an SDK key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_kind: Option<SdkKind>,
}

impl Principal {
    fn has(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Whether the principal may read flags, changes, audit and reports.
    pub fn can_read(&self) -> bool {
        self.kind == "token" && !self.roles.is_empty()
    }

    /// Whether the principal may propose changes.
    pub fn can_edit(&self) -> bool {
        self.kind == "token" && (self.has("editor") || self.has("admin"))
    }

    /// Whether the principal administers the origin.
    pub fn is_admin(&self) -> bool {
        self.kind == "token" && self.has("admin")
    }

    /// Whether the principal may read `env`'s snapshot.
    pub fn can_read_snapshot(&self, env: &str) -> bool {
        self.can_read() || (self.kind == "sdk" && self.environment.as_deref() == Some(env))
    }

    fn refuse(&self, what: &str) -> OriginError {
        OriginError::Forbidden(format!(
            "`{}` (roles: {}) may not {what}",
            self.name,
            if self.roles.is_empty() {
                "none".to_string()
            } else {
                self.roles.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        ))
    }

    /// Fails unless the principal may read.
    pub fn require_read(&self) -> Result<(), OriginError> {
        if self.can_read() {
            Ok(())
        } else {
            Err(self.refuse("read this (SDK keys read only their environment's snapshot)"))
        }
    }

    /// Fails unless the principal may propose changes.
    pub fn require_edit(&self) -> Result<(), OriginError> {
        if self.can_edit() {
            Ok(())
        } else {
            Err(self.refuse("change flags (needs editor or admin)"))
        }
    }

    /// Fails unless the principal is an admin.
    pub fn require_admin(&self) -> Result<(), OriginError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(self.refuse("do this (needs admin)"))
        }
    }
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_secret(prefix: &str) -> Result<String, OriginError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| OriginError::Internal(format!("no randomness available: {e}")))?;
    Ok(format!("{prefix}{}", B64URL.encode(bytes)))
}

/// Finds the principal a bearer secret belongs to.
pub fn authenticate(db: &Db, secret: &str) -> Result<Principal, OriginError> {
    let row = db.query_opt(
        "SELECT id, name, kind, roles, environment, revoked_at, sdk_kind FROM tokens
             WHERE hash = ?1",
        params![hash(secret)],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
                r.get::<Option<String>>(4)?,
                r.get::<Option<String>>(5)?,
                r.get::<Option<String>>(6)?,
            ))
        },
    )?;
    let Some((id, name, kind, roles, environment, revoked, sdk_kind)) = row else {
        return Err(OriginError::Unauthorized("unknown token".into()));
    };
    if revoked.is_some() {
        return Err(OriginError::Unauthorized(format!(
            "the token of `{name}` was revoked"
        )));
    }
    let is_sdk = kind == "sdk";
    Ok(Principal {
        id,
        name,
        kind: if is_sdk { "sdk" } else { "token" },
        roles: serde_json::from_str(&roles)?,
        environment,
        // Keys from before key kinds existed are server keys (migration 5).
        sdk_kind: is_sdk.then_some(match sdk_kind.as_deref() {
            Some("client") => SdkKind::Client,
            _ => SdkKind::Server,
        }),
    })
}

/// A newly created token or SDK key; the secret is never shown again.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// Token id.
    pub id: i64,
    /// Who the token belongs to (a person or a system).
    pub name: String,
    /// Roles (tokens).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Environment (SDK keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Client or server (SDK keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_kind: Option<SdkKind>,
    /// The bearer secret.
    pub token: String,
}

fn check_name(name: &str) -> Result<(), OriginError> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(OriginError::BadRequest(
            "`name` must be 1 to 100 characters".into(),
        ));
    }
    Ok(())
}

/// Creates a bearer token with roles. `name` is the person: stored NFKC-normalised
/// with whitespace collapsed, refused if it has invisible characters, mixes scripts,
/// or is another spelling of (or looks like) an existing token's name (see
/// [`super::identity`]).
pub fn create_token(op: &Op<'_>, name: &str, roles: &[String]) -> Result<Created, OriginError> {
    let existing: Vec<String> = op.db.query(
        "SELECT DISTINCT name FROM tokens WHERE kind = 'token'",
        params![],
        |r| r.get(0),
    )?;
    let name = &super::identity::new_name(name, existing.iter().map(String::as_str))?;
    if roles.is_empty() {
        return Err(OriginError::BadRequest(format!(
            "a token needs at least one role: {}",
            ROLES.join(", ")
        )));
    }
    if let Some(bad) = roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
        return Err(OriginError::BadRequest(format!(
            "unknown role `{bad}`; roles are {}",
            ROLES.join(", ")
        )));
    }
    let roles: BTreeSet<String> = roles.iter().cloned().collect();
    let token = new_secret("vxt_")?;
    let id: i64 = op.db.query_row(
        "INSERT INTO tokens (name, kind, roles, hash, created_at) VALUES (?1, 'token', ?2, ?3, ?4)
         RETURNING id",
        params![name, serde_json::to_string(&roles)?, hash(&token), op.now()],
        |r| r.get::<i64>(0),
    )?;
    Ok(Created {
        id,
        name: name.to_string(),
        roles: roles.into_iter().collect(),
        environment: None,
        sdk_kind: None,
        token,
    })
}

/// Creates an SDK key of `kind` for one environment.
pub fn create_sdk_key(
    op: &Op<'_>,
    name: &str,
    environment: &str,
    kind: SdkKind,
) -> Result<Created, OriginError> {
    check_name(name)?;
    super::publish::require_environment(op.db, environment)?;
    let token = new_secret(kind.prefix())?;
    let id: i64 = op.db.query_row(
        "INSERT INTO tokens (name, kind, roles, environment, hash, created_at, sdk_kind)
         VALUES (?1, 'sdk', '[]', ?2, ?3, ?4, ?5) RETURNING id",
        params![name, environment, hash(&token), op.now(), kind.as_str()],
        |r| r.get::<i64>(0),
    )?;
    Ok(Created {
        id,
        name: name.to_string(),
        roles: Vec::new(),
        environment: Some(environment.to_string()),
        sdk_kind: Some(kind),
        token,
    })
}

/// The SDK keys, without secrets, with what their metrics batches came to.
pub fn list_sdk_keys(db: &Db, environment: Option<&str>) -> Result<SdkKeyList, OriginError> {
    let rows = db.query(
        "SELECT t.id, t.name, t.environment, COALESCE(t.sdk_kind, 'server'), t.created_at, t.revoked_at,
                COALESCE(b.accepted, 0), COALESCE(b.rejected, 0), b.last_rejected_at, b.last_rejection
         FROM tokens t LEFT JOIN sdk_key_batches b ON b.token_id = t.id
         WHERE t.kind = 'sdk' AND (CAST(?1 AS TEXT) IS NULL OR t.environment = ?1) ORDER BY t.id",
        params![environment],
        |r| {
            Ok(SdkKeyRow {
                id: r.get(0)?,
                name: r.get(1)?,
                environment: r.get(2)?,
                sdk_kind: r.get(3)?,
                created_at: r.get(4)?,
                revoked_at: r.get(5)?,
                batches: KeyBatches {
                    accepted: r.get(6)?,
                    rejected: r.get(7)?,
                    last_rejected_at: r.get(8)?,
                    last_rejection: r.get(9)?,
                },
            })
        },
    )?;
    Ok(SdkKeyList { sdk_keys: rows })
}

impl From<Created> for CreatedToken {
    fn from(c: Created) -> Self {
        CreatedToken {
            id: c.id,
            name: c.name,
            roles: c.roles,
            environment: c.environment,
            sdk_kind: c.sdk_kind.map(|k| k.as_str().to_string()),
            token: c.token,
        }
    }
}

impl From<&Principal> for WhoAmI {
    fn from(p: &Principal) -> Self {
        WhoAmI {
            name: p.name.clone(),
            kind: p.kind.to_string(),
            roles: p.roles.iter().cloned().collect(),
            environment: p.environment.clone(),
            sdk_kind: p.sdk_kind.map(|k| k.as_str().to_string()),
        }
    }
}

/// Every token and SDK key, without secrets.
pub fn list(db: &Db) -> Result<TokenList, OriginError> {
    let rows = db.query(
        "SELECT id, name, kind, roles, environment, created_at, revoked_at, sdk_kind FROM tokens
         ORDER BY id",
        params![],
        |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                roles: serde_json::from_str(&r.get::<String>(3)?).unwrap_or_default(),
                environment: r.get(4)?,
                created_at: r.get(5)?,
                revoked_at: r.get(6)?,
                sdk_kind: r.get(7)?,
            })
        },
    )?;
    Ok(TokenList { tokens: rows })
}

/// Revokes a token or SDK key.
pub fn revoke(op: &Op<'_>, id: i64) -> Result<Revoked, OriginError> {
    let changed = op.db.execute(
        "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![op.now(), id],
    )?;
    if changed == 0 {
        let exists: bool = op
            .db
            .query_opt("SELECT 1 FROM tokens WHERE id = ?1", params![id], |_| {
                Ok(true)
            })?
            .unwrap_or(false);
        return Err(if exists {
            OriginError::Conflict(format!("token {id} is already revoked"))
        } else {
            OriginError::NotFound(format!("no token {id}"))
        });
    }
    Ok(Revoked {
        id,
        revoked_at: op.now(),
    })
}
