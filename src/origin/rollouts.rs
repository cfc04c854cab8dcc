//! Progressive rollouts: a plan of percentage stages that the origin advances only
//! when each stage has run its duration and the treated variant's edge metrics hold
//! the guards, and rolls back to the starting percentage the moment they do not.
//!
//! Starting a rollout applies its first stage as an ordinary change request, so a
//! high-risk flag's rollout waits for the approvals governance requires. Later
//! stages are applied by the scheduler on the plan's authority; a rollback is an
//! emergency change, like the kill switch. All state is in the database, so a
//! restarted server carries on where it stopped.

use super::auth::Principal;
use super::changes::{self, Applied};
use super::edge_metrics::{self, VariantHealth};
use super::publish;
use super::{audit, governance, rfc3339, webhooks, Op, OriginError};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A guard on a tracked event attributed to the treated variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventGuard {
    /// At most `max` occurrences in a stage (`adverse_event:max=0`).
    Max {
        /// The event name.
        event: String,
        /// Largest count allowed.
        max: u64,
    },
    /// At most `percent` occurrences per 100 evaluations (`checkout_failed:rate<=0.5`).
    Rate {
        /// The event name.
        event: String,
        /// Largest rate allowed, percent of evaluations.
        percent: f64,
    },
}

impl EventGuard {
    /// The tracked event it watches.
    pub fn event(&self) -> &str {
        match self {
            EventGuard::Max { event, .. } | EventGuard::Rate { event, .. } => event,
        }
    }

    /// Parses `EVENT:max=N` or `EVENT:rate<=P`.
    pub fn parse(text: &str) -> Result<EventGuard, OriginError> {
        let bad = || {
            OriginError::BadRequest(format!(
                "guard {text:?} is not `EVENT:max=N` or `EVENT:rate<=PERCENT`"
            ))
        };
        let (event, rule) = text.split_once(':').ok_or_else(bad)?;
        if event.is_empty() {
            return Err(bad());
        }
        if let Some(n) = rule.strip_prefix("max=") {
            let max = n.trim().parse().map_err(|_| bad())?;
            return Ok(EventGuard::Max {
                event: event.into(),
                max,
            });
        }
        if let Some(p) = rule.strip_prefix("rate<=") {
            let percent: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&percent) {
                return Err(bad());
            }
            return Ok(EventGuard::Rate {
                event: event.into(),
                percent,
            });
        }
        Err(bad())
    }
}

/// What must hold for a stage to advance (the seed's thresholds by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guards {
    /// Largest share of failed outcomes, percent.
    pub max_error_rate: f64,
    /// Smallest share of successful outcomes, percent.
    pub min_success_rate: f64,
    /// Largest mean latency of tracked outcomes, milliseconds.
    pub max_latency_ms: f64,
    /// Outcomes (success or failure) needed before a stage is judged.
    pub min_samples: u64,
    /// Guards on tracked events.
    #[serde(default)]
    pub events: Vec<EventGuard>,
    /// Whether metrics posted with client (public) SDK keys count; by default only
    /// server keys' do, since anyone can read a client key out of a web page.
    #[serde(default)]
    pub count_client_metrics: bool,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            max_error_rate: 1.0,
            min_success_rate: 99.0,
            max_latency_ms: 100.0,
            min_samples: 100,
            events: Vec::new(),
            count_client_metrics: false,
        }
    }
}

/// The stages of the seed's progressive rollout.
pub const DEFAULT_STAGES: &[f64] = &[5.0, 15.0, 25.0, 50.0, 75.0, 100.0];

/// A request to start a rollout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Percentages, increasing (default 5, 15, 25, 50, 75, 100).
    #[serde(default)]
    pub stages: Option<Vec<f64>>,
    /// How long each stage runs before it may advance (default `10m`).
    #[serde(default)]
    pub stage_duration: Option<String>,
    /// Error-rate guard (default 1).
    pub max_error_rate: Option<f64>,
    /// Success-rate guard (default 99).
    pub min_success_rate: Option<f64>,
    /// Latency guard (default 100).
    pub max_latency_ms: Option<f64>,
    /// Samples needed (default 100).
    pub min_samples: Option<u64>,
    /// Event guards, `EVENT:max=N` or `EVENT:rate<=P`.
    #[serde(default)]
    pub guards: Vec<String>,
    /// Count client SDK keys' metrics too (default `[rollouts] count_client_metrics`,
    /// itself false).
    pub count_client_metrics: Option<bool>,
    /// The variant rolled out (default: the first that is not the off variant).
    pub variant: Option<String>,
    /// Roll out within this rule instead of the fallthrough.
    pub rule: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

