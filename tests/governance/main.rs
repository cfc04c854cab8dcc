//! Governance policies: the seed's approval and compliance rules, one file per idea:
//! each pack's rules on one version of a flag, a change's two versions, derived risk,
//! and the healthcare fields against what the rules target.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use vexil::engine::model::{Clause, Risk};
use vexil::engine::time::parse_rfc3339_ms;
use vexil::origin::governance::{
    assess, assess_change, oversight_level, Change, GovernanceConfig, TradingHours, TriggeredBy,
    POLICIES,
};

/// A Tuesday, 10:00 UTC.
const NOW: &str = "2026-11-24T10:00:00Z";

mod changes;
mod healthcare;
mod policies;
mod risk;
mod venues;

fn now() -> i64 {
    parse_rfc3339_ms(NOW).unwrap()
}

fn example(file: &str) -> (Vec<Value>, BTreeMap<String, Clause>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(file);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let segments = serde_json::from_value(doc["segments"].clone()).unwrap_or_default();
    (doc["flags"].as_array().unwrap().clone(), segments)
}

fn flag<'a>(flags: &'a [Value], key: &str) -> &'a Value {
    flags.iter().find(|f| f["key"] == key).unwrap()
}

fn roles(a: &vexil::origin::governance::Assessment) -> Vec<&'static str> {
    a.roles().into_iter().collect()
}

fn policies(a: &vexil::origin::governance::Assessment) -> BTreeSet<&'static str> {
    a.violations.iter().map(|v| v.policy).collect()
}

fn base() -> Value {
    json!({"key": "new-checkout", "risk": "low", "expires_at": "2027-03-01T00:00:00Z",
           "variants": {"on": true, "off": false}, "off_variant": "off", "fallthrough": {"variant": "off"}})
}

fn with(changes: Value) -> Value {
    let mut flag = base();
    for (k, v) in changes.as_object().unwrap() {
        flag[k] = v.clone();
    }
    flag
}

fn check(flag: &Value) -> vexil::origin::governance::Assessment {
    assess(
        flag,
        &BTreeMap::new(),
        Change::Update,
        now(),
        &GovernanceConfig::default(),
    )
}

fn change(
    current: &Value,
    proposed: &Value,
    kind: Change,
) -> vexil::origin::governance::Assessment {
    assess_change(
        Some(current),
        proposed,
        &BTreeMap::new(),
        kind,
        now(),
        &GovernanceConfig::default(),
    )
}
