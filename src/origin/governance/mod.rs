//! Governance: the seed document's approval and compliance rules as data-driven
//! policies, assessed against a flag document before a change is applied.
//!
//! [`assess`] is pure: it reads the flag (including its descriptive fields such as
//! `affected_systems`, `phi`, `clinical_impact`), the kind of change, the time and the
//! configuration, and returns the approvals the change needs and the policies it
//! violates. A change with violations is refused; otherwise it waits for one approval
//! per required role (never from its author), except the kill switch, which applies
//! at once.
//!
//! [`assess_change`] assesses a change of an existing flag: it needs the approvals
//! of the stricter of the current and the proposed version (so lowering `risk`, or
//! dropping `compliance`, `phi` or a clinical field, needs what the current version
//! needs), and is refused for what the proposed version violates (or, for the
//! trading-hours freeze, what either version does).

pub mod best_execution;
mod healthcare;
mod risk;
pub mod safeguards;
pub mod safety;
pub mod venues;

pub use risk::{name as risk_name, RiskLevel, RiskReason};

use crate::engine::model::{AuditEvaluations, Clause, FlagDef, FlagKind, Risk, Strategy};
use crate::engine::time::parse_rfc3339_ms;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Approver roles.
pub mod roles {
    /// Technical lead (critical risk).
    pub const TECH_LEAD: &str = "TECH_LEAD";
    /// Security team (critical risk).
    pub const SECURITY: &str = "SECURITY";
    /// Product owner (high and critical risk).
    pub const PRODUCT_OWNER: &str = "PRODUCT_OWNER";
    /// Compliance (best execution, market abuse).
    pub const COMPLIANCE: &str = "COMPLIANCE";
    /// Clinical oversight (HIPAA flags of high or critical clinical impact).
    pub const CLINICAL_OVERSIGHT: &str = "CLINICAL_OVERSIGHT";
    /// Clinical engineering (medical-device integration).
    pub const CLINICAL_ENGINEERING: &str = "CLINICAL_ENGINEERING";
    /// Institutional review board (research).
    pub const IRB: &str = "IRB";
}

/// A policy, as listed by `vexil policy list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Stable identifier, reported with every requirement and violation.
    pub id: &'static str,
    /// What it enforces.
    pub description: &'static str,
}

/// Every policy [`assess`] applies.
pub const POLICIES: &[Policy] = &[
    Policy { id: "derived-risk", description: "a flag's risk is the higher of its declared risk and the risk its compliance packs, affected systems, PHI, clinical impact and device integration imply" },
    Policy { id: "critical-risk-approvals", description: "critical risk needs TECH_LEAD and SECURITY approval" },
    Policy { id: "high-risk-product-owner", description: "high or critical risk needs PRODUCT_OWNER approval" },
    Policy { id: "naming-convention", description: "flag keys match the configured pattern" },
    Policy { id: "expiry-required", description: "flags other than operational toggles and kill switches have a future expiry" },
    Policy { id: "mifid2-best-execution", description: "MiFID II flags affecting order_routing or price_improvement need COMPLIANCE approval (best-execution review)" },
    Policy { id: "mifid2-trading-hours-freeze", description: "MiFID II flags do not change while any of their trading venues is in session, except through the kill switch: their changes are held and apply when all those venues are closed" },
    Policy { id: "trading-venues", description: "a flag's `venues` lists configured trading venues (`[[governance.venues]]`), each once" },
    Policy { id: "dodd-frank-audit-retention", description: "Dodd-Frank flags keep their audit trail on and retain records at least the configured period" },
    Policy { id: "market-abuse-review", description: "MARKET_ABUSE flags, and financial flags affecting trading systems, need COMPLIANCE approval (market-abuse review)" },
    Policy { id: "hipaa-evaluation-audit", description: "flags touching PHI audit every evaluation" },
    Policy { id: "hipaa-private-attributes", description: "flags touching PHI declare their private attributes" },
    Policy { id: "hipaa-minimum-necessary", description: "flags touching PHI read only the attributes they declare" },
    Policy { id: "hipaa-declared-targeting", description: "healthcare_strategy is one of the seed's strategies; HIPAA and PHI flags target only the provider types and patient populations they list" },
    Policy { id: "patient-safety-guards", description: "rollouts of patient_safety_critical flags, or of clinical impact high or critical, guard adverse_event and medication_error and have their clinical systems health-probed; at oversight level 3 a breach kills the flag" },
    Policy { id: "continuous-oversight-on-call", description: "HIPAA flags of critical clinical impact (oversight level 3) name their on-call clinical approvers in `on_call`; only they give the CLINICAL_OVERSIGHT approval, and they are named in every breach notice" },
    Policy { id: "hipaa-clinical-oversight", description: "HIPAA flags of high or critical clinical impact need CLINICAL_OVERSIGHT approval (oversight level 2-3)" },
    Policy { id: "clinical-engineering", description: "flags integrating medical devices need CLINICAL_ENGINEERING approval" },
    Policy { id: "irb-approval", description: "flags that require it need IRB approval" },
];