const ACTIVE: &str = "('waiting_approval', 'running', 'paused')";

fn treated_variant(doc: &Value, requested: Option<&str>) -> Result<String, OriginError> {
    let off = doc.get("off_variant").and_then(Value::as_str).unwrap_or("");
    let variants: Vec<&String> = doc
        .get("variants")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    match requested {
        Some(v) if variants.iter().any(|x| *x == v) && v != off => Ok(v.to_string()),
        Some(v) => Err(OriginError::BadRequest(format!(
            "`{v}` is not a variant to roll out (the off variant is `{off}`)"
        ))),
        None => variants
            .into_iter()
            .find(|v| *v != off)
            .cloned()
            .ok_or_else(|| {
                OriginError::BadRequest("the flag has no variant besides its off variant".into())
            }),
    }
}

/// The share of the serve (fallthrough, or rule `rule`) on `variant`.
fn current_percentage(doc: &Value, variant: &str, rule: Option<&str>) -> f64 {
    let serve = match rule {
        Some(id) => doc
            .get("rules")
            .and_then(Value::as_array)
            .and_then(|rules| {
                rules
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
            })
            .and_then(|r| r.get("serve")),
        None => doc.get("fallthrough"),
    };
    let Some(serve) = serve else { return 0.0 };
    if let Some(v) = serve.get("variant").and_then(Value::as_str) {
        return if v == variant { 100.0 } else { 0.0 };
    }
    // Looked up by name, not through a JSON pointer: a variant may be called `a/b`.
    serve
        .get("rollout")
        .and_then(|r| r.get("weights"))
        .and_then(|w| w.get(variant))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// The change setting the rollout's serve to `percent`.
fn stage_change(
    db: &Connection,
    env: &str,
    flag: &str,
    percent: f64,
    variant: &str,
    rule: Option<&str>,
    reason: String,
) -> Result<changes::Proposal, OriginError> {
    let state = publish::load_state(db, env)?;
    let mut p = changes::rollout(&state, env, flag, percent, Some(variant), rule)?;
    p.reason = Some(reason);
    Ok(p)
}

/// Starts a rollout of `flag` in `env`.
pub fn start(
    op: &Op<'_>,
    who: &Principal,
    env: &str,
    flag: &str,
    plan: Plan,
) -> Result<Value, OriginError> {
    let state = publish::load_state(op.db, env)?;
    let row = state
        .flags
        .get(flag)
        .filter(|r| !r.archived)
        .ok_or_else(|| OriginError::NotFound(format!("no flag `{flag}` in `{env}`")))?;
    let active = op
        .db
        .query_row(
            &format!("SELECT id FROM rollouts WHERE environment = ?1 AND flag = ?2 AND status IN {ACTIVE}"),
            params![env, flag],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    if let Some(id) = active {
        return Err(OriginError::Conflict(format!(
            "`{flag}` already has rollout #{id} in progress; pause or abort it first"
        )));
    }
    let variant = treated_variant(&row.document, plan.variant.as_deref())?;
    let rule = plan.rule.clone();
    let start_percentage = current_percentage(&row.document, &variant, rule.as_deref());
    let stages: Vec<f64> = plan
        .stages
        .clone()
        .unwrap_or_else(|| DEFAULT_STAGES.to_vec());
    if stages.is_empty()
        || stages.iter().any(|s| !(*s > 0.0 && *s <= 100.0))
        || stages.windows(2).any(|w| w[0] >= w[1])
    {
        return Err(OriginError::BadRequest(
            "`stages` must be increasing percentages in (0, 100]".into(),
        ));
    }
    // Each stage becomes a weight: refuse now what the engine would refuse then.
    for s in &stages {
        crate::engine::compile::thousandths(*s)
            .map_err(|e| OriginError::BadRequest(format!("stage {e}")))?;
    }
    let stages: Vec<f64> = stages
        .into_iter()
        .filter(|s| *s > start_percentage)
        .collect();
    if stages.is_empty() {
        return Err(OriginError::BadRequest(format!(
            "`{flag}` already serves `{variant}` to {start_percentage}%: no stage is above it"
        )));
    }
    let duration_text = plan.stage_duration.clone().unwrap_or_else(|| "10m".into());
    let duration = humantime::parse_duration(&duration_text).map_err(|e| {
        OriginError::BadRequest(format!(
            "`stage_duration` {duration_text:?} is not a duration such as 10m: {e}"
        ))
    })?;
    let d = Guards::default();
    let guards = Guards {
        max_error_rate: plan.max_error_rate.unwrap_or(d.max_error_rate),
        min_success_rate: plan.min_success_rate.unwrap_or(d.min_success_rate),
        max_latency_ms: plan.max_latency_ms.unwrap_or(d.max_latency_ms),
        min_samples: plan.min_samples.unwrap_or(d.min_samples),
        events: plan
            .guards
            .iter()
            .map(|g| EventGuard::parse(g))
            .collect::<Result<_, _>>()?,
        count_client_metrics: plan
            .count_client_metrics
            .unwrap_or(op.config.count_client_metrics),
    };
    let guarded: Vec<&str> = guards.events.iter().map(EventGuard::event).collect();
    let probed: Vec<&str> = op.config.health.iter().map(|s| s.name.as_str()).collect();
    let unsafe_plan = governance::safety::check_rollout(&row.document, &guarded, &probed);
    if !unsafe_plan.is_empty() {
        return Err(OriginError::Policy(unsafe_plan));
    }
    op.db.execute(
        "INSERT INTO rollouts (environment, flag, variant, rule, stages, stage_index, stage_duration_ms, guards, status,
                               start_percentage, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, 'waiting_approval', ?8, ?9, ?10, ?10)",
        params![env, flag, variant, rule, serde_json::to_string(&stages)?, duration.as_millis() as i64,
                serde_json::to_string(&guards)?, start_percentage, who.name, op.now()],
    )?;
    let id = op.db.last_insert_rowid();
    let reason = plan
        .reason
        .clone()
        .unwrap_or_else(|| format!("rollout #{id}: stage 1 of {}", stages.len()));
    let p = stage_change(
        op.db,
        env,
        flag,
        stages[0],
        &variant,
        rule.as_deref(),
        reason,
    )?;
    let change = changes::submit_and_publish(op, who, p)?;
    let change_id = change["id"].as_i64().unwrap_or_default();
    op.db.execute(
        "UPDATE rollouts SET change_id = ?1 WHERE id = ?2",
        params![change_id, id],
    )?;
    audit::record(
        op,
        &who.name,
        "rollout.started",
        &format!("{env}/{flag}"),
        json!({ "rollout": id, "stages": stages, "variant": variant, "guards": guards, "stage_duration": duration_text, "change": change_id }),
    )?;
    if change["status"] == "applied" {
        mark_running(op, id)?;
    }
    get(op.db, id)
}

/// What one key's batches brought to a rollout stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyFeed {
    /// Token id of the SDK key.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `client` or `server`.
    pub kind: String,
    /// Batches with figures about the treated variant.
    pub batches: u64,
    /// Evaluations of the treated variant they reported.
    pub evaluations: u64,
    /// Outcomes (success or failure) they reported.
    pub samples: u64,
    /// Whether they counted for the guards (client keys' do only when opted in).
    pub counted: bool,
}

