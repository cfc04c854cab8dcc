//! Unknown fields in flags files, refused with a "did you mean" for near misses.
//!
//! The engine refuses unknown fields inside rules, clauses, serves and rollouts, but
//! ignores them on a flag and at the top of a file (the origin keeps the document it
//! was given, with the seed's descriptive fields). So that a typo such as
//! `"enabeld": false` or `"ruls": []` cannot validate, the CLI checks every object
//! of a flags file against the fields the engine reads (its `FIELDS`), plus the
//! descriptive fields the governance policies read. `metadata` is free-form, and
//! keys starting with `x-` are extensions, allowed on flags and at the top level.

use crate::source::Seg;
use serde_json::{Map, Value};
use vexil::engine::model::{
    BucketTest, Clause, Exclusion, ExclusionGroup, FlagDef, Prerequisite, Rollout, Rule, Serve,
};

/// The top level of a flags file (the payload's other fields are set by
/// `vexil snapshot build`, which says so).
const FILE_FIELDS: &[&str] = &[
    "schema",
    "flags",
    "segments",
    "exclusion_groups",
    "environment",
    "version",
    "issued_at",
    "expires_at",
];

/// Descriptive flag fields of the seed's documents, read by the governance policies
/// (and shown in audit reports) but not by the engine.
pub const DESCRIPTIVE_FLAG_FIELDS: &[&str] = &[
    "affected_systems",
    "approval_required",
    "attributes",
    "audit_trail_enabled",
    "clinical_impact",
    "clinical_oversight_required",
    "clinical_systems_affected",
    "healthcare_strategy",
    "hipaa_compliance_validated",
    "irb_approval_required",
    "medical_device_integration",
    "on_call",
    "patient_populations_affected",
    "patient_safety_critical",
    "phi",
    "provider_types_targeted",
    "record_retention_days",
    "rollout_percentage",
    "scope",
    "venues",
];

/// One unknown field: where, and the message.
pub struct Unknown {
    pub path: Vec<Seg>,
    pub shown: String,
    pub message: String,
}

/// The unknown fields of a flags file (`{flags, segments, exclusion_groups}`).
pub fn in_file(doc: &Value) -> Vec<Unknown> {
    let mut walk = Walk::default();
    if let Value::Object(map) = doc {
        walk.object(map, FILE_FIELDS, true);
        walk.list(map, "flags", Walk::flag);
        walk.named(map, "segments", Walk::clause);
        walk.named(map, "exclusion_groups", |w, v| {
            w.fields(v, ExclusionGroup::FIELDS, false)
        });
    }
    walk.found
}

/// The unknown fields of one flag document (`vexil flag create --file`).
pub fn in_flag(flag: &Value) -> Vec<Unknown> {
    let mut walk = Walk::default();
    walk.flag(flag);
    walk.found
}

#[derive(Default)]
struct Walk {
    path: Vec<Seg>,
    /// The path as people read it: list items by key or id where they have one.
    shown: Vec<String>,
    found: Vec<Unknown>,
}

impl Walk {
    fn at<T>(&mut self, seg: Seg, shown: String, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(seg);
        self.shown.push(shown);
        let out = f(self);
        self.path.pop();
        self.shown.pop();
        out
    }

    fn shown_path(&self) -> String {
        self.shown.concat().trim_start_matches('.').to_string()
    }

    fn fields(&mut self, value: &Value, known: &[&str], extensions: bool) {
        if let Value::Object(map) = value {
            self.object(map, known, extensions);
        }
    }

    fn object(&mut self, map: &Map<String, Value>, known: &[&str], extensions: bool) {
        for field in map.keys() {
            if known.contains(&field.as_str()) || (extensions && field.starts_with("x-")) {
                continue;
            }
            let at = self.shown_path();
            let mut message = format!("unknown field `{field}`");
            if let Some(near) = did_you_mean(field, known.iter().copied()) {
                message.push_str(&format!("; did you mean `{near}`?"));
            }
            let mut path = self.path.clone();
            path.push(Seg::Key(field.clone()));
            let shown = if at.is_empty() {
                field.clone()
            } else {
                format!("{at}.{field}")
            };
            self.found.push(Unknown {
                path,
                shown,
                message,
            });
        }
    }

    /// Each item of the list `map[field]`.
    fn list(&mut self, map: &Map<String, Value>, field: &str, f: impl Fn(&mut Self, &Value)) {
        let Some(Value::Array(items)) = map.get(field) else {
            return;
        };
        self.at(Seg::Key(field.into()), format!(".{field}"), |w| {
            for (i, item) in items.iter().enumerate() {
                let name = ["key", "id"]
                    .iter()
                    .find_map(|k| item.get(k).and_then(Value::as_str))
                    .map_or_else(|| i.to_string(), str::to_string);
                w.at(Seg::Index(i), format!("[{name}]"), |w| f(w, item));
            }
        });
    }