/// Trading hours during which MiFID II flags are frozen, in UTC: the legacy
/// `[governance.trading_hours]`, one venue ([`venues::TRADING_HOURS_VENUE`]) with
/// one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingHours {
    /// ISO weekdays the market trades (1 = Monday ... 7 = Sunday).
    pub weekdays: Vec<u8>,
    /// Opening time, minutes after midnight UTC.
    pub open_minute: u16,
    /// Closing time, minutes after midnight UTC (exclusive).
    pub close_minute: u16,
}

impl TradingHours {
    /// Whether `now_ms` falls within trading hours.
    pub fn contains(&self, now_ms: i64) -> bool {
        let days = now_ms.div_euclid(86_400_000);
        // 1970-01-01 was a Thursday (ISO weekday 4).
        let weekday = ((days + 3).rem_euclid(7) + 1) as u8;
        let minute = (now_ms.rem_euclid(86_400_000) / 60_000) as u16;
        self.weekdays.contains(&weekday) && self.open_minute <= minute && minute < self.close_minute
    }

    /// When the session `now_ms` falls in closes; `None` outside trading hours.
    pub fn session_end(&self, now_ms: i64) -> Option<i64> {
        const DAY_MS: i64 = 86_400_000;
        self.contains(now_ms)
            .then(|| now_ms.div_euclid(DAY_MS) * DAY_MS + i64::from(self.close_minute) * 60_000)
    }
}

/// The policy that freezes MiFID II flags during trading hours.
pub const FREEZE_POLICY: &str = "mifid2-trading-hours-freeze";

/// Governance settings of an origin.
#[derive(Debug, Clone)]
pub struct GovernanceConfig {
    /// Pattern flag keys must match.
    pub naming: regex_lite::Regex,
    /// MiFID II change freeze in UTC (`[governance.trading_hours]`), if configured:
    /// one more venue.
    pub trading_hours: Option<TradingHours>,
    /// Trading venues and their calendars (`[[governance.venues]]`).
    pub venues: Vec<venues::Venue>,
    /// Minimum record retention for Dodd-Frank flags, in days.
    pub min_retention_days: u32,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        GovernanceConfig {
            naming: regex_lite::Regex::new(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
                .expect("valid pattern"),
            trading_hours: None,
            venues: Vec::new(),
            // Five years.
            min_retention_days: 1825,
        }
    }
}

/// What kind of change is being assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A new flag.
    Create,
    /// Any edit of an existing flag (targeting, rollout percentage, metadata).
    Update,
    /// Re-enabling a disabled flag.
    Enable,
    /// The kill switch: disabling a flag. The emergency path: never waits.
    Disable,
    /// Archiving a flag.
    Archive,
}

/// Which version of a flag makes a policy require an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggeredBy {
    /// The proposed version (a new flag, or one the change makes stricter).
    Proposed,
    /// Only the current version: the change lowers what the flag needs, which needs
    /// the current version's approvals.
    Current,
    /// Both versions.
    Both,
}

/// An approval a change needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The role that must approve.
    pub role: &'static str,
    /// The policy requiring it.
    pub policy: &'static str,
    /// Which version of the flag triggers the policy.
    pub triggered_by: TriggeredBy,
    /// For the approver: what the change lowers (`risk "critical" → "low"`), when
    /// only the current version triggers the policy; which flag's policy it is,
    /// for a segment or exclusion-group change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The flag whose policy requires it (segment and exclusion-group changes, which
    /// need what an update of every flag using them needs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// Who alone may give it, when the policy names people (a level-3 flag's
    /// `on_call`); empty: anyone holding the role.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
}

