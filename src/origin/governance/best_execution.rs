//! Best execution is measured, not only approved: a progressive rollout of a MiFID II
//! flag that affects order routing or price improvement must carry a
//! `best_execution` guard, which rolls it back when the treated variant's execution
//! quality is worse than the control's (see `rollouts::best_execution`).

use super::{strings, Violation};
use serde_json::Value;

/// The policy the refusal names (the same that requires compliance approval).
pub const POLICY: &str = "mifid2-best-execution";

/// Affected systems whose rollouts need the guard.
pub const SYSTEMS: &[&str] = &["order_routing", "price_improvement"];

/// Whether rollouts of `flag` must carry a best-execution guard.
pub fn needs_guard(flag: &Value) -> bool {
    strings(flag, "compliance").contains(&"MiFID_II")
        && strings(flag, "affected_systems")
            .iter()
            .any(|s| SYSTEMS.contains(s))
}

/// What a rollout plan of `flag` lacks: none when it needs no guard or has one.
pub fn check_rollout(flag: &Value, guarded: bool) -> Option<Violation> {
    (needs_guard(flag) && !guarded).then(|| Violation {
        policy: POLICY,
        message: format!(
            "a MiFID II rollout affecting {} compares execution quality: add a `best_execution` guard such as {{\"event\": \"order.executed\", \"metric\": \"value\", \"tolerance\": 0.5, \"confidence\": 0.95}}",
            SYSTEMS.join(" or ")
        ),
    })
}
