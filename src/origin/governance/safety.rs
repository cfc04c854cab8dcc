//! Patient safety is not opt-in: a progressive rollout of a flag marked
//! `patient_safety_critical`, or of clinical impact high or critical, must carry the
//! safety guards (adverse events, medication errors) and have the clinical systems it
//! names probed for health; at oversight level 3 ("continuous") a guard breach also
//! kills the flag instead of only setting it back.

use super::{flag_bool, oversight_level, strings, Violation};
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