/// A policy a change violates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The policy.
    pub policy: &'static str,
    /// Exactly what is wrong.
    pub message: String,
}

/// The outcome of assessing a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// Approvals needed, policy by policy.
    pub approvals: Vec<Requirement>,
    /// Policies violated; a change with any is refused.
    pub violations: Vec<Violation>,
    /// HIPAA clinical oversight level (0-3), for flags under HIPAA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oversight_level: Option<u8>,
    /// The flag's declared, derived and effective risk, when the derivation raises it
    /// above the declared one (the higher of both versions' for a change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskLevel>,
    /// When the trading-hours freeze ends: every venue of the flag (of either
    /// version, of every flag assessed) is closed.
    #[serde(skip)]
    pub frozen_until_ms: Option<i64>,
}

impl Assessment {
    /// Whether the change may proceed (to approval, or at once if none is needed).
    pub fn allowed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The distinct roles that must approve.
    pub fn roles(&self) -> BTreeSet<&'static str> {
        self.approvals.iter().map(|r| r.role).collect()
    }

    fn require(&mut self, role: &'static str, policy: &'static str) {
        self.require_because(role, policy, None);
    }

    fn require_because(&mut self, role: &'static str, policy: &'static str, note: Option<String>) {
        self.approvals.push(Requirement {
            role,
            policy,
            triggered_by: TriggeredBy::Proposed,
            note,
            flag: None,
            approvers: Vec::new(),
        });
    }

    /// Adds `other`'s approvals that are not already required and the higher of the
    /// two oversight levels, and keeps every violation of both: the assessment of a
    /// change that touches several flags (a segment used by several).
    pub fn join(&mut self, other: Assessment) {
        for r in other.approvals {
            if !self.approvals.contains(&r) {
                self.approvals.push(r);
            }
        }
        self.violations.extend(other.violations);
        self.oversight_level = self.oversight_level.max(other.oversight_level);
        self.risk = higher_risk(self.risk.take(), other.risk);
        self.frozen_until_ms = self.frozen_until_ms.max(other.frozen_until_ms);
    }

    /// Marks every approval as required by `flag`'s policies, with `why` as a note.
    pub fn for_flag(mut self, flag: &str, why: &str) -> Assessment {
        for r in &mut self.approvals {
            r.flag = Some(flag.to_string());
            r.note = Some(match r.note.take() {
                Some(note) => format!("{why}; {note}"),
                None => why.to_string(),
            });
        }
        self
    }

    fn violate(&mut self, policy: &'static str, message: impl Into<String>) {
        self.violations.push(Violation {
            policy,
            message: message.into(),
        });
    }
}

/// Systems whose changes the seed treats as affecting trading.
const TRADING_SYSTEMS: &[&str] = &[
    "order_routing",
    "execution_engine",
    "price_improvement",
    "market_data",
    "trading",
];

/// Of two raised risks, the one with the higher effective risk.
fn higher_risk(a: Option<RiskLevel>, b: Option<RiskLevel>) -> Option<RiskLevel> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.effective > a.effective { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn strings<'a>(flag: &'a Value, field: &str) -> Vec<&'a str> {
    flag.get(field)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn flag_bool(flag: &Value, field: &str) -> Option<bool> {
    flag.get(field).and_then(Value::as_bool)
}

/// The seed's clinical oversight levels: critical 3, high 2, medium 1, otherwise 0.
/// Accepts `high` as well as the seed's `high_impact`.
pub fn oversight_level(clinical_impact: Option<&str>) -> u8 {
    match clinical_impact.map(|s| s.trim_end_matches("_impact")) {
        Some("critical") => 3,
        Some("high") => 2,
        Some("medium") => 1,
        _ => 0,
    }
}

