//! The `vexil` binary end to end: keys, validation, signing, verification,
//! evaluation, and clear errors for bad input.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh working directory per test.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("vexil-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// `vexil keys generate`: `key.json` (private) and `keys.json` (keyring).
    fn keygen(&self) -> String {
        ok(&self.vexil(&[
            "keys",
            "generate",
            "--id",
            "k1",
            "--out-private",
            "key.json",
            "--out-public",
            "keys.json",
        ]))
    }
    fn vexil(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vexil"))
            .args(args)
            .current_dir(&self.0)
            .output()
            .expect("runs")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(out: &Output, code: i32, fragment: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        stderr.contains(fragment),
        "stderr should mention `{fragment}`: {stderr}"
    );
}

/// Keys plus a signed snapshot of both seed examples in `dir`.
fn signed(dir: &Dir) {
    dir.keygen();
    ok(&dir.vexil(&[
        "snapshot",
        "build",
        &example("finance-flags.json"),
        &example("healthcare-flags.json"),
        "--env",
        "production",
        "--version",
        "7",
        "--issued-at",
        "2026-11-24T00:00:00Z",
        "--expires-in",
        "24h",
        "--key",
        "key.json",
        "--out",
        "snapshot.json",
    ]));
}

#[test]
fn keys_generate_writes_a_private_file_only_its_owner_reads() {
    let dir = Dir::new("keys");
    let out = dir.keygen();
    assert!(out.contains("generated key `k1`"));
    let keyring: Value =
        serde_json::from_str(&fs::read_to_string(dir.path("keys.json")).unwrap()).unwrap();
    assert!(keyring["k1"].is_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path("key.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    fails(
        &dir.vexil(&[
            "keys",
            "generate",
            "--id",
            "k1",
            "--out-private",
            "key.json",
            "--out-public",
            "keys.json",
        ]),
        1,
        "already exists",
    );
    ok(&dir.vexil(&[
        "keys",
        "generate",
        "--id",
        "k1",
        "--out-private",
        "key.json",
        "--out-public",
        "keys.json",
        "--force",
    ]));
}

#[test]
fn flags_validate_lists_every_problem_with_its_path() {
    let dir = Dir::new("validate");
    let out = ok(&dir.vexil(&[
        "flags",
        "validate",
        &example("finance-flags.json"),
        &example("healthcare-flags.json"),
        &example("flags.yaml"),
    ]));
    assert!(out.starts_with("ok: "), "{out}");
    fs::write(dir.path("bad.json"), r#"{"flags": [
        {"key": "a", "variants": {"on": true}, "off_variant": "off", "fallthrough": {"variant": "on"}},
        {"key": "b", "variants": {"on": true, "off": false}, "off_variant": "off",
         "fallthrough": {"rollout": {"weights": {"on": 60, "off": 30}}}}]}"#).unwrap();
    let out = dir.vexil(&["flags", "validate", "bad.json"]);
    fails(&out, 1, "2 problems");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("flags[a].off_variant: unknown variant `off`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("flags[b].fallthrough.rollout.weights: weights sum to 90"),
        "{stderr}"
    );
    fs::write(dir.path("typo.json"), r#"{"flags": [{"key": "a", "variants": {"on": true}, "off_variant": "on",
        "rules": [{"id": "r", "when": {"attr": "x", "op": "eq", "value": [1]}, "serve": {"variant": "on"}}],
        "fallthrough": {"variant": "on"}}]}"#).unwrap();
    fails(
        &dir.vexil(&["flags", "validate", "typo.json"]),
        1,
        "typo.json:2:65: flags[a].rules[r].when.value: unknown field `value`; did you mean `values`?",
    );
    fails(
        &dir.vexil(&["flags", "validate", "missing.json"]),
        1,
        "cannot read missing.json",
    );
    fs::write(dir.path("broken.yaml"), "flags: [\n").unwrap();
    fails(
        &dir.vexil(&["flags", "validate", "broken.yaml"]),
        1,
        "not valid YAML",
    );
}

