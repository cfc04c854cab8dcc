//! Publish targets: beside its own snapshot endpoint, the origin copies every newly
//! published envelope to a directory (for static hosting or object-store sync) and
//! to Workers KV through the Cloudflare API. Snapshots are signed, so these channels
//! need no trust: edges verify what they read.
//!
//! A task, a live consumer of the [`outbox`], pushes each environment's newest
//! version to every target after the stream says it was published, retrying
//! failures; the outcome of the last attempt per target and
//! environment is kept in `publish_status` and listed by `GET /api/v1/publish-targets`.

use super::api::{PublishTarget, PublishTargetList};
use super::outbox::{self, DomainEvent};
use super::{publish, Origin, OriginError};
use crate::origin::db::{params, Db};
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

fn last_pushed(db: &Db, target: &str, env: &str) -> Result<Option<u64>, OriginError> {
    Ok(db
        .query_opt(
            "SELECT version FROM publish_status
             WHERE target = ?1 AND environment = ?2 AND error IS NULL",
            params![target, env],
            |r| r.get::<i64>(0),
        )?
        .map(|v| v as u64))
}

/// The targets' name in `outbox_positions`.
const CONSUMER: &str = "publish_targets";

/// The environments to look at: every one on the first pass (a target added to the
/// settings since the last run gets every current snapshot); afterwards those the
/// outbox says were published since the targets' position, and those a target failed
/// (retried). Returns them with the stream position they bring the targets to.
fn to_push(origin: &Origin, first: bool) -> Result<(Vec<String>, i64), OriginError> {
    origin.read(|op| {
        let mut at = outbox::position(op.db, CONSUMER)?;
        let mut envs: Vec<String> = Vec::new();
        loop {
            let batch = outbox::after(op.db, at, 1000)?;
            let Some(last) = batch.last().map(|r| r.seq) else {
                break;
            };
            for recorded in batch {
                if let DomainEvent::SnapshotPublished { environment, .. } = recorded.event {
                    if !envs.contains(&environment) {
                        envs.push(environment);
                    }
                }
            }
            at = last;
        }
        let failed = op.db.query(
            "SELECT DISTINCT environment FROM publish_status WHERE error IS NOT NULL",
            params![],
            |r| r.get::<String>(0),
        )?;
        let all = publish::environment_names(op.db)?;
        let wanted = all
            .into_iter()
            .filter(|env| first || envs.contains(env) || failed.contains(env))
            .collect();
        Ok((wanted, at))
    })
}

/// Pushes what is new to every target once; returns how many pushes failed.
///
/// A live consumer of the outbox: its position (`publish_targets`) advances after
/// the pass, so a crash before that pushes the same snapshots again, which is
/// harmless (a target holds each environment's newest envelope, written whole).
pub fn push_once(origin: &Origin, agent: &ureq::Agent, first: bool) -> Result<usize, OriginError> {
    let targets = &origin.config.publish;
    if targets.directory.is_empty() && targets.cloudflare_kv.is_empty() {
        return Ok(0);
    }
    let names = targets.names();
    let (envs, position) = to_push(origin, first)?;
    let latest = origin.read(|op| {
        let mut out = Vec::new();
        for env in envs {
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
                    "INSERT INTO publish_status (target, environment, version, at, error)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (target, environment) DO UPDATE SET version = ?3, at = ?4, error = ?5",
                    params![name, env, snapshot.version as i64, op.now(), outcome.as_ref().err()],
                )?;
                Ok(())
            })?;
        }
    }
    origin.write(|op| outbox::set_position(op.db, CONSUMER, position))?;
    Ok(failures)
}

/// Pushes new snapshots to the targets every second, retrying failures with backoff
/// up to a minute.
/// Only while this replica leads (see [`super::leader`]); a new term pushes
/// everything again, as a start does.
pub async fn run(origin: Arc<Origin>, leader: super::leader::Leadership) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut backoff = Duration::from_secs(1);
    let mut first = true;
    let mut term = leader.term();
    loop {
        leader.until_leading().await;
        if leader.term() != term {
            term = leader.term();
            first = true;
        }
        let (o, a) = (origin.clone(), agent.clone());
        let failures = tokio::task::spawn_blocking(move || push_once(&o, &a, first)).await;
        if let Ok(Ok(_)) = failures {
            first = false;
        }
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
pub fn status(db: &Db) -> Result<PublishTargetList, OriginError> {
    let rows = db.query(
        "SELECT target, environment, version, at, error FROM publish_status
         ORDER BY target, environment",
        params![],
        |r| {
            Ok(PublishTarget {
                target: r.get(0)?,
                environment: r.get(1)?,
                version: r.get(2)?,
                at: r.get(3)?,
                error: r.get(4)?,
            })
        },
    )?;
    Ok(PublishTargetList { targets: rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(out: &std::path::Path, env: &str) -> Option<String> {
        std::fs::read_to_string(out.join(env).join("snapshot.json")).ok()
    }

    #[test]
    fn targets_follow_the_outbox_and_a_crash_only_pushes_again() {
        let data = tempfile::tempdir().unwrap();
        crate::origin::init(data.path(), None).unwrap();
        let out = data.path().join("out");
        std::fs::write(
            data.path().join(crate::origin::CONFIG_FILE),
            format!(
                "[[publish.directory]]\npath = {:?}\n",
                out.display().to_string()
            ),
        )
        .unwrap();
        let origin = Origin::open(data.path(), Arc::new(crate::origin::system_now_ms)).unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let newest = |env: &str| {
            origin
                .read(|op| Ok(publish::latest(op.db, env)?.map(|p| p.envelope)))
                .unwrap()
        };

        assert_eq!(push_once(&origin, &agent, true).unwrap(), 0);
        for env in crate::origin::DEFAULT_ENVIRONMENTS {
            assert_eq!(pushed(&out, env), newest(env), "{env} pushed");
        }
        // Only what the stream says was published is pushed after the first pass.
        std::fs::remove_file(out.join("production").join("snapshot.json")).unwrap();
        let before = pushed(&out, "development");
        origin
            .write(|op| publish::publish(op, "development"))
            .unwrap();
        assert_eq!(push_once(&origin, &agent, false).unwrap(), 0);
        assert_ne!(pushed(&out, "development"), before);
        assert_eq!(pushed(&out, "development"), newest("development"));
        assert_eq!(pushed(&out, "production"), None, "not published again");
        // Driven by the stream, not by polling every environment: one the stream
        // says nothing new of is not looked at.
        origin
            .write(|op| {
                op.db.execute(
                    "DELETE FROM publish_status WHERE environment = 'production'",
                    params![],
                )?;
                Ok(())
            })
            .unwrap();
        assert_eq!(push_once(&origin, &agent, false).unwrap(), 0);
        assert_eq!(pushed(&out, "production"), None, "nothing new published");
        let position = origin.read(|op| outbox::position(op.db, CONSUMER)).unwrap();
        assert_eq!(position, origin.read(|op| outbox::head(op.db)).unwrap());
        // A crash after production was pushed, before its status and the position
        // committed: the same events are read again and it is pushed again,
        // harmlessly; what was recorded as pushed is not.
        origin
            .write(|op| outbox::set_position(op.db, CONSUMER, 0))
            .unwrap();
        std::fs::remove_file(out.join("staging").join("snapshot.json")).unwrap();
        assert_eq!(push_once(&origin, &agent, false).unwrap(), 0);
        assert_eq!(pushed(&out, "staging"), None, "recorded as pushed");
        assert_eq!(pushed(&out, "production"), newest("production"));
    }
}