/// Adds what a metrics batch says about running rollouts' treated variants to their
/// current stage's figures, and records which key sent it. Only batches whose window
/// ended after the stage began count, so a stage is judged on its own traffic alone;
/// a client key's batch counts only for rollouts that opted in. Returns, per rollout
/// the batch spoke about, whether it counted.
pub fn observe(
    op: &Op<'_>,
    env: &str,
    batch: &crate::metrics::Batch,
    sender: &edge_metrics::Sender,
) -> Result<Value, OriginError> {
    let mut stmt = op.db.prepare(
        "SELECT id, flag, variant, stage_started_ms, stage_metrics, guards, stage_keys FROM rollouts
         WHERE environment = ?1 AND status = 'running'",
    )?;
    let running = stmt
        .query_map(params![env], |r| {
            Ok((
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ),
                (
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    for ((id, flag, variant), (started, stored, guards, keys)) in running {
        if batch.window.end_ms < started.unwrap_or(i64::MAX) {
            continue;
        }
        let seen = edge_metrics::variant_health(batch, &flag, &variant);
        if seen.evaluations == 0 && seen.samples() == 0 && seen.events.is_empty() {
            continue;
        }
        let guards: Guards = serde_json::from_str(&guards)?;
        let counted = !sender.is_client() || guards.count_client_metrics;
        let mut feeds: Vec<KeyFeed> = keys
            .map(|t| serde_json::from_str(&t))
            .transpose()?
            .unwrap_or_default();
        let feed = match feeds.iter().position(|f| f.id == sender.id) {
            Some(i) => &mut feeds[i],
            None => {
                feeds.push(KeyFeed {
                    id: sender.id,
                    name: sender.name.clone(),
                    kind: sender.kind.clone(),
                    ..KeyFeed::default()
                });
                feeds.last_mut().expect("pushed")
            }
        };
        feed.batches = feed.batches.saturating_add(1);
        feed.evaluations = feed.evaluations.saturating_add(seen.evaluations);
        feed.samples = feed.samples.saturating_add(seen.samples());
        feed.counted = counted;
        op.db.execute(
            "UPDATE rollouts SET stage_keys = ?1 WHERE id = ?2",
            params![serde_json::to_string(&feeds)?, id],
        )?;
        out.push(json!({ "rollout": id, "flag": flag, "counted": counted }));
        if !counted {
            continue;
        }
        let mut total: VariantHealth = stored
            .map(|t| serde_json::from_str(&t))
            .transpose()?
            .unwrap_or_default();
        total.merge(&seen);
        op.db.execute(
            "UPDATE rollouts SET stage_metrics = ?1 WHERE id = ?2",
            params![serde_json::to_string(&total)?, id],
        )?;
    }
    Ok(Value::Array(out))
}

fn mark_running(op: &Op<'_>, id: i64) -> Result<(), OriginError> {
    op.db.execute(
        "UPDATE rollouts SET status = 'running', stage_started_ms = ?1, stage_metrics = NULL, stage_keys = NULL, updated_at = ?2 WHERE id = ?3",
        params![op.now_ms, op.now(), id],
    )?;
    Ok(())
}

/// A rollout as the API shows it.
pub fn get(db: &Connection, id: i64) -> Result<Value, OriginError> {
    db.query_row(
        "SELECT id, environment, flag, variant, rule, stages, stage_index, stage_duration_ms, guards, status,
                start_percentage, stage_started_ms, change_id, created_by, created_at, updated_at, last_check, history,
                stage_keys
         FROM rollouts WHERE id = ?1",
        params![id],
        |r| {
            let stages: Value = serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or(Value::Null);
            let index: i64 = r.get(6)?;
            let started: Option<i64> = r.get(11)?;
            let duration: i64 = r.get(7)?;
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "environment": r.get::<_, String>(1)?,
                "flag": r.get::<_, String>(2)?,
                "variant": r.get::<_, String>(3)?,
                "rule": r.get::<_, Option<String>>(4)?,
                "stages": stages,
                "stage": index + 1,
                "percentage": stages.get(index as usize),
                "stage_duration_ms": duration,
                "guards": serde_json::from_str::<Value>(&r.get::<_, String>(8)?).unwrap_or(Value::Null),
                "status": r.get::<_, String>(9)?,
                "start_percentage": r.get::<_, f64>(10)?,
                "stage_started_at": started.map(rfc3339),
                "stage_ends_at": started.map(|s| rfc3339(s + duration)),
                "change_id": r.get::<_, Option<i64>>(12)?,
                "created_by": r.get::<_, String>(13)?,
                "created_at": r.get::<_, String>(14)?,
                "updated_at": r.get::<_, String>(15)?,
                "last_check": r.get::<_, Option<String>>(16)?.and_then(|t| serde_json::from_str::<Value>(&t).ok()),
                "history": serde_json::from_str::<Value>(&r.get::<_, String>(17)?).unwrap_or(json!([])),
                "metrics_keys": r.get::<_, Option<String>>(18)?.and_then(|t| serde_json::from_str::<Value>(&t).ok()).unwrap_or(json!([])),
            }))
        },
    )
    .optional()?
    .ok_or_else(|| OriginError::NotFound(format!("no rollout #{id}")))
}

/// Rollouts of an environment (optionally of one flag), newest first.
pub fn list(db: &Connection, env: &str, flag: Option<&str>) -> Result<Value, OriginError> {
    publish::require_environment(db, env)?;
    let mut stmt = db.prepare("SELECT id FROM rollouts WHERE environment = ?1 AND (?2 IS NULL OR flag = ?2) ORDER BY id DESC")?;
    let ids = stmt
        .query_map(params![env, flag], |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let rollouts = ids
        .into_iter()
        .map(|id| get(db, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "rollouts": rollouts }))
}

fn push_history(op: &Op<'_>, id: i64, event: Value) -> Result<(), OriginError> {
    let history: String = op.db.query_row(
        "SELECT history FROM rollouts WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    let mut list: Vec<Value> = serde_json::from_str(&history)?;
    list.push(event);
    op.db.execute(
        "UPDATE rollouts SET history = ?1, updated_at = ?2 WHERE id = ?3",
        params![serde_json::to_string(&list)?, op.now(), id],
    )?;
    Ok(())
}

/// Pauses, resumes or aborts a rollout.
pub fn control(op: &Op<'_>, who: &Principal, id: i64, action: &str) -> Result<Value, OriginError> {
    let r = get(op.db, id)?;
    let status = r["status"].as_str().unwrap_or_default().to_string();
    let next = match (action, status.as_str()) {
        ("pause", "running") => "paused",
        ("resume", "paused") => "running",
        ("abort", "running" | "paused" | "waiting_approval") => "aborted",
        _ => {
            return Err(OriginError::Conflict(format!(
                "rollout #{id} is {status}; it cannot {action}"
            )))
        }
    };
    op.db.execute(
        "UPDATE rollouts SET status = ?1, updated_at = ?2 WHERE id = ?3",
        params![next, op.now(), id],
    )?;
    if action == "resume" {
        // The stage starts over: metrics from before the pause do not count.
        op.db.execute(
            "UPDATE rollouts SET stage_started_ms = ?1 WHERE id = ?2",
            params![op.now_ms, id],
        )?;
    }
    push_history(
        op,
        id,
        json!({ "at": op.now(), "event": action, "by": who.name }),
    )?;
    let subject = format!("{}/{}", text(&r["environment"]), text(&r["flag"]));
    audit::record(
        op,
        &who.name,
        &format!("rollout.{next}"),
        &subject,
        json!({ "rollout": id }),
    )?;
    get(op.db, id)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// How the guards judged a stage.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// Figures of the treated variant in the stage's window.
    pub figures: Value,
    /// Guards that failed, in words.
    pub breaches: Vec<String>,
    /// Whether there were enough samples to judge the rate guards.
    pub enough_samples: bool,
}

/// Judges the treated variant's health against the guards.
pub fn judge(h: &VariantHealth, g: &Guards) -> Judgement {
    let enough = h.samples() >= g.min_samples.max(1);
    let mut breaches = Vec::new();
    if enough {
        if let Some(rate) = h.error_rate().filter(|r| *r > g.max_error_rate) {
            breaches.push(format!("error rate {rate:.2}% > {}%", g.max_error_rate));
        }
        if let Some(rate) = h.success_rate().filter(|r| *r < g.min_success_rate) {
            breaches.push(format!("success rate {rate:.2}% < {}%", g.min_success_rate));
        }
        if let Some(ms) = h.latency.mean().filter(|ms| *ms > g.max_latency_ms) {
            breaches.push(format!("mean latency {ms:.1} ms > {} ms", g.max_latency_ms));
        }
    }
    for guard in &g.events {
        match guard {
            // Counts need no sample size: one adverse event too many is a breach.
            EventGuard::Max { event, max } => {
                let n = h.events.get(event).copied().unwrap_or(0);
                if n > *max {
                    breaches.push(format!("{event} happened {n} times > {max}"));
                }
            }
            EventGuard::Rate { event, percent } if enough && h.evaluations > 0 => {
                let n = h.events.get(event).copied().unwrap_or(0);
                let rate = 100.0 * n as f64 / h.evaluations as f64;
                if rate > *percent {
                    breaches.push(format!("{event} rate {rate:.2}% > {percent}%"));
                }
            }
            EventGuard::Rate { .. } => {}
        }
    }
    Judgement {
        figures: json!({
            "evaluations": h.evaluations,
            "samples": h.samples(),
            "error_rate": h.error_rate(),
            "success_rate": h.success_rate(),
            "latency_mean_ms": h.latency.mean(),
            "events": h.events,
        }),
        breaches,
        enough_samples: enough,
    }
}

struct Running {
    id: i64,
    env: String,
    flag: String,
    variant: String,
    rule: Option<String>,
    stages: Vec<f64>,
    index: usize,
    duration_ms: i64,
    guards: Guards,
    status: String,
    start_percentage: f64,
    stage_started_ms: i64,
    change_id: Option<i64>,
    stage_metrics: Option<String>,
    stage_keys: Option<String>,
}

fn active(db: &Connection) -> Result<Vec<Running>, OriginError> {
    let mut stmt = db.prepare(
        "SELECT id, environment, flag, variant, rule, stages, stage_index, stage_duration_ms, guards, status,
                start_percentage, stage_started_ms, change_id, stage_metrics, stage_keys
         FROM rollouts WHERE status IN ('waiting_approval', 'running') ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ),
            (
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
            ),
            (
                r.get::<_, f64>(10)?,
                r.get::<_, Option<i64>>(11)?,
                r.get::<_, Option<i64>>(12)?,
                r.get::<_, Option<String>>(13)?,
                r.get::<_, Option<String>>(14)?,
            ),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            (id, env, flag, variant, rule),
            (stages, index, duration_ms, guards, status),
            (start_percentage, started, change_id, stage_metrics, stage_keys),
        ) = row?;
        out.push(Running {
            id,
            env,
            flag,
            variant,
            rule,
            stages: serde_json::from_str(&stages)?,
            index: index.max(0) as usize,
            duration_ms,
            guards: serde_json::from_str(&guards)?,
            status,
            start_percentage,
            stage_started_ms: started.unwrap_or(0),
            change_id,
            stage_metrics,
            stage_keys,
        });
    }
    Ok(out)
}