#[test]
fn build_verify_and_eval() {
    let dir = Dir::new("build");
    signed(&dir);
    let out = ok(&dir.vexil(&[
        "snapshot",
        "verify",
        "snapshot.json",
        "--keys",
        "keys.json",
        "--now",
        "2026-11-24T06:00:00Z",
    ]));
    assert!(
        out.contains("`production` v7 signed by `k1`, 6 flags"),
        "{out}"
    );
    assert!(!out.contains("stale"));

    // The results and the exit status: 0, or 3 when a result is the default served
    // because of an error.
    let eval_with_status = |args: &[&str]| -> (Value, i32) {
        let mut all = vec![
            "eval",
            "snapshot.json",
            "--keys",
            "keys.json",
            "--now",
            "2026-11-24T06:00:00Z",
        ];
        all.extend_from_slice(args);
        let out = dir.vexil(&all);
        let results = serde_json::from_slice(&out.stdout).expect("results on stdout");
        (results, out.status.code().unwrap_or(-1))
    };
    let eval = |args: &[&str]| -> Value {
        let (results, status) = eval_with_status(args);
        assert_eq!(status, 0, "{results}");
        results
    };
    let eval_error = |args: &[&str]| -> Value {
        let (results, status) = eval_with_status(args);
        assert_eq!(
            status, 3,
            "the default served because of an error: {results}"
        );
        results
    };
    let trader = r#"{"targetingKey": "acct-27", "segments": ["institutional"], "account_tier": "institutional",
        "experience_level": "expert", "risk_tolerance": "high", "market_data": {"gateway_version": "3.2.0"}}"#;
    let d = eval(&[
        "--flag",
        "enhanced-order-routing-v2",
        "--context",
        trader,
        "--default",
        "false",
    ]);
    assert_eq!(
        (
            d["value"].clone(),
            d["variant"].clone(),
            d["reason"].clone(),
            d["rule_id"].clone()
        ),
        (
            Value::Bool(true),
            "on".into(),
            "SPLIT".into(),
            "pros".into()
        )
    );

    fs::write(dir.path("ctx.json"), r#"{"targetingKey": "acct-2"}"#).unwrap();
    let all = eval(&["--context-file", "ctx.json"]);
    assert_eq!(all.as_object().unwrap().len(), 6);
    assert_eq!(
        all["enhanced-order-routing-v2"]["reason"],
        "PREREQUISITE_FAILED"
    );
    assert_eq!(all["legacy-order-routing"]["reason"], "EXCLUDED");

    let d = eval_error(&[
        "--flag",
        "market-data-v3",
        "--type",
        "string",
        "--default",
        "\"x\"",
    ]);
    assert_eq!(
        (d["value"].clone(), d["error_code"].clone()),
        ("x".into(), "TYPE_MISMATCH".into())
    );
    let d = eval_error(&["--flag", "nope", "--context", "{}"]);
    assert_eq!(d["error_code"], "FLAG_NOT_FOUND");
    let d = eval_error(&[
        "--flag",
        "market-data-v3",
        "--context",
        "[1, 2]",
        "--default",
        "false",
    ]);
    assert_eq!(
        (d["value"].clone(), d["error_code"].clone()),
        (Value::Bool(false), "INVALID_CONTEXT".into())
    );

    // After expiry the snapshot is refused on arrival.
    let out = dir.vexil(&[
        "snapshot",
        "verify",
        "snapshot.json",
        "--keys",
        "keys.json",
        "--now",
        "2026-11-26T00:00:00Z",
    ]);
    fails(&out, 1, "EXPIRED");
}

