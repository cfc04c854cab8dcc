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

mod read;
mod scale;
mod write;

pub use read::FlagDoc;
pub use scale::{percent_json, percentage, positions};
pub use write::{FlagEdit, ServeMut};

use serde_json::{json, Value};

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

/// A rule as written in a document: its `id`, `when` clause and `serve`, then its
/// `description` when it has one.
pub fn rule_json(id: &str, when: Value, serve: Value, description: Option<&str>) -> Value {
    let mut rule = json!({ "id": id, "when": when, "serve": serve });
    if let Some(text) = description {
        rule["description"] = json!(text);
    }
    rule
}

#[cfg(test)]
mod tests;
