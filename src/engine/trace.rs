//! Evaluation traces: what an evaluation tried, in order, and why it ended where it
//! did — each prerequisite, the exclusion range and its bucket, the access clauses,
//! each rule tried (matched or not, and for a rule of several clauses the first that
//! failed), and the rollout's bucket. The evaluation itself is the one every caller
//! runs ([`Snapshot::evaluate`]), writing its steps as numbers ([`codes`]) into a
//! buffer while a trace records; the hot path passes none (a branch not taken per
//! step). The wasm module hands the numbers out as they are (`vexil/trace` names
//! them in JS); [`Snapshot::trace`] names them here.

use super::clause::Cond;
#[cfg(feature = "authoring")]
use super::compiled::Flag;
use super::compiled::{FlagId, Rule, Snapshot};
use super::context::ResolvedContext;
use super::eval::{ErrorCode, Outcome};
#[cfg(feature = "authoring")]
use serde::Serialize;

/// Where evaluation writes its steps: nowhere on the hot path (`None`), or the buffer
/// a trace writes them into as [`codes`]. One type for both keeps one copy of
/// evaluation in the wasm module (a second, monomorphised for a recorder, cost it
/// 1.5 KB gzipped); the hot path pays a branch not taken per step.
pub(crate) type Steps<'a> = Option<&'a mut Vec<u32>>;

/// The codes of a trace's steps, three `u32`s each, as hosts without names read
/// them (the wasm module; the JS `vexil/trace` names them):
///
/// - `[PREREQUISITE, prerequisite flag id, met]`
/// - `[EXCLUSION, bucket or NONE, inside]`
/// - `[ACCESS, allowed, 0]`
/// - `[RULE, rule index, MATCHED | NOT_MATCHED | FAILED_AT + the first failing clause]`
/// - `[ROLLOUT, unit attribute id, bucket]`
///
/// Booleans are 0 or 1; buckets are on the 0..100 000 scale.
pub mod codes {
    /// A prerequisite step.
    pub const PREREQUISITE: u32 = 0;
    /// The exclusion-group step.
    pub const EXCLUSION: u32 = 1;
    /// The access step.
    pub const ACCESS: u32 = 2;
    /// A rule step.
    pub const RULE: u32 = 3;
    /// A rollout step.
    pub const ROLLOUT: u32 = 4;
    /// No bucket (no targeting key).
    pub const NONE: u32 = u32::MAX;
    /// The rule matched.
    pub const MATCHED: u32 = 0;
    /// The rule, of one clause, did not match.
    pub const NOT_MATCHED: u32 = 1;
    /// Plus the index of the first clause that failed, in a rule of several.
    pub const FAILED_AT: u32 = 2;
}

/// Writes step `[kind, a, b]` while a trace records.
#[inline]
pub(crate) fn note(steps: &mut Steps<'_>, kind: u32, a: u32, b: u32) {
    if let Some(out) = steps {
        push(out, [kind, a, b]);
    }
}

#[inline(never)]
fn push(out: &mut Vec<u32>, step: [u32; 3]) {
    out.extend_from_slice(&step);
}

impl Snapshot {
    /// [`Snapshot::evaluate`], writing its steps to `steps` as [`codes`] while a
    /// trace records (and nothing with `None`).
    pub(crate) fn evaluate_steps(
        &self,
        id: FlagId,
        ctx: &ResolvedContext,
        now_ms: i64,
        steps: &mut Steps<'_>,
    ) -> Outcome {
        match self.flags.get(id as usize) {
            Some(flag) => self.evaluate_observed(flag, ctx, now_ms, steps),
            None => Outcome::error(ErrorCode::FlagNotFound),
        }
    }

    /// A rule step's last code: matched, not matched, or for a rule of several
    /// clauses the first that failed.
    #[inline(never)]
    pub(crate) fn rule_code(
        &self,
        rule: &Rule,
        matched: bool,
        ctx: &ResolvedContext,
        now_ms: i64,
    ) -> u32 {
        match &rule.when {
            _ if matched => codes::MATCHED,
            Cond::All(clauses) if clauses.len() > 1 => clauses
                .iter()
                .position(|c| !c.matches(ctx, &self.segments, now_ms))
                .map_or(codes::NOT_MATCHED, |at| codes::FAILED_AT + at as u32),
            _ => codes::NOT_MATCHED,
        }
    }
}

/// One step of a trace, named.
#[cfg(feature = "authoring")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum TraceStep {
    /// A prerequisite flag, and whether it served one of the required variants.
    Prerequisite {
        /// The prerequisite's key.
        flag: String,
        /// Whether it was met.
        met: bool,
    },
    /// The flag's range in its mutual-exclusion group.
    Exclusion {
        /// The targeting key's bucket in the group (0..100 000); none without one.
        bucket: Option<u32>,
        /// Whether the bucket is in the flag's range.
        inside: bool,
    },
    /// The flag's `access` clauses.
    Access {
        /// Whether they allowed the context.
        allowed: bool,
    },
    /// A rule, tried in order.
    Rule {
        /// The rule's id.
        id: String,
        /// Whether its clauses matched.
        matched: bool,
        /// For a rule of several clauses that did not match, the index of the first
        /// clause that failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        failed_clause: Option<usize>,
    },
    /// A percentage rollout placed the unit.
    Rollout {
        /// The attribute the unit was read from.
        unit: String,
        /// The unit's bucket on the 0..100 000 scale.
        bucket: u32,
    },
}

/// What an evaluation tried, and its outcome.
#[cfg(feature = "authoring")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The outcome, the same as [`Snapshot::evaluate`]'s.
    pub outcome: Outcome,
    /// The steps, in the order they were taken.
    pub steps: Vec<TraceStep>,
}