#[test]
fn yaml_files_build_and_duplicate_segments_are_refused() {
    let dir = Dir::new("yaml");
    dir.keygen();
    let out = ok(&dir.vexil(&[
        "snapshot",
        "build",
        &example("flags.yaml"),
        "--env",
        "dev",
        "--version",
        "1",
        "--key",
        "key.json",
        "--out",
        "s.json",
    ]));
    assert!(out.contains("for `dev`"), "{out}");
    ok(&dir.vexil(&["snapshot", "verify", "s.json", "--keys", "keys.json"]));
    let out = dir.vexil(&[
        "snapshot",
        "build",
        &example("finance-flags.json"),
        &example("finance-flags.json"),
        "--env",
        "dev",
        "--version",
        "2",
        "--key",
        "key.json",
        "--out",
        "s2.json",
    ]);
    fails(&out, 1, "is defined in both");
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = Dir::new("errors");
    signed(&dir);
    let base = [
        "eval",
        "snapshot.json",
        "--keys",
        "keys.json",
        "--now",
        "2026-11-24T06:00:00Z",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        dir.vexil(&args)
    };
    fails(
        &with(&["--context", "{oops"]),
        1,
        "the context is not valid JSON",
    );
    fails(
        &with(&["--default", "text"]),
        1,
        "--default is not valid JSON",
    );
    fails(
        &dir.vexil(&["eval", "snapshot.json", "--keys", "missing.json"]),
        1,
        "cannot read missing.json",
    );
    fs::write(dir.path("notkeys.json"), "[]").unwrap();
    fails(
        &dir.vexil(&["eval", "snapshot.json", "--keys", "notkeys.json"]),
        1,
        "is not a keyring",
    );
    fails(
        &dir.vexil(&[
            "snapshot",
            "verify",
            "snapshot.json",
            "--keys",
            "keys.json",
            "--now",
            "yesterday",
        ]),
        1,
        "not an RFC 3339 time",
    );
    fails(
        &dir.vexil(&[
            "snapshot",
            "build",
            &example("flags.yaml"),
            "--env",
            "dev",
            "--version",
            "1",
            "--expires-in",
            "soon",
            "--key",
            "key.json",
            "--out",
            "x.json",
        ]),
        2,
        "not a duration",
    );
    fails(
        &dir.vexil(&["snapshot", "frobnicate"]),
        2,
        "unrecognized subcommand",
    );

    // A snapshot modified after signing.
    let mut env: Value =
        serde_json::from_str(&fs::read_to_string(dir.path("snapshot.json")).unwrap()).unwrap();
    env["key_id"] = "k2".into();
    fs::write(dir.path("other-key.json"), env.to_string()).unwrap();
    fails(
        &dir.vexil(&[
            "snapshot",
            "verify",
            "other-key.json",
            "--keys",
            "keys.json",
        ]),
        1,
        "UNKNOWN_KEY",
    );
    let text = fs::read_to_string(dir.path("snapshot.json")).unwrap();
    let mut env: Value = serde_json::from_str(&text).unwrap();
    let payload = env["payload"].as_str().unwrap().to_string();
    let tampered = format!(
        "{}{}",
        &payload[..payload.len() - 8],
        if &payload[payload.len() - 8..payload.len() - 7] == "A" {
            "B"
        } else {
            "A"
        }
    ) + &payload[payload.len() - 7..];
    env["payload"] = tampered.into();
    fs::write(dir.path("tampered.json"), env.to_string()).unwrap();
    fails(
        &dir.vexil(&["snapshot", "verify", "tampered.json", "--keys", "keys.json"]),
        1,
        "BAD_SIGNATURE",
    );
    fails(
        &dir.vexil(&[
            "snapshot",
            "verify",
            "tampered.json",
            "--keys",
            "keys.json",
            "--env",
            "staging",
        ]),
        1,
        "BAD_SIGNATURE",
    );
}

#[test]
fn rollout_weights_keep_their_written_order_in_the_signed_payload() {
    let dir = Dir::new("order");
    dir.keygen();
    fs::write(
        dir.path("flags.yaml"),
        "flags:\n  - key: split\n    variants: {z: 1, a: 2}\n    off_variant: z\n    \
         fallthrough: {rollout: {weights: {z: 10, a: 90}}}\n",
    )
    .unwrap();
    ok(&dir.vexil(&[
        "snapshot",
        "build",
        "flags.yaml",
        "--env",
        "dev",
        "--version",
        "1",
        "--key",
        "key.json",
        "--out",
        "s.json",
    ]));
    let text = ok(&dir.vexil(&["snapshot", "inspect", "s.json", "--keys", "keys.json"]));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let weights = &doc["flags"][0]["fallthrough"]["rollout"]["weights"];
    let order: Vec<&String> = weights.as_object().unwrap().keys().collect();
    assert_eq!(order, ["z", "a"], "{text}");
    assert_eq!(weights["z"], 10);
}

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

