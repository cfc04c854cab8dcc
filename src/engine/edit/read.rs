//! Reading a flag document through the model's names: what a serve gives out,
//! which variant a rollout treats, what a flag serves.

use super::scale::{positions, units_below};
use super::{EditError, ServeAt};
use crate::engine::compile::thousandths;
use crate::engine::model::Serve;
use serde::Deserialize;
use serde_json::Value;

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
        let p = positions(r);
        let below = |cut: u32| units_below(cut, p);
        let mut cut = 0u32;
        r.weights
            .0
            .iter()
            .map(|(v, w)| match thousandths(*w) {
                Ok(t) => {
                    let from = below(cut);
                    cut = cut.saturating_add(t);
                    (
                        v.as_str(),
                        f64::from(below(cut) - from) * 100.0 / f64::from(p),
                    )
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

/// A serve read from the document: the model's [`Serve`], or an empty one (which
/// gives out nothing) when the JSON is not a serve the model reads; stored documents
/// were compiled, so that is only ever a document that does not compile.
pub(super) fn read_serve(value: &Value) -> Serve {
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
