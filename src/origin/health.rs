//! Health probes of the systems flags depend on (the seed checks that the clinical
//! alert system and vital-signs monitoring are up before a clinical flag serves).
//!
//! `[[health.systems]]` in `vexil.toml` declares a system by the name flags use in
//! `affected_systems` or `clinical_systems_affected`, and an HTTP endpoint the origin
//! polls. After `failures` consecutive failed checks (a non-2xx answer, a timeout, a
//! refused connection) the system is *down*: every enabled flag that depends on it is
//! killed (`action = "kill"`, the kill switch's emergency path) or its running
//! rollouts are paused (`action = "pause"`), audited as `system.down` and sent to
//! webhooks. When the system answers again for `failures` consecutive checks it is
//! *up* (`system.up`); the flags it killed stay off until a person enables them,
//! unless `recovery = "auto"`, which re-enables exactly the flags whose last change
//! was this probe's kill.

use super::api::{SystemDown, SystemUp};
use super::auth::Principal;
use super::outbox::{self, DomainEvent};
use super::{audit, changes, publish, rollouts, Op, Origin, OriginError};
use crate::engine::edit::FlagDoc;
use crate::origin::db::params;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// What a failing system does to the flags that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Kill them (serve their off variant).
    Kill,
    /// Pause their running rollouts where they stand.
    Pause,
}

/// How flags come back once the system is up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    /// A person enables them (the default: a clinician decides the system is safe).
    Manual,
    /// The probe re-enables the flags it killed (and resumes the rollouts it paused).
    Auto,
}

/// One probed system, as `[[health.systems]]` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    /// The name flags list in `affected_systems` or `clinical_systems_affected`.
    pub name: String,
    /// The health endpoint: any 2xx answer is healthy.
    pub url: String,
    /// Time between checks.
    pub interval: Duration,
    /// How long one check may take.
    pub timeout: Duration,
    /// Consecutive failures before the system is down, and successes before it is up.
    pub failures: u32,
    /// What happens to dependent flags when it goes down.
    pub action: Action,
    /// How they come back.
    pub recovery: Recovery,
}

/// `[[health.systems]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSection {
    name: String,
    url: String,
    interval: Option<String>,
    timeout: Option<String>,
    failures: Option<u32>,
    action: Option<Action>,
    recovery: Option<Recovery>,
}

/// `[health]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    #[serde(default)]
    systems: Vec<SystemSection>,
}

impl HealthSection {
    /// The systems, validated; `duration` parses a setting with its default.
    pub fn systems(
        self,
        duration: impl Fn(&str, Option<String>, &str) -> Result<Duration, OriginError>,
    ) -> Result<Vec<System>, OriginError> {
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        for (i, s) in self.systems.into_iter().enumerate() {
            let at = format!("health.systems[{i}]");
            let bad = |m: String| OriginError::Config(format!("`{at}`: {m}"));
            if s.name.trim().is_empty() || !names.insert(s.name.clone()) {
                return Err(bad(format!("`name` \"{}\" is empty or used twice", s.name)));
            }
            if !(s.url.starts_with("http://") || s.url.starts_with("https://")) {
                return Err(bad(format!(
                    "`url` \"{}\" is not an http:// or https:// URL",
                    s.url
                )));
            }
            let interval = duration(&format!("{at}.interval"), s.interval, "10s")?;
            let timeout = duration(&format!("{at}.timeout"), s.timeout, "2s")?;
            if interval < Duration::from_millis(100) || timeout.is_zero() || timeout > interval {
                return Err(bad(
                    "`interval` is at least 100ms and `timeout` between 0 and `interval`".into(),
                ));
            }
            out.push(System {
                name: s.name,
                url: s.url,
                interval,
                timeout,
                failures: s.failures.unwrap_or(3).clamp(1, 100),
                action: s.action.unwrap_or(Action::Kill),
                recovery: s.recovery.unwrap_or(Recovery::Manual),
            });
        }
        Ok(out)
    }
}

/// What one check changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to do.
    Same,
    /// The system just went down.
    Down,
    /// The system just came back.
    Up,
}

/// A system's consecutive results: pure, so the thresholds are tested without a network.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    down: bool,
    streak: u32,
}

impl Tracker {
    /// Records one check against a threshold of `needed` consecutive results.
    pub fn observe(&mut self, healthy: bool, needed: u32) -> Transition {
        // The streak counts results that would change the state.
        if healthy == self.down {
            self.streak += 1;
        } else {
            self.streak = 0;
        }
        if self.streak < needed {
            return Transition::Same;
        }
        self.streak = 0;
        self.down = !self.down;
        if self.down {
            Transition::Down
        } else {
            Transition::Up
        }
    }