#[test]
fn typos_anywhere_in_a_flags_file_are_refused_at_their_line_and_column() {
    let dir = Dir::new("typos");
    // A flag-level typo (ignored by the engine, so it validated before).
    fs::write(
        dir.path("flags.json"),
        "{\"flags\": [\n  {\"key\": \"a\", \"variants\": {\"on\": true}, \"off_variant\": \"on\",\n   \"ruls\": [], \"x-team\": \"web\", \"metadata\": {\"anything\": 1},\n   \"fallthrough\": {\"variant\": \"on\"}}]}\n",
    )
    .unwrap();
    fails(
        &dir.vexil(&["flags", "validate", "flags.json"]),
        1,
        "flags.json:3:4: flags[a].ruls: unknown field `ruls`; did you mean `rules`?",
    );
    // In YAML, in the second of two merged files, an unknown operator.
    fs::write(
        dir.path("ok.yaml"),
        "flags:\n  - key: first\n    variants: {on: true}\n    fallthrough: {variant: \"on\"}\n",
    )
    .unwrap();
    fs::write(
        dir.path("op.yaml"),
        "flags:\n  - key: second\n    variants: {on: true}\n    rules:\n      - id: r\n        when: {attr: email, op: endswith, values: [x]}\n        serve: {variant: \"on\"}\n    fallthrough: {variant: \"on\"}\n",
    )
    .unwrap();
    fails(
        &dir.vexil(&["flags", "validate", "ok.yaml", "op.yaml"]),
        1,
        "op.yaml:6:29: flags[0].rules[0].when.op: unknown variant `endswith`",
    );
    fails(
        &dir.vexil(&["flags", "validate", "ok.yaml", "op.yaml"]),
        1,
        "did you mean `ends_with`?",
    );
    // The engine's own checks, placed in the file that holds the flag.
    fs::write(
        dir.path("weights.yaml"),
        "flags:\n  - key: w\n    variants: {on: true, off: false}\n    fallthrough:\n      rollout:\n        weights: {on: 60, off: 30}\n",
    )
    .unwrap();
    fails(
        &dir.vexil(&["flags", "validate", "ok.yaml", "weights.yaml"]),
        1,
        "weights.yaml:6:9: flags[w].fallthrough.rollout.weights: weights sum to 90",
    );
    // A top-level typo, and a syntax error at its place.
    fs::write(dir.path("top.json"), "{\"flags\": [],\n \"segmnts\": {}}").unwrap();
    fails(
        &dir.vexil(&["flags", "validate", "top.json"]),
        1,
        "top.json:2:2: segmnts: unknown field `segmnts`; did you mean `segments`?",
    );
    fs::write(dir.path("comma.json"), "{\"flags\": [\n  1,]}").unwrap();
    fails(
        &dir.vexil(&["flags", "validate", "comma.json"]),
        1,
        "comma.json:2:5: not valid JSON: trailing comma",
    );
}

/// The one JSON object an error prints on standard error with `--json`.
fn json_error(out: &Output, code: i32) -> Value {
    assert_eq!(out.status.code(), Some(code));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    serde_json::from_str(stderr.trim()).expect("a JSON object")
}

