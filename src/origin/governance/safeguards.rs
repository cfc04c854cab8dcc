//! The HIPAA Security Rule's safeguards for one flag, each with the evidence Vexil
//! holds or the gap, instead of one "compliant" word (the seed validates
//! administrative, physical and technical safeguards in turn).
//!
//! Pure: the caller gathers the facts (approvals recorded, the audit chain's state,
//! the systems probed) and this says what they prove.

use super::{flag_bool, oversight_level, roles, strings};
use serde::Serialize;
use serde_json::Value;

/// What Vexil holds for one safeguard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Vexil records evidence that the safeguard holds for this flag.
    Evidence,
    /// The safeguard is not met: `detail` says what is missing.
    Gap,
    /// Outside what Vexil can hold: the deployment provides it (`detail` says how).
    Delegated,
}

/// One safeguard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Safeguard {
    /// `administrative`, `physical` or `technical`.
    pub kind: &'static str,
    /// The Security Rule's standard and its section.
    pub standard: &'static str,
    /// Evidence, gap or delegated.
    pub status: Status,
    /// The evidence, or what is missing, in words.
    pub detail: String,
}

/// What the origin knows about a flag beyond its document.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Roles of the approvals recorded on the flag's changes.
    pub approval_roles: Vec<&'a str>,
    /// The audit chain's length when it verifies; `None` when it does not.
    pub chain_entries: Option<u64>,
    /// Systems `[[health.systems]]` probes.
    pub probed: Vec<&'a str>,
}

fn item(
    kind: &'static str,
    standard: &'static str,
    ok: bool,
    evidence: String,
    gap: String,
) -> Safeguard {
    let (status, detail) = if ok {
        (Status::Evidence, evidence)
    } else {
        (Status::Gap, gap)
    };
    Safeguard {
        kind,
        standard,
        status,
        detail,
    }
}

/// The safeguards of a flag under HIPAA or touching PHI; empty for other flags.
pub fn hipaa(flag: &Value, facts: &Facts<'_>) -> Vec<Safeguard> {
    let phi = flag_bool(flag, "phi") == Some(true);
    if !phi && !strings(flag, "compliance").contains(&"HIPAA") {
        return Vec::new();
    }
    let level = oversight_level(flag.get("clinical_impact").and_then(Value::as_str));
    let oversight = facts
        .approval_roles
        .iter()
        .filter(|r| **r == roles::CLINICAL_OVERSIGHT)
        .count();
    let approvals = facts.approval_roles.len();
    let private = strings(flag, "private_attributes");
    let audited = flag.get("audit_evaluations").and_then(Value::as_str) == Some("all");
    let systems = strings(flag, "clinical_systems_affected");
    let unprobed: Vec<&str> = systems
        .iter()
        .copied()
        .filter(|s| !facts.probed.contains(s))
        .collect();
    let access = flag.get("access").is_some_and(|a| !a.is_null());
    vec![
        item(
            "administrative",
            "security management: review of system activity (§164.308(a)(1))",
            facts.chain_entries.is_some(),
            format!("every change and evaluation audit event is in a hash chain of {} entries that verifies", facts.chain_entries.unwrap_or(0)),
            "the audit chain does not verify: see GET /api/v1/audit/verify".into(),
        ),
        item(
            "administrative",
            "information access management (§164.308(a)(4))",
            level < 2 || oversight > 0,
            format!("{approvals} approvals recorded on this flag's changes ({oversight} by CLINICAL_OVERSIGHT), never by their author"),
            format!("oversight level {level} needs CLINICAL_OVERSIGHT approval; none is recorded on this flag's changes"),
        ),
        item(
            "administrative",
            "contingency plan: emergency mode (§164.308(a)(7))",
            unprobed.is_empty(),
            if systems.is_empty() {
                "the kill switch applies at once, without approvals".into()
            } else {
                format!("the kill switch applies at once; {} health-probed, killing the flag when down", systems.join(", "))
            },
            format!("{} not health-probed: declare them in [[health.systems]]", unprobed.join(", ")),
        ),
        Safeguard {
            kind: "physical",
            standard: "device and media controls (§164.310(d))",
            status: Status::Delegated,
            detail: "Vexil stores no PHI: units as HMAC pseudonyms, metrics as aggregated counts, private attributes never leave the edge; encrypting the origin's database at rest is the host's (disk encryption)".into(),
        },
        item(
            "technical",
            "access control (§164.312(a))",
            !phi || access,
            "the flag's `access` clause is evaluated before any rule; refusals serve the off variant (DENIED)".into(),
            "a PHI flag without an `access` clause: any caller gets its variants".into(),
        ),
        item(
            "technical",
            "audit controls (§164.312(b))",
            !phi || audited,
            "`audit_evaluations: all`: every evaluation is an audit event with a pseudonymised unit".into(),
            "a PHI flag must set `audit_evaluations: all`".into(),
        ),
        item(
            "technical",
            "integrity (§164.312(c))",
            facts.chain_entries.is_some(),
            "edges evaluate only Ed25519-signed snapshots; the audit log is hash-chained with an authenticated head".into(),
            "the audit chain does not verify".into(),
        ),
        item(
            "technical",
            "minimum necessary and de-identification (§164.514)",
            !phi || !private.is_empty(),
            format!("private attributes ({}) are refused as metrics dimensions and never sent", private.join(", ")),
            "a PHI flag must declare `private_attributes`".into(),
        ),
        Safeguard {
            kind: "technical",
            standard: "transmission security (§164.312(e))",
            status: Status::Delegated,
            detail: "snapshots are signed end to end; encrypting the transport is the deployment's: `vexil serve --tls-cert FILE --tls-key FILE`, or TLS terminated in front of it (a reverse proxy or the CDN)".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn statuses(flag: &Value, facts: &Facts<'_>) -> Vec<(&'static str, Status)> {
        hipaa(flag, facts)
            .iter()
            .map(|s| (s.standard, s.status))
            .collect()
    }

    #[test]
    fn flags_outside_hipaa_have_no_safeguards() {
        let flag = json!({ "key": "banner", "compliance": ["SOX"] });
        assert!(hipaa(&flag, &Facts::default()).is_empty());
    }

    #[test]
    fn each_missing_piece_is_a_gap_of_its_own() {
        let flag = json!({
            "key": "alerts", "phi": true, "clinical_impact": "high",
            "clinical_systems_affected": ["clinical_alerts"],
        });
        let gaps: Vec<&str> = statuses(&flag, &Facts::default())
            .into_iter()
            .filter(|(_, s)| *s == Status::Gap)
            .map(|(standard, _)| standard)
            .collect();
        // No chain, no oversight approval, no probe, no access clause, no evaluation
        // audit, no private attributes: every one named.
        assert_eq!(gaps.len(), 7, "{gaps:?}");
        let facts = Facts {
            approval_roles: vec![roles::CLINICAL_OVERSIGHT],
            chain_entries: Some(3),
            probed: vec!["clinical_alerts"],
        };
        let flag = json!({
            "key": "alerts", "phi": true, "clinical_impact": "high",
            "clinical_systems_affected": ["clinical_alerts"],
            "access": { "attr": "provider.authorized", "op": "eq", "values": [true] },
            "audit_evaluations": "all", "private_attributes": ["patient"],
        });
        assert!(statuses(&flag, &facts)
            .iter()
            .all(|(_, s)| *s != Status::Gap));
    }
}