    /// Whether the system is down.
    pub fn is_down(&self) -> bool {
        self.down
    }
}

/// Whether `flag` depends on `system`.
pub fn depends_on(flag: &Value, system: &str) -> bool {
    ["affected_systems", "clinical_systems_affected"]
        .iter()
        .any(|field| {
            flag.get(field)
                .and_then(Value::as_array)
                .is_some_and(|list| list.iter().any(|s| s.as_str() == Some(system)))
        })
}

fn actor(system: &System) -> String {
    format!("health:{}", system.name)
}

fn as_principal(system: &System) -> Principal {
    Principal {
        id: 0,
        name: actor(system),
        kind: "system",
        roles: BTreeSet::new(),
        environment: None,
        sdk_kind: None,
    }
}

/// The system went down: kill or pause what depends on it, audited and announced.
pub fn went_down(op: &Op<'_>, system: &System, error: &str) -> Result<SystemDown, OriginError> {
    let (mut killed, mut paused, mut held) = (Vec::new(), Vec::new(), Vec::new());
    for env in publish::environment_names(op.db)? {
        let state = publish::load_state(op.db, &env)?;
        for (key, row) in &state.flags {
            if row.archived || !depends_on(&row.document, &system.name) {
                continue;
            }
            match system.action {
                Action::Kill if FlagDoc(&row.document).enabled() => {
                    let mut p = changes::kill(&state, &env, key)?;
                    p.reason = Some(format!("{} is down: {error}", system.name));
                    match changes::apply_system(op, &actor(system), p, true)? {
                        Ok(_) => killed.push(format!("{env}/{key}")),
                        Err(why) => held.push(format!("{env}/{key}: {why:?}")),
                    }
                }
                Action::Kill => {}
                Action::Pause => {
                    for id in rollouts_in(op, &env, key, "running")? {
                        rollouts::control(op, &as_principal(system), id, "pause")?;
                        paused.push(id);
                    }
                }
            }
        }
    }
    let details = SystemDown {
        system: system.name.clone(),
        url: system.url.clone(),
        error: error.into(),
        failures: system.failures,
        action: system.action_name().into(),
        killed,
        paused_rollouts: paused,
        not_applied: held,
        recovery: system.recovery_name().into(),
    };
    announce(op, system, "system.down", details)
}

/// The system is up again: with `recovery = "auto"`, undo what its probe did.
pub fn came_up(op: &Op<'_>, system: &System) -> Result<SystemUp, OriginError> {
    let (mut enabled, mut resumed) = (Vec::new(), Vec::new());
    if system.recovery == Recovery::Auto {
        for env in publish::environment_names(op.db)? {
            let state = publish::load_state(op.db, &env)?;
            for key in state.flags.keys() {
                if system.action == Action::Kill
                    && last_change_by(op, &env, key)? == Some(actor(system))
                {
                    let mut p = changes::enable(&state, &env, key)?;
                    p.reason = Some(format!("{} is up again", system.name));
                    if changes::apply_system(op, &actor(system), p, false)?.is_ok() {
                        enabled.push(format!("{env}/{key}"));
                    }
                }
                if system.action == Action::Pause {
                    for id in rollouts_in(op, &env, key, "paused")? {
                        if paused_by(op, id)? == Some(actor(system)) {
                            rollouts::control(op, &as_principal(system), id, "resume")?;
                            resumed.push(id);
                        }
                    }
                }
            }
        }
    }
    let details = SystemUp {
        system: system.name.clone(),
        url: system.url.clone(),
        recovery: system.recovery_name().into(),
        enabled,
        resumed_rollouts: resumed,
    };
    announce(op, system, "system.up", details)
}

impl System {
    fn action_name(&self) -> &'static str {
        match self.action {
            Action::Kill => "kill",
            Action::Pause => "pause",
        }
    }

    fn recovery_name(&self) -> &'static str {
        match self.recovery {
            Recovery::Manual => "manual",
            Recovery::Auto => "auto",
        }
    }
}

/// Audits `details` as `event` and sends it to every environment's webhooks.
fn announce<T: serde::Serialize + Clone + Into<DomainEvent>>(
    op: &Op<'_>,
    system: &System,
    event: &str,
    details: T,
) -> Result<T, OriginError> {
    let shown = serde_json::to_value(&details)?;
    audit::record(op, &actor(system), event, &system.name, shown)?;
    outbox::emit(op, details.clone().into())?;
    Ok(details)
}

