//! Publish targets: beside its own snapshot endpoint, the origin copies every newly
//! published envelope to a directory (for static hosting or object-store sync) and
//! to Workers KV through the Cloudflare API. Snapshots are signed, so these channels
//! need no trust: edges verify what they read.
//!
//! A task pushes each environment's newest version to every target after it is
//! published, retrying failures; the outcome of the last attempt per target and
//! environment is kept in `publish_status` and listed by `GET /api/v1/publish-targets`.

use super::api::{PublishTarget, PublishTargetList};
use super::{publish, Origin, OriginError};
use rusqlite::{params, Connection};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Write each environment's envelope to `<path>/<env>/snapshot.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryTarget {
    /// The directory.
    pub path: PathBuf,
}

/// Put each environment's envelope into a Workers KV namespace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvTarget {
    /// Cloudflare account id.
    pub account_id: String,
    /// KV namespace id.
    pub namespace_id: String,
    /// API token (prefer `api_token_env`).
    pub api_token: Option<String>,
    /// Environment variable holding the API token.
    pub api_token_env: Option<String>,
    /// Key pattern; `{env}` is replaced by the environment (default `vexil/{env}/snapshot`).
    #[serde(default = "default_kv_key")]
    pub key: String,
    /// API base URL (default `https://api.cloudflare.com/client/v4`).
    #[serde(default = "default_api_base")]
    pub api_base: String,
}

fn default_kv_key() -> String {
    "vexil/{env}/snapshot".into()
}

fn default_api_base() -> String {
    "https://api.cloudflare.com/client/v4".into()
}

/// Every configured target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Directories.
    #[serde(default)]
    pub directory: Vec<DirectoryTarget>,
    /// Workers KV namespaces.
    #[serde(default)]
    pub cloudflare_kv: Vec<KvTarget>,
}

impl Targets {
    /// Checks what can be checked at start: tokens present.
    pub fn validate(&self) -> Result<(), OriginError> {
        for kv in &self.cloudflare_kv {
            kv.token()?;
        }
        Ok(())
    }

    fn names(&self) -> Vec<String> {
        let dirs = self
            .directory
            .iter()
            .map(|d| format!("directory:{}", d.path.display()));
        let kvs = self
            .cloudflare_kv
            .iter()
            .map(|k| format!("cloudflare_kv:{}/{}", k.account_id, k.namespace_id));
        dirs.chain(kvs).collect()
    }
}

impl KvTarget {
    fn token(&self) -> Result<String, OriginError> {
        match (&self.api_token, &self.api_token_env) {
            (Some(t), _) => Ok(t.clone()),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                OriginError::Config(format!("publish.cloudflare_kv: the environment variable {var} (api_token_env) is not set"))
            }),
            (None, None) => Err(OriginError::Config("publish.cloudflare_kv needs `api_token_env` (or `api_token`)".into())),
        }
    }
}

fn write_directory(target: &DirectoryTarget, env: &str, envelope: &str) -> Result<(), String> {
    let dir = target.path.join(env);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(".snapshot.json.tmp");
    let file = dir.join("snapshot.json");
    std::fs::write(&tmp, envelope).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    // Readers see the old file or the new one, never half of one.
    std::fs::rename(&tmp, &file).map_err(|e| format!("cannot replace {}: {e}", file.display()))
}