fn notify(op: &Op<'_>, r: &Running, event: &str, details: Value) -> Result<(), OriginError> {
    let subject = format!("{}/{}", r.env, r.flag);
    audit::record(op, "system", event, &subject, details.clone())?;
    push_history(
        op,
        r.id,
        json!({ "at": op.now(), "event": event, "details": details }),
    )?;
    let mut data = get(op.db, r.id)?;
    data["details"] = details;
    webhooks::enqueue(op, &r.env, event, data)
}

/// At clinical oversight level 3 (continuous) a breach kills the flag as well as
/// setting it back: returns the kill's change id and the people on call, whom the
/// notice names.
fn kill_if_continuous(
    op: &Op<'_>,
    r: &Running,
    reason: &str,
) -> Result<(Option<i64>, Vec<String>), OriginError> {
    let state = publish::load_state(op.db, &r.env)?;
    let Some(row) = state.flags.get(&r.flag) else {
        return Ok((None, Vec::new()));
    };
    if !governance::safety::kills_on_breach(&row.document) {
        return Ok((None, Vec::new()));
    }
    let on_call: Vec<String> = governance::safety::on_call(&row.document)
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut p = changes::kill(&state, &r.env, &r.flag)?;
    p.reason = Some(format!("oversight level 3: {reason}"));
    let killed = changes::apply_system(op, &format!("rollout:{}", r.id), p, true)?.ok();
    Ok((killed, on_call))
}