fn rollouts_in(op: &Op<'_>, env: &str, flag: &str, status: &str) -> Result<Vec<i64>, OriginError> {
    let ids = op.db.query(
        "SELECT id FROM rollouts WHERE environment = ?1 AND flag = ?2 AND status = ?3 ORDER BY id",
        params![env, flag, status],
        |r| r.get(0),
    )?;
    Ok(ids)
}

/// The author of the last applied change of a flag.
fn last_change_by(op: &Op<'_>, env: &str, flag: &str) -> Result<Option<String>, OriginError> {
    Ok(op.db.query_opt(
        "SELECT author FROM changes WHERE environment = ?1 AND target = ?2 AND status = 'applied'
             AND kind IN ('create', 'update', 'rollout', 'enable', 'kill', 'rollback', 'promote')
             ORDER BY id DESC LIMIT 1",
        params![env, flag],
        |r| r.get(0),
    )?)
}

/// Who last paused a rollout, from its history.
fn paused_by(op: &Op<'_>, id: i64) -> Result<Option<String>, OriginError> {
    let history: String = op.db.query_row(
        "SELECT history FROM rollouts WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    let list: Vec<Value> = serde_json::from_str(&history)?;
    Ok(list
        .iter()
        .rev()
        .find(|e| e["event"] == "pause")
        .and_then(|e| e["by"].as_str().map(str::to_string)))
}

/// One check: healthy, or why not.
fn check(agent: &ureq::Agent, url: &str) -> Result<(), String> {
    match agent.get(url).call() {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("answered {}", r.status().as_u16())),
        Err(e) => Err(e.to_string()),
    }
}

/// Probes every declared system forever, each at its own interval.
/// Probes run only while this replica leads (see [`super::leader`]): one replica
/// records each transition.
pub async fn run(
    origin: Arc<Origin>,
    wake: Arc<tokio::sync::Notify>,
    leader: super::leader::Leadership,
) {
    for system in origin.config.health.clone() {
        tokio::spawn(probe(origin.clone(), wake.clone(), system, leader.clone()));
    }
}

async fn probe(
    origin: Arc<Origin>,
    wake: Arc<tokio::sync::Notify>,
    system: System,
    leader: super::leader::Leadership,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(system.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut tracker = Tracker::default();
    loop {
        leader.until_leading().await;
        let (a, url) = (agent.clone(), system.url.clone());
        let result = tokio::task::spawn_blocking(move || check(&a, &url))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        let transition = tracker.observe(result.is_ok(), system.failures);
        let (o, s) = (origin.clone(), system.clone());
        let done = match transition {
            Transition::Same => None,
            Transition::Down => {
                let error = result.err().unwrap_or_default();
                Some(
                    tokio::task::spawn_blocking(move || {
                        o.write(|op| went_down(op, &s, &error).map(drop))
                    })
                    .await,
                )
            }
            Transition::Up => Some(
                tokio::task::spawn_blocking(move || o.write(|op| came_up(op, &s).map(drop))).await,
            ),
        };
        match done {
            Some(Ok(Ok(_))) => wake.notify_one(),
            Some(Ok(Err(e))) => eprintln!("vexil: health probe {}: {e}", system.name),
            Some(Err(e)) => eprintln!("vexil: health probe {}: {e}", system.name),
            None => {}
        }
        tokio::time::sleep(system.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_system_goes_down_and_up_after_consecutive_results() {
        let mut t = Tracker::default();
        assert_eq!(t.observe(false, 3), Transition::Same);
        assert_eq!(t.observe(false, 3), Transition::Same);
        assert_eq!(
            t.observe(true, 3),
            Transition::Same,
            "a success resets the streak"
        );
        assert_eq!(t.observe(false, 3), Transition::Same);
        assert_eq!(t.observe(false, 3), Transition::Same);
        assert_eq!(t.observe(false, 3), Transition::Down);
        assert!(t.is_down());
        assert_eq!(
            t.observe(false, 3),
            Transition::Same,
            "down is reported once"
        );
        assert_eq!(t.observe(true, 3), Transition::Same);
        assert_eq!(t.observe(true, 3), Transition::Same);
        assert_eq!(t.observe(true, 3), Transition::Up);
        assert_eq!(t.observe(true, 1), Transition::Same);
        assert_eq!(t.observe(false, 1), Transition::Down);
    }

    #[test]
    fn flags_depend_on_the_systems_they_name() {
        let flag = json!({"affected_systems": ["order_routing"], "clinical_systems_affected": ["clinical_alerts"]});
        assert!(depends_on(&flag, "clinical_alerts") && depends_on(&flag, "order_routing"));
        assert!(!depends_on(&flag, "vital_signs") && !depends_on(&json!({}), "clinical_alerts"));
    }
}
