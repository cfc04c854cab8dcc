//! Editing a flag document in place: every other field, and the order of every
//! field, stay as they were.

use super::read::{read_serve, FlagDoc};
use super::scale::{cut, percent_json, positions, positions_for};
use super::{EditError, ServeAt};
use crate::engine::hash::BUCKETS;
use crate::engine::model::{Prerequisite, Serve};
use serde_json::{json, Map, Value};

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
