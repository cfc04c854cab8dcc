//! Derived risk: the least risk a flag's compliance packs, affected systems, PHI,
//! clinical impact and device integration imply. (`patient_safety_critical` makes
//! safety guards mandatory instead: a guard, not more approvers, is what protects
//! patients during a rollout.)
//!
//! A flag's declared `risk` is its author's word; approvals follow the higher of the
//! declared and the derived risk, so declaring a MiFID II order-routing flag `low`
//! does not skip the critical-risk approvals. The seed's scale: critical is
//! "financial/safety critical", high "core system changes", medium "business logic".

use super::{flag_bool, oversight_level, strings, TRADING_SYSTEMS};
use crate::engine::model::Risk;
use serde::Serialize;
use serde_json::Value;

/// Compliance packs of financial regulation.
const FINANCIAL_PACKS: &[&str] = &["MiFID_II", "Dodd_Frank", "MARKET_ABUSE"];

/// Systems that route or execute orders: a change there is financially critical.
const ORDER_SYSTEMS: &[&str] = &["order_routing", "execution_engine"];

/// One reason for a derived risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskReason {
    /// The least risk this reason implies.
    pub risk: Risk,
    /// The fields behind it: `MiFID_II flag affecting order_routing`.
    pub because: String,
}

/// A flag's risk: declared, derived, and the one governance applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskLevel {
    /// The flag's `risk` field.
    pub declared: Risk,
    /// The least risk its other fields imply.
    pub derived: Risk,
    /// The higher of the two: what the approval policies read.
    pub effective: Risk,
    /// Why the derived risk is what it is, highest first; empty when nothing raises it
    /// above low.
    pub reasons: Vec<RiskReason>,
}

impl RiskLevel {
    /// Whether the derived risk is above the declared one.
    pub fn raised(&self) -> bool {
        self.derived > self.declared
    }

    /// For an approval that a risk of `needs` or more requires: why, when only the
    /// derivation reaches it (`risk derived critical, declared low: MiFID_II flag
    /// affecting order_routing`).
    pub fn note(&self, needs: Risk) -> Option<String> {
        if self.declared >= needs {
            return None;
        }
        let why: Vec<&str> = self
            .reasons
            .iter()
            .filter(|r| r.risk >= needs)
            .map(|r| r.because.as_str())
            .collect();
        Some(format!(
            "risk derived {}, declared {}: {}",
            name(self.effective),
            name(self.declared),
            why.join("; ")
        ))
    }
}

/// The risk's name as written in flags files.
pub fn name(risk: Risk) -> &'static str {
    match risk {
        Risk::Low => "low",
        Risk::Medium => "medium",
        Risk::High => "high",
        Risk::Critical => "critical",
    }
}

/// Derives `flag`'s risk from its descriptive fields; `declared` is its `risk`.
pub fn derive(flag: &Value, declared: Risk) -> RiskLevel {
    let mut found: Vec<RiskReason> = Vec::new();
    let mut add = |risk, because: String| found.push(RiskReason { risk, because });
    let packs = strings(flag, "compliance");
    let affected = strings(flag, "affected_systems");
    for pack in packs.iter().filter(|p| FINANCIAL_PACKS.contains(p)) {
        let orders: Vec<&str> = affected
            .iter()
            .copied()
            .filter(|s| ORDER_SYSTEMS.contains(s))
            .collect();
        let trading: Vec<&str> = affected
            .iter()
            .copied()
            .filter(|s| TRADING_SYSTEMS.contains(s) && !ORDER_SYSTEMS.contains(s))
            .collect();
        if !orders.is_empty() {
            add(
                Risk::Critical,
                format!("{pack} flag affecting {}", orders.join(", ")),
            );
        } else if !trading.is_empty() {
            add(
                Risk::High,
                format!("{pack} flag affecting {}", trading.join(", ")),
            );
        } else {
            add(Risk::Medium, format!("{pack} flag"));
        }
    }
    if packs.contains(&"HIPAA") {
        add(Risk::Medium, "HIPAA flag".into());
    }
    let clinical = flag.get("clinical_impact").and_then(Value::as_str);
    let clinical_risk = match oversight_level(clinical) {
        3 => Some(Risk::Critical),
        2 => Some(Risk::High),
        1 => Some(Risk::Medium),
        _ => None,
    };
    if let (Some(risk), Some(text)) = (clinical_risk, clinical) {
        add(risk, format!("clinical_impact {text}"));
    }
    if flag_bool(flag, "phi") == Some(true) {
        add(Risk::High, "touches PHI".into());
    }
    if flag_bool(flag, "medical_device_integration") == Some(true) {
        add(Risk::High, "medical_device_integration".into());
    }
    // Highest first, in the order found among equals.
    found.sort_by_key(|r| std::cmp::Reverse(r.risk));
    let derived = found.first().map_or(Risk::Low, |r| r.risk);
    RiskLevel {
        declared,
        derived,
        effective: declared.max(derived),
        reasons: found,
    }
}
