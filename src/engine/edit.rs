//! Reading and editing a flag document as its author wrote it.
//!
//! The origin stores, and the importers build, flag documents as JSON: a flag keeps
//! descriptive fields the model does not know (`clinical_impact`, `on_call`, ...) and
//! its author's key order (native builds use `serde_json/preserve_order`). This
//! module is the one place that reads and changes the parts the model defines —
//! the kill switch, variants, rules and their serves, rollout splits — on that JSON,
//! through the model's own types ([`Serve`], [`Prerequisite`]) and the engine's own
//! percentage conversion ([`thousandths`]): which variant a rollout treats, what a
//! serve gives out, and how a split is rewritten are decided here and nowhere else.
//!
//! Pure, as the rest of the engine: no I/O.

use super::bucket::{default_total, total_fits};
use super::compile::thousandths;
use super::hash::BUCKETS;
use super::kinds::Bucketing;
use super::model::{Prerequisite, Rollout, Serve};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Which serve of a flag: its fallthrough, or the serve of the rule with an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeAt<'a> {
    /// The flag's `fallthrough`, served when no rule matches.
    Fallthrough,
    /// The `serve` of the rule whose `id` this is.
    Rule(&'a str),
}

impl<'a> From<Option<&'a str>> for ServeAt<'a> {
    /// `None` is the fallthrough, `Some(id)` rule `id`: how the API names a serve.
    fn from(rule: Option<&'a str>) -> Self {
        rule.map_or(ServeAt::Fallthrough, ServeAt::Rule)
    }
}

/// Why a flag document cannot be read or edited as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The document is not a JSON object.
    #[error("`flag` must be a JSON object (a flag document)")]
    NotAnObject,
    /// A percentage the engine could not serve (out of 0..100, or more than three
    /// decimals); the text is [`thousandths`]'s.
    #[error("percentage {0}")]
    Percentage(String),
    /// A rollout needs an off variant to give the rest of the units.
    #[error("flag `{flag}` has no `off_variant` to roll out against")]
    NoOffVariant {
        /// The flag's key.
        flag: String,
    },
    /// The requested variant is not one of the flag's, or is its off variant.
    #[error("variant `{variant}` is not one of `{flag}`'s variants other than the off variant `{off}`: {variants}")]
    NotTreatable {
        /// The flag's key.
        flag: String,
        /// The variant asked for.
        variant: String,
        /// The flag's off variant.
        off: String,
        /// The flag's variants, comma-separated.
        variants: String,
    },
    /// Every variant of the flag is its off variant.
    #[error("flag `{flag}` has no variant besides `{off}`")]
    NothingToTreat {
        /// The flag's key.
        flag: String,
        /// The flag's off variant.
        off: String,
    },
    /// No rule has the id asked for.
    #[error("flag `{flag}` has no rule `{rule}`")]
    NoRule {
        /// The flag's key.
        flag: String,
        /// The rule id asked for.
        rule: String,
    },
    /// The serve splits between more than the treated and the off variant: a
    /// percentage cannot say how to share the rest.
    #[error("this rollout splits between {0} variants; change its weights with `flag update`")]
    ManyWayRollout(usize),
    /// The rollout places its units at fewer positions than the bucket space has
    /// thousandths (a `total`, or a coarse bucketing), and the percentage is not
    /// within 0.001 of a whole number of them (see [`ServeMut::set_split`]).
    #[error("percentage {percent} cannot be served exactly: this rollout places its units at {positions} evenly spaced positions ({why}), so it serves whole numbers of them; the nearest are {below} ({below_n} of {positions}) and {above} ({above_n} of {positions})")]
    Inexpressible {
        /// The percentage asked for.
        percent: String,
        /// How many positions the rollout's units sit at.
        positions: u32,
        /// Where that number comes from: the rollout's `total` or its bucketing.
        why: String,
        /// The nearest percentage below that the rollout can serve.
        below: String,
        /// How many positions that is.
        below_n: u32,
        /// The nearest percentage above that the rollout can serve.
        above: String,
        /// How many positions that is.
        above_n: u32,
    },
}