#[test]
fn json_is_honoured_by_offline_commands_and_their_errors() {
    let dir = Dir::new("json");
    let generated: Value = serde_json::from_str(&ok(&dir.vexil(&[
        "keys",
        "generate",
        "--id",
        "k1",
        "--out-private",
        "key.json",
        "--out-public",
        "keys.json",
        "--json",
    ])))
    .unwrap();
    assert_eq!(generated["key_id"], "k1");
    let v: Value = serde_json::from_str(&ok(&dir.vexil(&[
        "flags",
        "validate",
        &example("flags.yaml"),
        "--json",
    ])))
    .unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["flags"].as_u64()),
        (Some(true), Some(7))
    );
    let built: Value = serde_json::from_str(&ok(&dir.vexil(&[
        "snapshot",
        "build",
        &example("flags.yaml"),
        "--env",
        "dev",
        "--version",
        "1",
        "--key",
        "key.json",
        "--out",
        "s.json",
        "--json",
    ])))
    .unwrap();
    assert_eq!(
        (built["version"].as_u64(), built["key_id"].as_str()),
        (Some(1), Some("k1"))
    );
    let verified: Value = serde_json::from_str(&ok(&dir.vexil(&[
        "snapshot",
        "verify",
        "s.json",
        "--keys",
        "keys.json",
        "--json",
    ])))
    .unwrap();
    assert_eq!(
        (
            verified["valid"].as_bool(),
            verified["environment"].as_str()
        ),
        (Some(true), Some("dev"))
    );

    // Errors: one object with code, message, file, line and column.
    fs::write(
        dir.path("bad.json"),
        "{\"flags\": [{\"key\": \"a\",\n \"enabeld\": 1}]}",
    )
    .unwrap();
    let e = json_error(&dir.vexil(&["flags", "validate", "bad.json", "--json"]), 1);
    assert_eq!(
        (
            e["code"].as_str(),
            e["file"].as_str(),
            e["line"].as_u64(),
            e["column"].as_u64()
        ),
        (Some("INVALID"), Some("bad.json"), Some(2), Some(2)),
        "{e}"
    );
    assert!(e["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `enabled`?"));
    let e = json_error(
        &dir.vexil(&["flags", "validate", "missing.json", "--json"]),
        1,
    );
    assert_eq!(
        (e["code"].as_str(), e["file"].as_str()),
        (Some("IO"), Some("missing.json"))
    );
    let e = json_error(
        &dir.vexil(&[
            "snapshot",
            "verify",
            "s.json",
            "--keys",
            "keys.json",
            "--now",
            "2099-01-01T00:00:00Z",
            "--json",
        ]),
        1,
    );
    assert_eq!(e["code"], "EXPIRED", "{e}");
    let e = json_error(&dir.vexil(&["flags", "frobnicate", "--json"]), 2);
    assert_eq!(e["code"], "USAGE");
    // Eval: results on stdout, exit 3 for a default served because of an error.
    let out = dir.vexil(&[
        "eval",
        "s.json",
        "--keys",
        "keys.json",
        "--flag",
        "nope",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["error_code"], "FLAG_NOT_FOUND");
}

#[test]
fn completions_man_pages_and_server_options_only_where_they_apply() {
    let dir = Dir::new("completions");
    let bash = ok(&dir.vexil(&["completions", "bash"]));
    assert!(
        bash.contains("_vexil()") && bash.contains("snapshot"),
        "{bash}"
    );
    let zsh = ok(&dir.vexil(&["completions", "zsh"]));
    assert!(zsh.contains("#compdef vexil"));
    let man = ok(&dir.vexil(&["man"]));
    assert!(
        man.contains(".TH vexil") && man.contains("completions"),
        "{man}"
    );
    ok(&dir.vexil(&["man", "--out", "man"]));
    assert!(dir.path("man/vexil-flags-validate.1").exists());
    // Offline commands do not offer --server or --token; remote ones do.
    for offline in [
        &["flags", "validate", "--help"][..],
        &["eval", "--help"],
        &["snapshot", "build", "--help"],
        &["keys", "generate", "--help"],
    ] {
        let help = ok(&dir.vexil(offline));
        assert!(
            !help.contains("--server") && !help.contains("--token"),
            "{offline:?}: {help}"
        );
        assert!(help.contains("--json"), "{offline:?}: {help}");
    }
    for remote in [
        &["flag", "list", "--help"][..],
        &["approve", "--help"],
        &["keys", "list", "--help"],
    ] {
        let help = ok(&dir.vexil(remote));
        assert!(
            help.contains("--server") && help.contains("--token"),
            "{remote:?}: {help}"
        );
    }
}
