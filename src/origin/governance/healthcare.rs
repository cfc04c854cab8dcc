//! The seed's healthcare descriptive fields, checked against what the flag does.
//!
//! `healthcare_strategy` is one of the seed's strategies; `provider_types_targeted`
//! and `patient_populations_affected` are lists of names, and they must tell the
//! truth: a rule that serves on `provider.type` or `patient.population` values the
//! lists do not name targets people the approvers were not told about.

use super::Assessment;
use crate::engine::model::{Clause, FlagDef, Op};
use serde_json::Value;
use std::collections::BTreeMap;

/// The policy these checks report under.
pub const POLICY: &str = "hipaa-declared-targeting";

/// The seed's `HealthcareFeatureFlagStrategy` values.
pub const STRATEGIES: &[&str] = &[
    "patient_safety_priority",
    "provider_workflow_optimization",
    "phi_data_protection",
    "clinical_decision_support",
];

/// The declared list, the context attributes that target what it lists.
const TARGETED: &[(&str, &[&str])] = &[
    (
        "provider_types_targeted",
        &["provider.type", "provider_type"],
    ),
    (
        "patient_populations_affected",
        &["patient.population", "patient_population"],
    ),
];

/// Checks the fields (whenever present) and, for a flag under HIPAA or touching PHI,
/// that its rules target only what they declare.
pub fn check(
    flag: &Value,
    def: &FlagDef,
    segments: &BTreeMap<String, Clause>,
    healthcare: bool,
    out: &mut Assessment,
) {
    if let Some(strategy) = flag.get("healthcare_strategy") {
        if !strategy.as_str().is_some_and(|s| STRATEGIES.contains(&s)) {
            out.violate(
                POLICY,
                format!(
                    "`healthcare_strategy` {strategy} is not one of {}",
                    STRATEGIES.join(", ")
                ),
            );
        }
    }
    for (field, attrs) in TARGETED {
        let declared = match names(flag, field) {
            Ok(declared) => declared,
            Err(message) => {
                out.violate(POLICY, message);
                continue;
            }
        };
        if !healthcare && declared.is_none() {
            continue;
        }
        let declared = declared.unwrap_or_default();
        let mut undeclared: Vec<String> = Vec::new();
        for (rule, value) in targeted_values(def, segments, attrs) {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            let shown = format!("{text} (rule `{rule}`)");
            if !declared.contains(&text.as_str()) && !undeclared.contains(&shown) {
                undeclared.push(shown);
            }
        }
        if !undeclared.is_empty() {
            out.violate(
                POLICY,
                format!(
                    "the rules target {} not listed in `{field}`: {}",
                    attrs[0],
                    undeclared.join(", ")
                ),
            );
        }
    }
}

/// A list-of-names field: absent, the names, or why it is malformed.
fn names<'a>(flag: &'a Value, field: &str) -> Result<Option<Vec<&'a str>>, String> {
    let Some(value) = flag.get(field) else {
        return Ok(None);
    };
    let bad = || format!("`{field}` is a list of non-empty names, not {value}");
    let items = value.as_array().ok_or_else(bad)?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str().filter(|s| !s.trim().is_empty()) {
            Some(name) if out.contains(&name) => {
                return Err(format!("`{field}` lists `{name}` twice"))
            }
            Some(name) => out.push(name),
            None => return Err(bad()),
        }
    }
    Ok(Some(out))
}

/// The values rules (and the access clause, as `access`) compare `attrs` with for a
/// match (`in`, `eq`), through segments, outside negations: what they target.
fn targeted_values<'a>(
    def: &'a FlagDef,
    segments: &'a BTreeMap<String, Clause>,
    attrs: &[&str],
) -> Vec<(&'a str, &'a Value)> {
    let mut out = Vec::new();
    let roots = def
        .rules
        .iter()
        .map(|r| (r.id.as_str(), &r.when))
        .chain(def.access.iter().map(|c| ("access", c)));
    for (rule, root) in roots {
        let mut pending = vec![root];
        let mut seen: Vec<&str> = Vec::new();
        while let Some(clause) = pending.pop() {
            pending.extend(clause.all.iter().flatten());
            pending.extend(clause.any.iter().flatten());
            if let Some(name) = clause.segment.as_deref() {
                if let Some((key, seg)) = segments.get_key_value(name) {
                    if !seen.contains(&key.as_str()) {
                        seen.push(key.as_str());
                        pending.push(seg);
                    }
                }
            }
            let targets = matches!(clause.op, Some(Op::In | Op::Eq));
            if targets && clause.attr.as_deref().is_some_and(|a| attrs.contains(&a)) {
                out.extend(clause.values.iter().flatten().map(|v| (rule, v)));
            }
        }
    }
    out
}