impl Serve {
    /// What this serve gives out, as variant → percent of units in the order written:
    /// a fixed variant is all of it, the caller's default nothing, a rollout what its
    /// weights serve. Where units sit at fewer positions than the bucket space has
    /// thousandths (a `total`, or a coarse bucketing), a weight serves the positions
    /// its cut covers: `on: 0.001` over a `total` of 5 serves one unit in five, 20 %.
    pub fn split(&self) -> Vec<(&str, f64)> {
        if let Some(v) = &self.variant {
            return vec![(v.as_str(), 100.0)];
        }
        let Some(r) = &self.rollout else {
            return Vec::new();
        };
        let (p, b) = (u64::from(positions(r)), u64::from(BUCKETS));
        // Units at position k sit at ⌊k × b / p⌋: below a cut c lie ⌈c × p / b⌉ of them.
        let below = |cut: u64| (cut * p).div_ceil(b).min(p);
        let mut cut = 0u64;
        r.weights
            .0
            .iter()
            .map(|(v, w)| match thousandths(*w) {
                Ok(t) => {
                    let from = below(cut);
                    cut += u64::from(t);
                    (v.as_str(), (below(cut) - from) as f64 * 100.0 / p as f64)
                }
                // A weight the engine refuses: the document does not compile anyway.
                Err(_) => (v.as_str(), *w),
            })
            .collect()
    }

    /// The percent of units this serve gives `variant`.
    pub fn share_of(&self, variant: &str) -> f64 {
        self.split()
            .iter()
            .filter(|(v, _)| *v == variant)
            .map(|(_, p)| p)
            .sum()
    }

    /// A serve of one fixed variant.
    pub fn fixed(variant: impl Into<String>) -> Serve {
        Serve {
            variant: Some(variant.into()),
            ..Serve::default()
        }
    }

    /// The caller's default, without a variant (flagd's flags without a default).
    pub fn callers_default() -> Serve {
        Serve {
            caller_default: true,
            ..Serve::default()
        }
    }

    /// This serve as document JSON, with only the fields it uses: `{"variant": "on"}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// A rule as written in a document: its `id`, `when` clause and `serve`, then its
/// `description` when it has one.
pub fn rule_json(id: &str, when: Value, serve: Value, description: Option<&str>) -> Value {
    let mut rule = json!({ "id": id, "when": when, "serve": serve });
    if let Some(text) = description {
        rule["description"] = json!(text);
    }
    rule
}

/// A serve read from the document: the model's [`Serve`], or an empty one (which
/// gives out nothing) when the JSON is not a serve the model reads; stored documents
/// were compiled, so that is only ever a document that does not compile.
fn read_serve(value: &Value) -> Serve {
    Serve::deserialize(value).unwrap_or_default()
}

/// A flag document read through the model's names, without changing it.
#[derive(Debug, Clone, Copy)]
pub struct FlagDoc<'a>(pub &'a Value);

impl<'a> FlagDoc<'a> {
    /// The flag's key (empty when it has none).
    pub fn key(self) -> &'a str {
        self.0
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The kill switch: `enabled`, which defaults to on.
    pub fn enabled(self) -> bool {
        self.0
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    /// The variant served when the flag is off, if it names one.
    pub fn off_variant(self) -> Option<&'a str> {
        self.0.get("off_variant").and_then(Value::as_str)
    }