    /// Each value of the object `map[field]`, by name.
    fn named(&mut self, map: &Map<String, Value>, field: &str, f: impl Fn(&mut Self, &Value)) {
        let Some(Value::Object(items)) = map.get(field) else {
            return;
        };
        self.at(Seg::Key(field.into()), format!(".{field}"), |w| {
            for (name, item) in items {
                w.at(Seg::Key(name.clone()), format!("[{name}]"), |w| f(w, item));
            }
        });
    }

    /// `map[field]` with `f`.
    fn child(&mut self, map: &Map<String, Value>, field: &str, f: impl FnOnce(&mut Self, &Value)) {
        if let Some(v) = map.get(field) {
            self.at(Seg::Key(field.into()), format!(".{field}"), |w| f(w, v));
        }
    }

    fn flag(&mut self, flag: &Value) {
        let Value::Object(map) = flag else { return };
        let known: Vec<&str> = FlagDef::FIELDS
            .iter()
            .chain(DESCRIPTIVE_FLAG_FIELDS)
            .copied()
            .collect();
        self.object(map, &known, true);
        self.list(map, "prerequisites", |w, v| {
            w.fields(v, Prerequisite::FIELDS, false)
        });
        self.child(map, "exclusion", |w, v| {
            w.fields(v, Exclusion::FIELDS, false)
        });
        self.child(map, "access", Walk::clause);
        self.list(map, "rules", |w, rule| {
            let Value::Object(r) = rule else { return };
            w.object(r, Rule::FIELDS, false);
            w.child(r, "when", Walk::clause);
            w.child(r, "serve", Walk::serve);
        });
        self.child(map, "fallthrough", Walk::serve);
    }

    fn serve(&mut self, serve: &Value) {
        let Value::Object(map) = serve else { return };
        self.object(map, Serve::FIELDS, false);
        self.child(map, "rollout", |w, v| w.fields(v, Rollout::FIELDS, false));
    }

    fn clause(&mut self, clause: &Value) {
        let Value::Object(map) = clause else { return };
        self.object(map, Clause::FIELDS, false);
        for field in ["all", "any"] {
            self.list(map, field, Walk::clause);
        }
        self.child(map, "not", Walk::clause);
        self.child(map, "bucket", |w, v| w.fields(v, BucketTest::FIELDS, false));
    }
}

/// The candidate closest to `word`, when it is close enough to be a typo (at most
/// one edit in four, and at least one).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 4).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A serde message (`unknown variant `x`, expected one of `a`, `b``, or the same for
/// a field) with "did you mean" added for a near miss.
pub fn suggest(message: &str) -> String {
    let Some(word) = ["unknown variant `", "unknown field `"]
        .iter()
        .find_map(|p| message.split_once(p).map(|(_, rest)| rest))
        .and_then(|rest| rest.split('`').next())
    else {
        return message.to_string();
    };
    let Some((_, expected)) = message.split_once("expected") else {
        return message.to_string();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match did_you_mean(word, candidates) {
        Some(near) => format!("{message}; did you mean `{near}`?"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typos_on_flags_are_found_with_a_suggestion() {
        let doc = json!({"flags": [{"key": "a", "enabeld": false, "ruls": [], "x-team": "web",
            "metadata": {"anything": 1}, "phi": true,
            "rules": [{"id": "r", "when": {"atr": "x"}, "serve": {"rollout": {"wieghts": {}}}}]}],
            "segmnts": {}});
        let found: Vec<String> = in_file(&doc)
            .into_iter()
            .map(|u| format!("{}: {}", u.shown, u.message))
            .collect();
        assert_eq!(
            found,
            [
                "segmnts: unknown field `segmnts`; did you mean `segments`?",
                "flags[a].enabeld: unknown field `enabeld`; did you mean `enabled`?",
                "flags[a].ruls: unknown field `ruls`; did you mean `rules`?",
                "flags[a].rules[r].when.atr: unknown field `atr`; did you mean `attr`?",
                "flags[a].rules[r].serve.rollout.wieghts: unknown field `wieghts`; did you mean `weights`?",
            ]
        );
    }

    #[test]
    fn serde_messages_get_a_suggestion_for_near_misses_only() {
        assert_eq!(
            suggest("unknown variant `endswith`, expected one of `eq`, `ends_with`"),
            "unknown variant `endswith`, expected one of `eq`, `ends_with`; did you mean `ends_with`?"
        );
        assert_eq!(
            suggest("unknown variant `zzz`, expected one of `eq`, `ends_with`"),
            "unknown variant `zzz`, expected one of `eq`, `ends_with`"
        );
    }
}