/// Whether `attr` is covered by a declared attribute (itself or an ancestor path).
fn covered(attr: &str, declared: &[&str]) -> bool {
    declared.iter().any(|d| {
        attr == *d
            || attr
                .strip_prefix(d)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Assesses a change to `flag` (the flag's JSON document) at `now_ms`. `segments`
/// are the environment's segments, used to find every attribute the flag reads.
/// A document that is not a flag is one violation (`flag-document`).
pub fn assess(
    flag: &Value,
    segments: &BTreeMap<String, Clause>,
    change: Change,
    now_ms: i64,
    config: &GovernanceConfig,
) -> Assessment {
    let mut out = Assessment::default();
    if change == Change::Disable {
        return out; // The emergency path: audited by the caller, never held up.
    }
    let def: FlagDef = match serde_json::from_value(flag.clone()) {
        Ok(def) => def,
        Err(e) => {
            out.violate("flag-document", format!("not a valid flag: {e}"));
            return out;
        }
    };
    let packs: Vec<&str> = def.compliance.iter().map(String::as_str).collect();
    let affected = strings(flag, "affected_systems");

    let risk = risk::derive(flag, def.risk);
    if risk.effective == Risk::Critical {
        let why = risk.note(Risk::Critical);
        out.require_because(roles::TECH_LEAD, "critical-risk-approvals", why.clone());
        out.require_because(roles::SECURITY, "critical-risk-approvals", why);
    }
    if risk.effective >= Risk::High {
        out.require_because(
            roles::PRODUCT_OWNER,
            "high-risk-product-owner",
            risk.note(Risk::High),
        );
    }
    out.risk = risk.raised().then_some(risk);
    if !config.naming.is_match(&def.key) {
        out.violate(
            "naming-convention",
            format!(
                "flag key `{}` does not match the naming convention `{}`",
                def.key,
                config.naming.as_str()
            ),
        );
    }

    let operational = matches!(def.kind, FlagKind::Ops | FlagKind::KillSwitch)
        || matches!(
            def.strategy,
            Some(Strategy::OperationalToggle | Strategy::KillSwitch)
        );
    match def.expires_at.as_deref().map(|t| (t, parse_rfc3339_ms(t))) {
        None if !operational => out.violate(
            "expiry-required",
            "flags other than operational toggles and kill switches need `expires_at`",
        ),
        Some((text, Some(at))) if at <= now_ms && change != Change::Archive => out.violate(
            "expiry-required",
            format!("`expires_at` {text} is in the past"),
        ),
        Some((text, None)) => out.violate(
            "expiry-required",
            format!("`expires_at` {text} is not an RFC 3339 time"),
        ),
        _ => {}
    }

    let mifid = packs.contains(&"MiFID_II");
    if mifid
        && affected
            .iter()
            .any(|s| matches!(*s, "order_routing" | "price_improvement"))
    {
        out.require(roles::COMPLIANCE, "mifid2-best-execution");
    }
    venues::check(flag, &def.key, mifid, now_ms, config, &mut out);
    if packs.contains(&"Dodd_Frank") {
        if flag_bool(flag, "audit_trail_enabled") == Some(false) {
            out.violate(
                "dodd-frank-audit-retention",
                "Dodd-Frank flags keep `audit_trail_enabled` on",
            );
        }
        match flag.get("record_retention_days").and_then(Value::as_u64) {
            Some(days) if days >= u64::from(config.min_retention_days) => {}
            Some(days) => out.violate(
                "dodd-frank-audit-retention",
                format!("`record_retention_days` is {days}; Dodd-Frank flags retain records at least {} days", config.min_retention_days),
            ),
            None => out.violate(
                "dodd-frank-audit-retention",
                format!("Dodd-Frank flags set `record_retention_days` (at least {})", config.min_retention_days),
            ),
        }
    }
    let financial = mifid || packs.contains(&"Dodd_Frank");
    if packs.contains(&"MARKET_ABUSE")
        || (financial && affected.iter().any(|s| TRADING_SYSTEMS.contains(s)))
    {
        out.require(roles::COMPLIANCE, "market-abuse-review");
    }

    let phi = flag_bool(flag, "phi").unwrap_or(false);
    if phi {
        if def.audit_evaluations != AuditEvaluations::All {
            out.violate(
                "hipaa-evaluation-audit",
                "flags touching PHI set `audit_evaluations: all`",
            );
        }
        if def.private_attributes.is_empty() {
            out.violate(
                "hipaa-private-attributes",
                "flags touching PHI declare `private_attributes`",
            );
        }
        let mut declared = strings(flag, "attributes");
        declared.extend(def.private_attributes.iter().map(String::as_str));
        let undeclared: Vec<String> = def
            .attributes(segments)
            .into_iter()
            .filter(|a| a != "targetingKey" && !covered(a, &declared))
            .collect();
        if !undeclared.is_empty() {
            out.violate(
                "hipaa-minimum-necessary",
                format!(
                    "the flag reads attributes it does not declare in `attributes` or `private_attributes`: {}",
                    undeclared.join(", ")
                ),
            );
        }
    }
    healthcare::check(
        flag,
        &def,
        segments,
        packs.contains(&"HIPAA") || phi,
        &mut out,
    );
    if packs.contains(&"HIPAA") || phi {
        let level = oversight_level(flag.get("clinical_impact").and_then(Value::as_str));
        out.oversight_level = Some(level);
        if level >= 3 {
            safety::require_on_call(flag, &mut out);
        } else if level >= 2 {
            out.require(roles::CLINICAL_OVERSIGHT, "hipaa-clinical-oversight");
        }
    }
    if flag_bool(flag, "medical_device_integration") == Some(true) {
        out.require(roles::CLINICAL_ENGINEERING, "clinical-engineering");
    }
    if flag_bool(flag, "irb_approval_required") == Some(true) {
        out.require(roles::IRB, "irb-approval");
    }
    out
}

/// Assesses a change from `current` (the version of the flag the change replaces;
/// `None` for a new flag) to `proposed`. The change needs the approvals of both
/// versions: an approval only `current` triggers says what the change lowers. The
/// oversight level is the higher of the two. Violations are the proposed version's,
/// and the current version's trading-hours freeze: dropping `MiFID_II` during
/// trading hours changes a frozen flag.
pub fn assess_change(
    current: Option<&Value>,
    proposed: &Value,
    segments: &BTreeMap<String, Clause>,
    change: Change,
    now_ms: i64,
    config: &GovernanceConfig,
) -> Assessment {
    let mut out = assess(proposed, segments, change, now_ms, config);
    let Some(current) = current.filter(|_| change != Change::Disable) else {
        return out;
    };
    let before = assess(current, segments, change, now_ms, config);
    let same = |a: &Requirement, b: &Requirement| a.role == b.role && a.policy == b.policy;
    for r in &mut out.approvals {
        if before.approvals.iter().any(|b| same(b, r)) {
            r.triggered_by = TriggeredBy::Both;
        }
    }
    for mut r in before.approvals {
        if !out.approvals.iter().any(|a| same(a, &r)) {
            r.triggered_by = TriggeredBy::Current;
            r.note = Some(lowered(r.policy, current, proposed));
            out.approvals.push(r);
        }
    }
    out.oversight_level = out.oversight_level.max(before.oversight_level);
    out.risk = higher_risk(out.risk, before.risk);
    out.frozen_until_ms = out.frozen_until_ms.max(before.frozen_until_ms);
    const FREEZE: &str = FREEZE_POLICY;
    if !out.violations.iter().any(|v| v.policy == FREEZE) {
        out.violations
            .extend(before.violations.into_iter().filter(|v| v.policy == FREEZE));
    }
    out
}

/// The fields of a flag an approval policy reads.
fn policy_fields(policy: &str) -> &'static [&'static str] {
    match policy {
        "critical-risk-approvals" | "high-risk-product-owner" => &[
            "risk",
            "compliance",
            "affected_systems",
            "phi",
            "clinical_impact",
            "medical_device_integration",
        ],
        "mifid2-best-execution" | "market-abuse-review" => &["compliance", "affected_systems"],
        "hipaa-clinical-oversight" => &["compliance", "phi", "clinical_impact"],
        "clinical-engineering" => &["medical_device_integration"],
        "irb-approval" => &["irb_approval_required"],
        _ => &[],
    }
}

/// What a change lowers for `policy`: `lowered: risk "critical" → "low"`.
fn lowered(policy: &str, current: &Value, proposed: &Value) -> String {
    let show = |doc: &Value, field: &str| doc.get(field).map_or("unset".into(), Value::to_string);
    let changed: Vec<String> = policy_fields(policy)
        .iter()
        .filter(|f| current.get(**f) != proposed.get(**f))
        .map(|f| format!("{f} {} → {}", show(current, f), show(proposed, f)))
        .collect();
    if changed.is_empty() {
        "required by the current version".into()
    } else {
        format!("lowered: {}", changed.join(", "))
    }
}