    /// The variants' names, in the order the author wrote them.
    pub fn variant_names(self) -> impl Iterator<Item = &'a str> {
        self.0
            .get("variants")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }

    /// The rules as written, in order.
    fn rules(self) -> impl Iterator<Item = &'a Value> {
        self.0
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    /// The rules' ids, in order (`None` for a rule without a string id).
    pub fn rule_ids(self) -> impl Iterator<Item = Option<&'a str>> {
        self.rules().map(|r| r.get("id").and_then(Value::as_str))
    }

    /// The keys of the flags this flag names as prerequisites.
    pub fn prerequisite_flags(self) -> impl Iterator<Item = &'a str> {
        self.0
            .get("prerequisites")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("flag").and_then(Value::as_str))
    }

    /// Whether the flag is a kill switch (`kind` or `strategy` `kill_switch`): a
    /// permanent flag, meant to sit fully on or fully off.
    pub fn is_kill_switch(self) -> bool {
        ["kind", "strategy"]
            .iter()
            .any(|field| self.0.get(*field).and_then(Value::as_str) == Some("kill_switch"))
    }

    /// The JSON of the serve at `at`, if the flag has it.
    fn serve_value(self, at: ServeAt<'_>) -> Result<Option<&'a Value>, EditError> {
        match at {
            ServeAt::Fallthrough => Ok(self.0.get("fallthrough")),
            ServeAt::Rule(id) => self
                .rules()
                .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
                .map(|r| r.get("serve"))
                .ok_or_else(|| EditError::NoRule {
                    flag: self.key().to_string(),
                    rule: id.to_string(),
                }),
        }
    }

    /// The serve at `at` (a missing fallthrough is the caller's default); an unknown
    /// rule is [`EditError::NoRule`].
    pub fn serve(self, at: ServeAt<'_>) -> Result<Serve, EditError> {
        Ok(self.serve_value(at)?.map(read_serve).unwrap_or_default())
    }

    /// Every serve: each rule's in order, then the fallthrough (if written).
    pub fn serves(self) -> Vec<Serve> {
        self.rules()
            .filter_map(|r| r.get("serve"))
            .chain(self.0.get("fallthrough"))
            .map(read_serve)
            .collect()
    }

    /// The variant a rollout of this flag treats: `requested` if it is one of the
    /// flag's variants other than the off variant, otherwise (when nothing is
    /// requested) the first such variant as written. A flag without an off variant
    /// has nothing to roll out against.
    pub fn treated_variant(self, requested: Option<&str>) -> Result<&'a str, EditError> {
        let flag = || self.key().to_string();
        let off = self
            .off_variant()
            .ok_or_else(|| EditError::NoOffVariant { flag: flag() })?;
        let mut treatable = self.variant_names().filter(|v| *v != off);
        match requested {
            Some(v) => treatable
                .find(|x| *x == v)
                .ok_or_else(|| EditError::NotTreatable {
                    flag: flag(),
                    variant: v.to_string(),
                    off: off.to_string(),
                    variants: self.variant_names().collect::<Vec<_>>().join(", "),
                }),
            None => treatable.next().ok_or_else(|| EditError::NothingToTreat {
                flag: flag(),
                off: off.to_string(),
            }),
        }
    }

    /// The flag's rollout percentage: the share of its fallthrough on its treated
    /// variant (the first that is not the off variant). `None` when it has no off
    /// variant, nothing to treat, or a fallthrough that serves no variant.
    pub fn rollout_percentage(self) -> Option<f64> {
        let on = self.treated_variant(None).ok()?;
        let serve = self.serve(ServeAt::Fallthrough).ok()?;
        (!serve.split().is_empty()).then(|| serve.share_of(on))
    }

    /// The single variant the flag serves everyone, if it does: the off variant when
    /// it is disabled, otherwise the only variant any serve gives a share.
    pub fn settled_variant(self) -> Option<String> {
        if !self.enabled() {
            return self.off_variant().map(str::to_string);
        }
        self.0.get("fallthrough")?;
        let mut only: Option<String> = None;
        for serve in self.serves() {
            for (variant, percent) in serve.split() {
                if percent <= 0.0 {
                    continue;
                }
                if only.as_ref().is_some_and(|v| v != variant) {
                    return None;
                }
                only = Some(variant.to_string());
            }
        }
        only
    }

    /// The attributes the flag's rollouts take their unit from, as written (a
    /// rollout without `by` uses `targetingKey`, which is not listed).
    pub fn rollout_units(self) -> Vec<String> {
        self.serves()
            .into_iter()
            .filter_map(|s| s.rollout.and_then(|r| r.by))
            .flat_map(|by| by.paths().to_vec())
            .collect()
    }
}

/// A percentage of units as the engine reads a weight: thousandths of the bucket
/// space, by the engine's own [`thousandths`] (so `1.001` is accepted and `1.0001`
/// refused, as a weight in a document would be).
pub fn percentage(percent: f64) -> Result<u32, EditError> {
    thousandths(percent).map_err(EditError::Percentage)
}

/// A percentage, in thousandths of the bucket space, as JSON: `5`, `1.001`.
pub fn percent_json(thousandths: u32) -> Value {
    if thousandths % 1000 == 0 {
        json!(thousandths / 1000)
    } else {
        json!(f64::from(thousandths) / 1000.0)
    }
}

/// A flag document being edited in place: every other field, and the order of
/// every field, stay as they were.
#[derive(Debug)]
pub struct FlagEdit<'a>(&'a mut Value);

impl<'a> FlagEdit<'a> {
    /// Edits `doc`, which must be a JSON object.
    pub fn new(doc: &'a mut Value) -> Result<Self, EditError> {
        if doc.is_object() {
            Ok(FlagEdit(doc))
        } else {
            Err(EditError::NotAnObject)
        }
    }

