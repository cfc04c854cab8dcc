//! Evaluation traces: what an evaluation tried, in order, and why it ended where it
//! did — each prerequisite, the exclusion range and its bucket, the access clauses,
//! each rule tried (matched or not, and for a rule of several clauses the first that
//! failed), and the rollout's bucket. The evaluation itself is the one every caller
//! runs ([`Snapshot::evaluate`]), observed; the trace adds nothing to the hot path.

use super::clause::Cond;
use super::compiled::{Flag, FlagId, Snapshot};
use super::context::{AttrId, ResolvedContext};
use super::eval::{Observer, Outcome};
use serde::Serialize;

/// One step of a trace.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The outcome, the same as [`Snapshot::evaluate`]'s.
    pub outcome: Outcome,
    /// The steps, in the order they were taken.
    pub steps: Vec<TraceStep>,
}

/// Records the raw steps; names are looked up once evaluation is done.
#[derive(Default)]
struct Recorder {
    steps: Vec<Raw>,
}

enum Raw {
    Prerequisite(usize, bool),
    Exclusion(Option<u32>, bool),
    Access(bool),
    Rule(u32, bool),
    Bucket(AttrId, u32),
}

impl Observer for Recorder {
    fn prerequisite(&mut self, index: usize, met: bool) {
        self.steps.push(Raw::Prerequisite(index, met));
    }
    fn exclusion(&mut self, bucket: Option<u32>, inside: bool) {
        self.steps.push(Raw::Exclusion(bucket, inside));
    }
    fn access(&mut self, allowed: bool) {
        self.steps.push(Raw::Access(allowed));
    }
    fn rule(&mut self, index: u32, matched: bool) {
        self.steps.push(Raw::Rule(index, matched));
    }
    fn bucket(&mut self, attr: AttrId, bucket: u32) {
        self.steps.push(Raw::Bucket(attr, bucket));
    }
}

impl Snapshot {
    /// Evaluates flag `id` for `ctx` at `now_ms` as [`Snapshot::evaluate`] does,
    /// recording every step; `None` for an unknown flag.
    pub fn trace(&self, id: FlagId, ctx: &ResolvedContext, now_ms: i64) -> Option<Trace> {
        let flag = self.flags.get(id as usize)?;
        let mut recorder = Recorder::default();
        let outcome = self.evaluate_observed(flag, ctx, now_ms, &mut recorder);
        let steps = recorder
            .steps
            .into_iter()
            .map(|raw| self.named(flag, ctx, now_ms, raw))
            .collect();
        Some(Trace { outcome, steps })
    }

    fn named(&self, flag: &Flag, ctx: &ResolvedContext, now_ms: i64, raw: Raw) -> TraceStep {
        match raw {
            Raw::Prerequisite(i, met) => TraceStep::Prerequisite {
                flag: flag
                    .prerequisites
                    .get(i)
                    .and_then(|p| self.flag(p.flag))
                    .map_or_else(String::new, |f| f.key.to_string()),
                met,
            },
            Raw::Exclusion(bucket, inside) => TraceStep::Exclusion { bucket, inside },
            Raw::Access(allowed) => TraceStep::Access { allowed },
            Raw::Rule(i, matched) => {
                let rule = flag.rules.get(i as usize);
                let failed_clause = match rule.map(|r| &r.when) {
                    Some(Cond::All(clauses)) if !matched && clauses.len() > 1 => clauses
                        .iter()
                        .position(|c| !c.matches(ctx, &self.segments, now_ms)),
                    _ => None,
                };
                TraceStep::Rule {
                    id: rule.map_or_else(String::new, |r| r.id.to_string()),
                    matched,
                    failed_clause,
                }
            }
            Raw::Bucket(attr, bucket) => TraceStep::Rollout {
                unit: self
                    .attrs
                    .get(attr as usize)
                    .map_or_else(String::new, |a| a.path.to_string()),
                bucket,
            },
        }
    }
}

#[cfg(test)]
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