/// One pass of the scheduler at the operation's time: starts rollouts whose first
/// stage was approved, rolls back those whose guards fail, advances those whose stage
/// has run its course. Returns what it did, one line per action.
pub fn tick(op: &Op<'_>) -> Result<Vec<String>, OriginError> {
    // Scheduled changes come due on the same clock.
    let mut done = super::scheduled::apply_due(op)?;
    for r in active(op.db)? {
        if r.status == "waiting_approval" {
            let status = match r.change_id {
                Some(c) => changes::status(op.db, c)?,
                None => "cancelled".into(),
            };
            match status.as_str() {
                "applied" => {
                    mark_running(op, r.id)?;
                    done.push(format!("rollout #{} approved: stage 1 running", r.id));
                }
                "pending" => {}
                other => {
                    op.db.execute(
                        "UPDATE rollouts SET status = 'aborted', updated_at = ?1 WHERE id = ?2",
                        params![op.now(), r.id],
                    )?;
                    notify(
                        op,
                        &r,
                        "rollout.aborted",
                        json!({ "rollout": r.id, "reason": format!("its first stage was {other}") }),
                    )?;
                    done.push(format!("rollout #{} aborted: first stage {other}", r.id));
                }
            }
            continue;
        }
        let health: VariantHealth = r
            .stage_metrics
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?
            .unwrap_or_default();
        let judgement = judge(&health, &r.guards);
        let percentage = r.stages[r.index.min(r.stages.len() - 1)];
        // The keys whose batches the decision rests on (and those left out).
        let keys: Value = r
            .stage_keys
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?
            .unwrap_or(json!([]));
        let check = json!({ "at": op.now(), "stage": r.index + 1, "percentage": percentage, "figures": judgement.figures,
                            "breaches": judgement.breaches, "enough_samples": judgement.enough_samples, "keys": keys });
        op.db.execute(
            "UPDATE rollouts SET last_check = ?1 WHERE id = ?2",
            params![check.to_string(), r.id],
        )?;
        if !judgement.breaches.is_empty() {
            let reason = format!(
                "rollout #{} rolled back at {percentage}%: {}",
                r.id,
                judgement.breaches.join("; ")
            );
            let p = stage_change(
                op.db,
                &r.env,
                &r.flag,
                r.start_percentage,
                &r.variant,
                r.rule.as_deref(),
                reason.clone(),
            )?;
            let change = changes::apply_system(op, &format!("rollout:{}", r.id), p, true)?;
            let (killed, on_call) = kill_if_continuous(op, &r, &reason)?;
            op.db.execute(
                "UPDATE rollouts SET status = 'rolled_back', updated_at = ?1 WHERE id = ?2",
                params![op.now(), r.id],
            )?;
            notify(
                op,
                &r,
                "rollout.rolled_back",
                json!({ "rollout": r.id, "reason": reason, "from": percentage,
                "to": r.start_percentage, "figures": judgement.figures, "breaches": judgement.breaches, "change": change.ok(),
                "keys": keys, "killed": killed, "on_call": on_call }),
            )?;
            done.push(reason);
            continue;
        }
        if op.now_ms - r.stage_started_ms < r.duration_ms || !judgement.enough_samples {
            continue;
        }
        if r.index + 1 >= r.stages.len() {
            op.db.execute(
                "UPDATE rollouts SET status = 'completed', updated_at = ?1 WHERE id = ?2",
                params![op.now(), r.id],
            )?;
            notify(
                op,
                &r,
                "rollout.completed",
                json!({ "rollout": r.id, "percentage": percentage, "figures": judgement.figures, "keys": keys }),
            )?;
            done.push(format!("rollout #{} completed at {percentage}%", r.id));
            continue;
        }
        let next = r.stages[r.index + 1];
        let reason = format!(
            "rollout #{}: stage {} of {} ({next}%)",
            r.id,
            r.index + 2,
            r.stages.len()
        );
        let p = stage_change(
            op.db,
            &r.env,
            &r.flag,
            next,
            &r.variant,
            r.rule.as_deref(),
            reason,
        )?;
        match changes::apply_system(op, &format!("rollout:{}", r.id), p, false)? {
            Ok(change) => {
                op.db.execute(
                    "UPDATE rollouts SET stage_index = ?1, stage_started_ms = ?2, stage_metrics = NULL, stage_keys = NULL, updated_at = ?3 WHERE id = ?4",
                    params![(r.index + 1) as i64, op.now_ms, op.now(), r.id],
                )?;
                notify(
                    op,
                    &r,
                    "rollout.advanced",
                    json!({ "rollout": r.id, "from": percentage, "to": next,
                    "stage": r.index + 2, "figures": judgement.figures, "change": change, "keys": keys }),
                )?;
                done.push(format!("rollout #{} advanced to {next}%", r.id));
            }
            // A trading-hours freeze or a conflicting edit: try again next time.
            Err(Applied::Blocked(v)) => done.push(format!(
                "rollout #{} held: {}",
                r.id,
                v.iter()
                    .map(|v| v.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Err(other) => done.push(format!("rollout #{} held: {other:?}", r.id)),
        }
    }
    Ok(done)
}