    /// Reads the document as it stands.
    pub fn doc(&self) -> FlagDoc<'_> {
        FlagDoc(self.0)
    }

    /// The document's fields.
    fn fields(&mut self) -> &mut Map<String, Value> {
        match self.0 {
            Value::Object(fields) => fields,
            _ => unreachable!("FlagEdit::new takes objects only"),
        }
    }

    /// Sets a field, keeping its place if the document has it (new fields go last).
    fn set(&mut self, field: &str, value: Value) {
        self.fields().insert(field.to_string(), value);
    }

    /// Gives the document `key` when it has no key field (a new one goes last).
    pub fn default_key(&mut self, key: &str) {
        self.fields()
            .entry("key")
            .or_insert_with(|| Value::String(key.to_string()));
    }

    /// Turns the kill switch: `enabled` on or off.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.set("enabled", json!(enabled));
    }

    /// Replaces the rules (the seed's `update_rules`).
    pub fn set_rules(&mut self, rules: Vec<Value>) {
        self.set("rules", Value::Array(rules));
    }

    /// Sets the prerequisites; none removes the field.
    pub fn set_prerequisites(&mut self, prerequisites: &[Prerequisite]) {
        if prerequisites.is_empty() {
            self.fields().shift_remove("prerequisites");
        } else {
            self.set("prerequisites", json!(prerequisites));
        }
    }

    /// The serve at `at`, to change; an unknown rule is [`EditError::NoRule`]. A
    /// missing fallthrough is added (as the caller's default).
    pub fn serve_mut(&mut self, at: ServeAt<'_>) -> Result<ServeMut<'_>, EditError> {
        let flag = self.doc().key().to_string();
        let slot = match at {
            ServeAt::Fallthrough => self
                .fields()
                .entry("fallthrough")
                .or_insert_with(|| Value::Object(Map::new())),
            ServeAt::Rule(id) => self
                .fields()
                .get_mut("rules")
                .and_then(Value::as_array_mut)
                .and_then(|rules| {
                    rules
                        .iter_mut()
                        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
                })
                .and_then(Value::as_object_mut)
                .map(|r| r.entry("serve").or_insert_with(|| json!({})))
                .ok_or_else(|| EditError::NoRule {
                    flag,
                    rule: id.to_string(),
                })?,
        };
        Ok(ServeMut(slot))
    }

    /// Sets the share of the serve at `at` given to `variant` (default: the flag's
    /// first variant other than the off variant, see [`FlagDoc::treated_variant`]) to
    /// `on_thousandths` of the bucket space (see [`percentage`]); the rest gets the off
    /// variant. An existing rollout keeps every other field, and a percentage it cannot
    /// serve exactly is refused (see [`ServeMut::set_split`]). Returns the treated
    /// variant.
    pub fn set_split(
        &mut self,
        at: ServeAt<'_>,
        variant: Option<&str>,
        on_thousandths: u32,
    ) -> Result<String, EditError> {
        let doc = self.doc();
        let on = doc.treated_variant(variant)?.to_string();
        let off = doc.off_variant().unwrap_or_default().to_string();
        self.serve_mut(at)?.set_split(&on, &off, on_thousandths)?;
        Ok(on)
    }
}

/// A serve being edited in place.
#[derive(Debug)]
pub struct ServeMut<'a>(&'a mut Value);

