//! The seed document's two examples, shipped as flags files in `examples/`, evaluated
//! against the targeting the seed intends.
//!
//! Finance (`FinancialFeatureFlagManager`): `enhanced-order-routing-v2` for required
//! segments (professional traders or institutional), allowed account tiers,
//! experience levels and risk tolerance, 5 % of them, never for high-risk accounts,
//! behind `market-data-v3` and the trading kill switch, mutually exclusive with
//! `legacy-order-routing`.
//!
//! Healthcare (`HealthcareFeatureFlagManager`): `enhanced-clinical-alerts-v2` only for
//! authorised providers with PHI access, for targeted provider types in critical-care
//! departments on day or evening shifts treating intensive or cardiac care patients,
//! 10 % of providers by `provider.id`.

use serde_json::{json, Value};
use vexil::engine::model::AuditEvaluations;
use vexil::engine::time::parse_rfc3339_ms;
use vexil::engine::{bucket, Details, FlagsDocument, Reason, Snapshot, ValueType};

fn example_path(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn example_bytes(name: &str) -> Vec<u8> {
    let path = example_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(name: &str) -> Snapshot {
    Snapshot::from_json(&example_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn now() -> i64 {
    parse_rfc3339_ms("2026-06-01T14:30:00Z").unwrap()
}

fn eval(snap: &Snapshot, flag: &str, ctx: &Value, default: Value) -> Details {
    let ctx = snap.resolve_context(ctx).expect("context is an object");
    let expected = ValueType::of(&default);
    snap.details(flag, &ctx, default, expected, now())
}

#[track_caller]
fn assert_result(
    d: &Details,
    value: Value,
    variant: Option<&str>,
    reason: Reason,
    rule: Option<&str>,
) {
    assert_eq!(d.value, value, "value of {d:?}");
    assert_eq!(d.variant.as_deref(), variant, "variant of {d:?}");
    assert_eq!(d.reason, reason, "reason of {d:?}");
    assert_eq!(d.rule_id.as_deref(), rule, "rule of {d:?}");
}

mod finance;
mod healthcare;
mod yaml;

fn patch(mut ctx: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        ctx[k] = v.clone();
    }
    ctx
}
