//! Unleash → Vexil. Input: the client features API (`GET /api/client/features`):
//! `{features: [...], segments: [...]}`.
//!
//! Unleash enables a feature when any of its strategies does, trying them in order;
//! the first enabled strategy decides the variant. Each strategy becomes a rule (or a
//! few: variant overrides, the split, a stand-in for visitors without a stickiness
//! value) whose condition is its constraints, segments and, for a partial rollout, a
//! bucket test hashed as Unleash hashes (`"bucketing": "unleash"`): units outside the
//! percentage fall through to the next strategy, as in Unleash. The last partial
//! rollout of a feature without variants stays a rollout, so Vexil's rollout tools
//! can move it. Feature variants split with `"unleash_variants"`, so every user keeps
//! what Unleash gave them. The Node SDK (`unleash-client` 6) is the reference.

mod constraint;
mod deps;
mod variants;

use super::clauses::{all, always, is_always, is_never, never, test};
use super::{loss, ImportError, Imported, Loss};
use crate::engine::edit::rule_json;
use crate::engine::model::Serve;
use constraint::{constraint, remote_address, split_list};
use serde_json::{json, Map, Value};

/// Translates an Unleash client features document.
pub fn translate(input: &Value) -> Result<Imported, ImportError> {
    let features = input["features"].as_array().ok_or_else(|| {
        ImportError::Format("not an Unleash client features document: no `features` list".into())
    })?;
    let mut out = Imported::default();
    let mut segments = Map::new();
    for s in input["segments"].as_array().into_iter().flatten() {
        let name = format!("unleash-segment-{}", s["id"]);
        let clauses: Vec<Value> = s["constraints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| constraint(c, &name, &mut out.lossy))
            .collect();
        segments.insert(name, all(clauses));
    }
    let mut flags = Vec::new();
    for f in features {
        let key = f["name"].as_str().unwrap_or_default().to_string();
        if key.is_empty() {
            return Err(ImportError::Format("a feature has no `name`".into()));
        }
        flags.push(feature(f, &key, &segments, &mut out.lossy));
    }
    deps::resolve_dependencies(&mut flags, &mut out.lossy);
    out.document.insert("flags".into(), Value::Array(flags));
    out.document
        .insert("segments".into(), Value::Object(segments));
    Ok(out)
}

/// What an enabled strategy (or the feature itself) serves.
enum OnServe {
    /// A fixed variant (`on`, or `enabled` for a feature with variants).
    Fixed(String),
    /// A variant split.
    Split(variants::Split),
}

/// Rules being collected for a feature, and whether a catch-all has been reached.
struct Rules {
    rules: Vec<Value>,
    fallthrough: Option<Value>,
}

impl Rules {
    /// Adds `serve` for contexts matching `when`; a catch-all ends the list.
    fn push(&mut self, id: String, when: Value, serve: Value) {
        if self.fallthrough.is_some() || is_never(&when) {
            return;
        }
        if is_always(&when) {
            self.fallthrough = Some(serve);
        } else {
            self.rules.push(rule_json(&id, when, serve, None));
        }
    }

    /// Adds what `on` serves for contexts matching `when`.
    fn serve(&mut self, id: &str, when: Value, on: &OnServe) {
        match on {
            OnServe::Fixed(v) => self.push(id.to_string(), when, Serve::fixed(v).to_json()),
            OnServe::Split(s) => {
                for (i, (matches, variant)) in s.overrides.iter().enumerate() {
                    self.push(
                        format!("{id}-override-{}", i + 1),
                        all([when.clone(), matches.clone()]),
                        Serve::fixed(variant).to_json(),
                    );
                }
                self.push(
                    id.to_string(),
                    all([when.clone(), s.has_unit.clone()]),
                    s.serve.clone(),
                );
                self.push(
                    format!("{id}-no-unit"),
                    when,
                    Serve::fixed(&s.stand_in).to_json(),
                );
            }
        }
    }
}

/// Where Unleash finds a strategy's rollout unit, as a Vexil `by`; `None` for
/// stickiness Unleash draws at random.
fn strategy_by(name: &str, stickiness: Option<&str>) -> Option<Value> {
    match name {
        "gradualRolloutUserId" => Some(json!("targetingKey")),
        "gradualRolloutSessionId" => Some(json!("sessionId")),
        "gradualRolloutRandom" => None,
        _ => match stickiness.filter(|s| !s.is_empty()) {
            None | Some("default") => Some(json!(["targetingKey", "sessionId"])),
            Some("random") => None,
            Some(other) => Some(json!(constraint::attr(other))),
        },
    }
}

fn feature(f: &Value, key: &str, segments: &Map<String, Value>, lossy: &mut Vec<Loss>) -> Value {
    let kind = match f["type"].as_str() {
        Some("experiment") => "experiment",
        Some("operational") => "ops",
        Some("kill-switch") => "kill_switch",
        Some("permission") => "permission",
        _ => "release",
    };
    let strategies = f["strategies"].as_array().cloned().unwrap_or_default();
    let mut variants = Map::new();
    let mut payloads = Map::new();
    let feature_split = variants::split(
        &f["variants"],
        key,
        None,
        key,
        &mut variants,
        &mut payloads,
        lossy,
    );
    let strategy_splits: Vec<Option<variants::Split>> = strategies
        .iter()
        .map(|s| {
            // Unleash salts strategy variants with the groupId as text ("undefined" without one).
            let group = match s["parameters"].get("groupId") {
                None => "undefined".to_string(),
                Some(Value::Null) => "null".to_string(),
                Some(g) => constraint::js_string(g).unwrap_or_else(|| g.to_string()),
            };
            let sticky = s["parameters"]["stickiness"].as_str();
            variants::split(
                &s["variants"],
                &group,
                sticky,
                key,
                &mut variants,
                &mut payloads,
                lossy,
            )
        })
        .collect();
    // A feature with variants evaluates to the variant name (as OpenFeature string flags
    // do with Unleash's provider); `disabled` is what Unleash answers when off, and
    // `enabled` stands for Unleash's `disabled` variant of an enabled feature.
    let named = !variants.is_empty();
    let (on_name, off) = if named {
        ("enabled", "disabled")
    } else {
        ("on", "off")
    };
    let feature_on = match feature_split {
        Some(s) => OnServe::Split(s),
        None => OnServe::Fixed(on_name.to_string()),
    };
    let mut rules = Rules {
        rules: Vec::new(),
        fallthrough: None,
    };
    // Unleash enables a feature that has no strategies at all.
    if strategies.is_empty() {
        rules.serve("enabled", always(), &feature_on);
    }
    let last_effective = strategies.iter().rposition(is_known);
    let mut strategy_splits = strategy_splits.into_iter();
    for (i, s) in strategies.iter().enumerate() {
        let split = strategy_splits.next().flatten();
        let id = format!("strategy-{}", i + 1);
        let name = s["name"].as_str().unwrap_or_default();
        let p = &s["parameters"];
        let mut when: Vec<Value> = s["constraints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| constraint(c, key, lossy))
            .collect();
        for seg in s["segments"].as_array().into_iter().flatten() {
            let name = format!("unleash-segment-{seg}");
            if segments.contains_key(&name) {
                if lossy.iter().any(|l| l.flag == name) {
                    loss(lossy, key, format!("{id}: uses segment {seg}, whose translation is not faithful (see above)"));
                }
                when.push(json!({ "segment": name }));
            } else {
                // Unleash: a segment it does not have fails the strategy.
                when.push(never());
            }
        }
        // A strategy without variants of its own serves the feature's.
        let own = split.map(OnServe::Split);
        let on = own.as_ref().unwrap_or(&feature_on);
        match name {
            "default" => {}
            "userWithId" => {
                let ids = p["userIds"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(split_list)
                    .unwrap_or_default();
                when.push(if ids.is_empty() {
                    never()
                } else {
                    test(
                        "targetingKey",
                        "in",
                        ids.into_iter().map(Value::from).collect(),
                    )
                });
            }
            "remoteAddress" => {
                let ips = p["IPs"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(split_list)
                    .unwrap_or_default();
                when.push(if ips.is_empty() {
                    never()
                } else {
                    remote_address(&ips)
                });
            }
            "flexibleRollout"
            | "gradualRolloutUserId"
            | "gradualRolloutSessionId"
            | "gradualRolloutRandom" => {
                let param = if name == "flexibleRollout" {
                    "rollout"
                } else {
                    "percentage"
                };
                let pct = match &p[param] {
                    Value::Number(n) => n.as_f64(),
                    v => constraint::js_string(v)
                        .as_deref()
                        .and_then(crate::engine::lenient::js_number),
                }
                .unwrap_or(f64::NAN);
                // Unleash: `percentage > 0 && normalized <= percentage`, normalized 1..=100.
                if pct.is_nan() || pct < 1.0 {
                    continue;
                }
                let pct = pct.min(100.0).floor();
                let group = match name {
                    "flexibleRollout" | "gradualRolloutUserId" | "gradualRolloutSessionId" => {
                        p["groupId"].as_str().unwrap_or_default().to_string()
                    }
                    _ => String::new(),
                };
                let by = strategy_by(name, p["stickiness"].as_str());
                match by {
                    None if pct >= 100.0 => {}
                    None => {
                        loss(lossy, key, format!("{id}: Unleash enables {pct}% of calls at random (random stickiness); here the user id (then the session) decides, sticky"));
                        when.push(bucket(json!(["targetingKey", "sessionId"]), &group, pct));
                    }
                    // Default stickiness falls back to a random number, so everyone is in at 100 %.
                    Some(_) if pct >= 100.0 && default_stickiness(name, p) => {}
                    Some(by) => {
                        // The last strategy of a feature without variants keeps a rollout.
                        if let (OnServe::Fixed(v), true) =
                            (on, last_effective == Some(i) && pct < 100.0)
                        {
                            let mut weights = Map::new();
                            weights.insert(v.clone(), json!(pct));
                            weights.insert(off.to_string(), json!(100.0 - pct));
                            let serve = json!({ "rollout": { "by": by, "salt": group, "bucketing": "unleash",
                                "missing_unit": "fallthrough", "weights": weights } });
                            // A rule (not the fallthrough), so that it can fall through.
                            rules.push_rule(&id, all(when), serve);
                            continue;
                        }
                        when.push(bucket(by, &group, pct));
                    }
                }
            }
            "applicationHostname" => {
                loss(lossy, key, format!("{id}: applicationHostname depends on the host the SDK runs on; the strategy never matches"));
                continue;
            }
            other => {
                loss(lossy, key, format!("{id}: strategy `{other}` is custom code Vexil cannot run; it never matches (as in an SDK that does not register it)"));
                continue;
            }
        }
        rules.serve(&id, all(when), on);
    }
    let fallthrough = rules
        .fallthrough
        .take()
        .unwrap_or_else(|| Serve::fixed(off).to_json());
    let mut all_variants = Map::new();
    if named {
        all_variants = variants;
        all_variants.insert("enabled".into(), json!("enabled"));
        all_variants.insert("disabled".into(), json!("disabled"));
    } else {
        all_variants.insert("on".into(), json!(true));
        all_variants.insert("off".into(), json!(false));
    }
    let mut flag = json!({
        "key": key,
        "kind": kind,
        "enabled": f["enabled"].as_bool().unwrap_or(false),
        "variants": all_variants,
        "off_variant": off,
        "rules": rules.rules,
        "fallthrough": fallthrough,
    });
    if let Some(d) = f["description"].as_str() {
        flag["description"] = json!(d);
    }
    if f["stale"].as_bool() == Some(true) {
        flag["tags"] = json!(["stale"]);
    }
    if !payloads.is_empty() {
        flag["metadata"] = json!({ "unleash_payloads": payloads });
    }
    // Dependencies are resolved once every flag is known (see deps).
    if let Some(d) = f["dependencies"].as_array().filter(|d| !d.is_empty()) {
        flag["unleash_dependencies"] = Value::Array(d.clone());
    }
    flag
}

impl Rules {
    /// Adds a rule even when its condition always holds (a rollout that falls through
    /// needs a rule to fall through from).
    fn push_rule(&mut self, id: &str, when: Value, serve: Value) {
        if self.fallthrough.is_some() || is_never(&when) {
            return;
        }
        self.rules.push(rule_json(id, when, serve, None));
    }
}

/// Whether a strategy is one Unleash evaluates (and the import translates).
fn is_known(s: &Value) -> bool {
    matches!(
        s["name"].as_str(),
        Some(
            "default"
                | "userWithId"
                | "remoteAddress"
                | "flexibleRollout"
                | "gradualRolloutUserId"
                | "gradualRolloutSessionId"
                | "gradualRolloutRandom"
        )
    )
}

/// A flexible rollout on Unleash's default stickiness (user id, session id, then a
/// random number).
fn default_stickiness(name: &str, p: &Value) -> bool {
    name == "flexibleRollout"
        && matches!(
            p["stickiness"].as_str().filter(|s| !s.is_empty()),
            None | Some("default")
        )
}

/// A bucket test: the unit is in the first `pct` percent, hashed as Unleash does.
fn bucket(by: Value, group: &str, pct: f64) -> Value {
    json!({ "bucket": { "by": by, "salt": group, "bucketing": "unleash", "range": [0, pct] } })
}