impl ServeMut<'_> {
    /// The serve as it stands.
    pub fn get(&self) -> Serve {
        read_serve(self.0)
    }

    /// Makes this serve a rollout giving `on` `on_thousandths` of the bucket space
    /// and `off` the rest. An existing rollout keeps every field but its weights —
    /// unit attribute, salt, bucketing, `total`, `missing_unit` — in the order
    /// written, and the order of its two weights, so raising the percentage only adds
    /// units and contexts without a unit get what they got before; a rollout over
    /// other variants too is refused.
    ///
    /// A rollout whose units sit at fewer positions than the bucket space has
    /// thousandths (see [`positions`]) serves whole numbers of positions: the
    /// percentage must be within 0.001 of one (`33.333` or `33.334` for one third of
    /// a `total` of 3, only whole percentages for `unleash` bucketing), or it is
    /// refused with the nearest it can serve ([`EditError::Inexpressible`]). The
    /// weights written are then that number's exact cut: the first weight is its
    /// variant's share rounded down to 0.001, the second the rest.
    pub fn set_split(&mut self, on: &str, off: &str, on_thousandths: u32) -> Result<(), EditError> {
        let existing = self.get().rollout;
        let old = existing
            .as_ref()
            .map(|r| &r.weights.0[..])
            .unwrap_or_default();
        if old.iter().any(|(k, _)| k != on && k != off) {
            return Err(EditError::ManyWayRollout(old.len()));
        }
        let positions = existing.as_ref().map_or(BUCKETS, positions);
        let on_positions = positions_for(on_thousandths, positions, existing.as_ref())?;
        let off_first = old.first().is_some_and(|(first, _)| first == off);
        let (first, second, first_positions) = if off_first {
            (off, on, positions - on_positions)
        } else {
            (on, off, on_positions)
        };
        let first_cut = cut(first_positions, positions);
        let mut weights = Map::new();
        weights.insert(first.to_string(), percent_json(first_cut));
        weights.insert(second.to_string(), percent_json(BUCKETS - first_cut));
        let written = self
            .0
            .get("rollout")
            .and_then(Value::as_object)
            .filter(|_| existing.is_some());
        let mut rollout = written.cloned().unwrap_or_default();
        // An existing field keeps its place; a new rollout has only its weights.
        rollout.insert("weights".into(), Value::Object(weights));
        *self.0 = json!({ "rollout": rollout });
        Ok(())
    }
}

/// How many evenly spaced positions a rollout's units sit at: its `total` when it
/// has one (`unleash_variants` and `flagd` put a unit at `n × 100 000 / total`, `n`
/// from 0 to `total − 1`), 100 for `unleash` (whole percentages), 1000 for
/// `unleash_variants` without one, otherwise every thousandth of the bucket space.
/// A `total` the engine would refuse is ignored: the document does not compile.
pub fn positions(rollout: &Rollout) -> u32 {
    let bucketing = rollout.bucketing.unwrap_or_default();
    match rollout.total {
        Some(t) if total_fits(bucketing, t) => t,
        _ if bucketing == Bucketing::Unleash => 100,
        _ => default_total(bucketing),
    }
}

/// Where the first `n` of `positions` positions end on the bucket scale: the largest
/// cut below which exactly those units fall, `⌊n × 100 000 / positions⌋` (units sit
/// at `⌊k × 100 000 / positions⌋`, at least one thousandth apart, and a unit is
/// below a cut when its position is less than it).
fn cut(n: u32, positions: u32) -> u32 {
    (u64::from(n) * u64::from(BUCKETS) / u64::from(positions)) as u32
}

/// The number of a rollout's `positions` that `thousandths` of the bucket space
/// stands for: the nearest whole number, if the percentage is within 0.001 of it
/// (with `positions` dividing the bucket space, exactly it); otherwise
/// [`EditError::Inexpressible`], naming the two nearest.
fn positions_for(
    thousandths: u32,
    positions: u32,
    rollout: Option<&Rollout>,
) -> Result<u32, EditError> {
    let (t, p, b) = (
        u64::from(thousandths),
        u64::from(positions),
        u64::from(BUCKETS),
    );
    // Nearest n to t × p / b, halves up.
    let n = (2 * t * p + b) / (2 * b);
    if (t * p).abs_diff(n * b) < p {
        return Ok(n as u32);
    }
    let below_n = (t * p / b) as u32;
    let share = |n: u32| {
        let exact = (2 * u64::from(n) * b + p) / (2 * p);
        percent_json(exact as u32).to_string()
    };
    let why = match rollout {
        Some(Rollout {
            total: Some(total),
            bucketing,
            ..
        }) if *total == positions => format!(
            "`{}` bucketing with `total` {total}",
            json!(bucketing.unwrap_or_default())
                .as_str()
                .unwrap_or_default()
        ),
        Some(r) => format!(
            "`{}` bucketing",
            json!(r.bucketing.unwrap_or_default())
                .as_str()
                .unwrap_or_default()
        ),
        None => "the bucket space".into(),
    };
    Err(EditError::Inexpressible {
        percent: percent_json(thousandths).to_string(),
        positions,
        why,
        below: share(below_n),
        below_n,
        above: share(below_n + 1),
        above_n: below_n + 1,
    })
}

#[cfg(test)]
mod tests;