fn put_kv(agent: &ureq::Agent, target: &KvTarget, env: &str, envelope: &str) -> Result<(), String> {
    let token = target.token().map_err(|e| e.to_string())?;
    let key = target.key.replace("{env}", env);
    let url = format!(
        "{}/accounts/{}/storage/kv/namespaces/{}/values/{}",
        target.api_base.trim_end_matches('/'),
        crate::url_path::encode_segment(&target.account_id),
        crate::url_path::encode_segment(&target.namespace_id),
        crate::url_path::encode_segment(&key)
    );
    let mut response = agent
        .put(&url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(envelope.as_bytes())
        .map_err(|e| format!("PUT {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let ok = (200..300).contains(&status)
        && serde_json::from_str::<Value>(&body).map_or(true, |v| v["success"] != json!(false));
    if ok {
        Ok(())
    } else {
        Err(format!("PUT {url}: HTTP {status}: {body}"))
    }
}

fn last_pushed(db: &Connection, target: &str, env: &str) -> Result<Option<u64>, OriginError> {
    use rusqlite::OptionalExtension;
    Ok(db
        .query_row(
            "SELECT version FROM publish_status WHERE target = ?1 AND environment = ?2 AND error IS NULL",
            params![target, env],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(|v| v as u64))
}

/// Pushes what is new to every target once; returns how many pushes failed.
pub fn push_once(origin: &Origin, agent: &ureq::Agent) -> Result<usize, OriginError> {
    let targets = &origin.config.publish;
    if targets.directory.is_empty() && targets.cloudflare_kv.is_empty() {
        return Ok(0);
    }
    let names = targets.names();
    let latest = origin.read(|op| {
        let mut out = Vec::new();
        for env in publish::environment_names(op.db)? {
            if let Some(p) = publish::latest(op.db, &env)? {
                let pending: Vec<String> = names
                    .iter()
                    .filter(|n| last_pushed(op.db, n, &env).ok().flatten() != Some(p.version))
                    .cloned()
                    .collect();
                out.push((env, p, pending));
            }
        }
        Ok(out)
    })?;
    let mut failures = 0;
    for (env, snapshot, pending) in latest {
        for (i, name) in names.iter().enumerate() {
            if !pending.contains(name) {
                continue;
            }
            let outcome = match targets.directory.get(i) {
                Some(dir) => write_directory(dir, &env, &snapshot.envelope),
                None => put_kv(
                    agent,
                    &targets.cloudflare_kv[i - targets.directory.len()],
                    &env,
                    &snapshot.envelope,
                ),
            };
            if let Err(e) = &outcome {
                failures += 1;
                super::log(format_args!(
                    "publish target {name}: {env} v{}: {e}",
                    snapshot.version
                ));
            }
            origin.write(|op| {
                op.db.execute(
                    "INSERT INTO publish_status (target, environment, version, at, error) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (target, environment) DO UPDATE SET version = ?3, at = ?4, error = ?5",
                    params![name, env, snapshot.version as i64, op.now(), outcome.as_ref().err()],
                )?;
                Ok(())
            })?;
        }
    }
    Ok(failures)
}

/// Pushes new snapshots to the targets every second, retrying failures with backoff
/// up to a minute.
pub async fn run(origin: Arc<Origin>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut backoff = Duration::from_secs(1);
    loop {
        let (o, a) = (origin.clone(), agent.clone());
        let failures = tokio::task::spawn_blocking(move || push_once(&o, &a)).await;
        backoff = match failures {
            Ok(Ok(0)) => Duration::from_secs(1),
            Ok(Ok(_)) => (backoff * 2).min(Duration::from_secs(60)),
            Ok(Err(e)) => {
                super::log(format_args!("publish targets: {e}"));
                (backoff * 2).min(Duration::from_secs(60))
            }
            Err(e) => {
                super::log(format_args!("publish targets failed: {e}"));
                backoff
            }
        };
        tokio::time::sleep(backoff).await;
    }
}

/// The `GET /api/v1/publish-targets` answer.
pub fn status(db: &Connection) -> Result<PublishTargetList, OriginError> {
    let mut stmt = db.prepare("SELECT target, environment, version, at, error FROM publish_status ORDER BY target, environment")?;
    let rows = stmt.query_map([], |r| {
        Ok(PublishTarget {
            target: r.get(0)?,
            environment: r.get(1)?,
            version: r.get(2)?,
            at: r.get(3)?,
            error: r.get(4)?,
        })
    })?;
    Ok(PublishTargetList {
        targets: rows.collect::<Result<_, _>>()?,
    })
}
