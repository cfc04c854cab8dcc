//! Patient safety is not opt-in: a progressive rollout of a flag marked
//! `patient_safety_critical`, or of clinical impact high or critical, must carry the
//! safety guards (adverse events, medication errors) and have the clinical systems it
//! names probed for health; at oversight level 3 ("continuous") a guard breach also
//! kills the flag instead of only setting it back.

use super::{
    flag_bool, oversight_level, roles, strings, Assessment, Requirement, TriggeredBy, Violation,
};
use serde_json::Value;

/// The policy these checks report under.
pub const POLICY: &str = "patient-safety-guards";

/// Tracked events a patient-safety rollout must guard, each with a `max` or `rate`
/// guard (`adverse_event:max=0`).
pub const SAFETY_EVENTS: &[&str] = &["adverse_event", "medication_error"];

/// Whether rollouts of `flag` must carry the safety guards.
pub fn needs_safety_guards(flag: &Value) -> bool {
    flag_bool(flag, "patient_safety_critical") == Some(true) || oversight(flag) >= 2
}

/// Whether a guard breach kills the flag: oversight level 3, continuous.
pub fn kills_on_breach(flag: &Value) -> bool {
    oversight(flag) >= 3
}

fn oversight(flag: &Value) -> u8 {
    oversight_level(flag.get("clinical_impact").and_then(Value::as_str))
}

/// What a rollout plan of `flag` lacks: `guarded` are the events its guards watch,
/// `probed` the systems `[[health.systems]]` declares.
pub fn check_rollout(flag: &Value, guarded: &[&str], probed: &[&str]) -> Vec<Violation> {
    if !needs_safety_guards(flag) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let missing: Vec<&str> = SAFETY_EVENTS
        .iter()
        .copied()
        .filter(|e| !guarded.contains(e))
        .collect();
    if !missing.is_empty() {
        out.push(Violation {
            policy: POLICY,
            message: format!(
                "a patient-safety rollout guards {}: add {}",
                SAFETY_EVENTS.join(" and "),
                missing
                    .iter()
                    .map(|e| format!("\"{e}:max=0\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let unprobed: Vec<&str> = strings(flag, "clinical_systems_affected")
        .into_iter()
        .filter(|s| !probed.contains(s))
        .collect();
    if !unprobed.is_empty() {
        out.push(Violation {
            policy: POLICY,
            message: format!(
                "the clinical systems this flag depends on are not health-probed: declare {} in `[[health.systems]]` of vexil.toml",
                unprobed.join(", ")
            ),
        });
    }
    out
}

/// The policy naming a level-3 flag's on-call approvers.
pub const ON_CALL_POLICY: &str = "continuous-oversight-on-call";

/// The people `on_call` names: distinct, non-empty names.
pub fn on_call(flag: &Value) -> Vec<&str> {
    strings(flag, "on_call")
}

/// Continuous oversight (level 3) has named people on call: the flag must list them
/// in `on_call`, and only they give its `CLINICAL_OVERSIGHT` approval.
pub(super) fn require_on_call(flag: &Value, out: &mut Assessment) {
    let names = on_call(flag);
    let listed = flag.get("on_call").and_then(Value::as_array);
    let malformed = listed
        .is_some_and(|l| l.len() != names.len() || names.iter().any(|n| n.trim().is_empty()))
        || names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n));
    if names.is_empty() || malformed {
        out.violations.push(Violation {
            policy: ON_CALL_POLICY,
            message: "clinical impact critical is continuous oversight (level 3): list the on-call clinical approvers in `on_call`, distinct non-empty names (for example [\"dr-oz\", \"dr-who\"])".into(),
        });
    }
    out.approvals.push(Requirement {
        role: roles::CLINICAL_OVERSIGHT,
        policy: ON_CALL_POLICY,
        triggered_by: TriggeredBy::Proposed,
        note: (!names.is_empty()).then(|| format!("on call: {}", names.join(", "))),
        flag: None,
        approvers: names.iter().map(|n| n.to_string()).collect(),
    });
}