#[cfg(feature = "authoring")]
impl Snapshot {
    /// [`Snapshot::evaluate`], recording its steps; `None` for an unknown flag.
    pub fn trace(&self, id: FlagId, ctx: &ResolvedContext, now_ms: i64) -> Option<Trace> {
        let flag = self.flags.get(id as usize)?;
        let mut out = Vec::new();
        let outcome = self.evaluate_steps(id, ctx, now_ms, &mut Some(&mut out));
        let steps = out
            .chunks_exact(3)
            .filter_map(|step| self.named(flag, step))
            .collect();
        Some(Trace { outcome, steps })
    }

    fn named(&self, flag: &Flag, step: &[u32]) -> Option<TraceStep> {
        let &[kind, a, b] = step else { return None };
        Some(match kind {
            codes::PREREQUISITE => TraceStep::Prerequisite {
                flag: self.flag(a).map_or_else(String::new, |f| f.key.to_string()),
                met: b == 1,
            },
            codes::EXCLUSION => TraceStep::Exclusion {
                bucket: (a != codes::NONE).then_some(a),
                inside: b == 1,
            },
            codes::ACCESS => TraceStep::Access { allowed: a == 1 },
            codes::RULE => TraceStep::Rule {
                id: flag
                    .rules
                    .get(a as usize)
                    .map_or_else(String::new, |r| r.id.to_string()),
                matched: b == codes::MATCHED,
                failed_clause: b.checked_sub(codes::FAILED_AT).map(|c| c as usize),
            },
            codes::ROLLOUT => TraceStep::Rollout {
                unit: self
                    .attrs
                    .get(a as usize)
                    .map_or_else(String::new, |attr| attr.path.to_string()),
                bucket: b,
            },
            _ => return None,
        })
    }
}

#[cfg(all(test, feature = "authoring"))]
mod tests {
    use super::TraceStep::{self, *};
    use crate::engine::eval::Reason;
    use crate::engine::Snapshot;
    use serde_json::json;

    fn snapshot() -> Snapshot {
        let doc = json!({"flags": [
            {"key": "gate", "variants": {"on": true, "off": false}, "off_variant": "off",
             "rules": [{"id": "staff", "when": {"attr": "plan", "op": "eq", "values": ["staff"]},
                        "serve": {"variant": "off"}}],
             "fallthrough": {"variant": "on"}},
            {"key": "beta", "variants": {"on": true, "off": false}, "off_variant": "off",
             "prerequisites": [{"flag": "gate", "variants": ["on"]}],
             "rules": [
                {"id": "germany-pro", "when": {"all": [
                    {"attr": "country", "op": "in", "values": ["DE"]},
                    {"attr": "plan", "op": "eq", "values": ["pro"]}]},
                 "serve": {"variant": "on"}},
                {"id": "half", "when": {"attr": "country", "op": "exists"},
                 "serve": {"rollout": {"weights": {"on": 50, "off": 50}}}}],
             "fallthrough": {"variant": "off"}}]});
        Snapshot::from_json(doc.to_string().as_bytes()).unwrap()
    }

    fn trace(ctx: serde_json::Value) -> (Reason, Vec<TraceStep>) {
        let s = snapshot();
        let ctx = s.resolve_context(&ctx).unwrap();
        let id = s.flag_id("beta").unwrap();
        let t = s.trace(id, &ctx, 0).unwrap();
        assert_eq!(
            t.outcome,
            s.evaluate(id, &ctx, 0),
            "the trace's outcome is evaluate's"
        );
        (t.outcome.reason, t.steps)
    }

    #[test]
    fn a_rule_that_fails_names_its_first_failing_clause() {
        let (reason, steps) = trace(json!({"targetingKey": "u1", "country": "DE", "plan": "free"}));
        assert_eq!(reason, Reason::Split);
        assert_eq!(
            steps[0],
            Prerequisite {
                flag: "gate".into(),
                met: true
            }
        );
        assert_eq!(
            steps[1],
            Rule {
                id: "germany-pro".into(),
                matched: false,
                failed_clause: Some(1)
            }
        );
        assert_eq!(
            steps[2],
            Rule {
                id: "half".into(),
                matched: true,
                failed_clause: None
            }
        );
        let Rollout { unit, bucket } = &steps[3] else {
            panic!("a rollout step: {steps:?}");
        };
        assert_eq!(unit, "targetingKey");
        assert!(*bucket < 100_000);
        assert_eq!(steps.len(), 4);
    }

    #[test]
    fn a_matching_rule_ends_the_trace_and_a_failed_prerequisite_ends_it_first() {
        let (reason, steps) = trace(json!({"country": "DE", "plan": "pro"}));
        assert_eq!(reason, Reason::TargetingMatch);
        assert_eq!(
            steps[1..],
            [Rule {
                id: "germany-pro".into(),
                matched: true,
                failed_clause: None
            }]
        );
        let (reason, steps) = trace(json!({"plan": "staff"}));
        assert_eq!(reason, Reason::PrerequisiteFailed);
        assert_eq!(
            steps,
            [Prerequisite {
                flag: "gate".into(),
                met: false
            }]
        );
    }

    #[test]
    fn steps_serialize_with_their_kind() {
        let (_, steps) = trace(json!({"targetingKey": "u1", "country": "FR"}));
        let text = serde_json::to_value(&steps).unwrap();
        assert_eq!(
            text[1],
            json!({"step": "rule", "id": "germany-pro", "matched": false, "failed_clause": 0})
        );
        assert_eq!(text[3]["step"], "rollout");
    }
}
