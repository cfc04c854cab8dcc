//! Offline governance: policies and assessments, audit-chain verification, imports.

use super::*;

#[test]
fn policy_list_and_flags_assess() {
    let dir = Dir::new("assess");
    let out = ok(&dir.vexil(&["policy", "list"]));
    assert!(
        out.contains("critical-risk-approvals") && out.contains("hipaa-minimum-necessary"),
        "{out}"
    );

    let out = ok(&dir.vexil(&[
        "flags",
        "assess",
        &example("finance-flags.json"),
        &example("healthcare-flags.json"),
        "--now",
        "2026-11-24T10:00:00Z",
    ]));
    assert!(out.contains("enhanced-order-routing-v2: allowed, needs COMPLIANCE + PRODUCT_OWNER + SECURITY + TECH_LEAD"), "{out}");
    // Declared high, but a MiFID II order-routing flag: critical, and why.
    assert!(out.contains("legacy-order-routing: allowed, needs COMPLIANCE + PRODUCT_OWNER + SECURITY + TECH_LEAD\n  risk critical (declared high): MiFID_II flag affecting order_routing; Dodd_Frank flag affecting order_routing"), "{out}");
    assert!(out.contains("enhanced-clinical-alerts-v2: allowed, needs CLINICAL_ENGINEERING + CLINICAL_OVERSIGHT + PRODUCT_OWNER, clinical oversight level 2"), "{out}");

    fs::write(dir.path("bad.json"), r#"{"flags": [{"key": "Bad_Key", "risk": "low", "variants": {"on": true}, "off_variant": "on", "fallthrough": {"variant": "on"}}]}"#).unwrap();
    let out = dir.vexil(&["flags", "assess", "bad.json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Bad_Key: refused")
            && stdout
                .contains("bad.json:1:12: flags[Bad_Key]: naming-convention: flag key `Bad_Key`")
            && stdout.contains("bad.json:1:12: flags[Bad_Key]: expiry-required"),
        "each refusal names the file, line and column: {stdout}"
    );
    // At the field the policy is about, when the flag has it.
    fs::write(dir.path("old.json"), "{\"flags\": [\n  {\"key\": \"old\", \"risk\": \"low\",\n   \"expires_at\": \"2020-01-01T00:00:00Z\",\n   \"variants\": {\"on\": true}, \"off_variant\": \"on\", \"fallthrough\": {\"variant\": \"on\"}}]}").unwrap();
    let out = dir.vexil(&["flags", "assess", "old.json", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &report["flags"][0]["violations"][0];
    assert_eq!(
        (
            v["policy"].as_str(),
            v["line"].as_u64(),
            v["column"].as_u64()
        ),
        (Some("expiry-required"), Some(3), Some(4)),
        "{v}"
    );
    assert_eq!(v["path"], "flags[old].expires_at");
    let out = ok(&dir.vexil(&["flags", "assess", "bad.json", "--change", "disable"]));
    assert!(
        out.contains("Bad_Key: allowed, needs no approval"),
        "the kill switch is never held up: {out}"
    );
}

#[test]
fn audit_verify_checks_an_exported_chain() {
    use vexil::origin::audit::{append, Entry, Link};
    let dir = Dir::new("audit");
    let mut links: Vec<Link> = Vec::new();
    for action in ["change.requested", "change.approved", "change.applied"] {
        let entry = Entry {
            seq: 0,
            at: "2026-11-24T10:00:00Z".into(),
            actor: "alice".into(),
            action: action.into(),
            subject: "production/new-checkout".into(),
            details: serde_json::json!({}),
        };
        let link = append(links.last(), entry);
        links.push(link);
    }
    fs::write(
        dir.path("audit.json"),
        serde_json::to_string(&links).unwrap(),
    )
    .unwrap();
    let out = ok(&dir.vexil(&["audit", "verify", "audit.json"]));
    assert!(out.starts_with("ok: 3 entries verify; head "), "{out}");

    links[1].entry.actor = "mallory".into();
    fs::write(
        dir.path("tampered.json"),
        serde_json::to_string(&links).unwrap(),
    )
    .unwrap();
    fails(
        &dir.vexil(&["audit", "verify", "tampered.json"]),
        1,
        "audit chain broken at entry 2",
    );
    fs::write(dir.path("junk.json"), "{}").unwrap();
    fails(
        &dir.vexil(&["audit", "verify", "junk.json"]),
        1,
        "is not an audit export",
    );
}

#[test]
fn import_refuses_a_lossy_translation_unless_allowed() {
    let dir = Dir::new("import");
    let unleash = serde_json::json!({ "version": 2, "features": [
        { "name": "checkout-v2", "enabled": true, "strategies": [
            { "name": "flexibleRollout", "parameters": { "rollout": "25", "stickiness": "default", "groupId": "checkout-v2" } } ] },
        { "name": "odd-one", "enabled": true, "strategies": [ { "name": "applicationHostname", "parameters": { "hostNames": "a" } } ] }
    ]});
    fs::write(dir.path("unleash.json"), unleash.to_string()).unwrap();
    let out = dir.vexil(&["import", "--from", "unleash", "unleash.json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("odd-one")
            && err.contains("applicationHostname")
            && err.contains("--allow-lossy"),
        "{err}"
    );
    let out = dir.vexil(&[
        "import",
        "--from",
        "unleash",
        "unleash.json",
        "--allow-lossy",
        "--out",
        "flags.json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flags: Value =
        serde_json::from_str(&fs::read_to_string(dir.path("flags.json")).unwrap()).unwrap();
    // The feature's last partial rollout stays a rollout (Vexil's rollout tools move
    // it), on a rule so that visitors without a unit fall through to `off`.
    let rollout = &flags["flags"][0]["rules"][0]["serve"]["rollout"];
    assert_eq!(rollout["bucketing"], "unleash");
    assert_eq!(rollout["weights"]["on"], 25.0);
    assert_eq!(rollout["missing_unit"], "fallthrough");
    ok(&dir.vexil(&["flags", "validate", "flags.json"]));

    fs::write(dir.path("bad.json"), "{\"flags\": 3}").unwrap();
    let out = dir.vexil(&["import", "--from", "flagd", "bad.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a flagd flag definition"));
}
