//! The operator CLI against a real `vexil serve`: the seed's management-console
//! commands end to end, with human and `--json` output and clear failures.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use std::io::Write as _;
use std::process::{Output, Stdio};
use support::*;

fn out(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed ({:?}):\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn fails(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected failure, got stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_str(&out(o)).expect("JSON output")
}

fn write(dir: &DataDir, name: &str, value: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn the_seed_console_commands_work_end_to_end() {
    let (data, admin) = DataDir::init("cli");
    let s = Server::start(&data);
    let v = |token: &str, args: &[&str]| vexil_as(&s, token, args);

    // Tokens for the people of the seed's approval workflow.
    let made = json_of(&v(
        &admin,
        &[
            "token", "create", "--name", "alice", "--role", "editor", "--json",
        ],
    ));
    let alice = made["token"].as_str().unwrap().to_string();
    let text = out(&v(
        &admin,
        &[
            "token",
            "create",
            "--name",
            "paul",
            "--role",
            "PRODUCT_OWNER",
            "--role",
            "viewer",
        ],
    ));
    assert!(text.contains("shown only this once"));
    let paul = text
        .split_whitespace()
        .find(|w| w.starts_with("vxt_"))
        .unwrap()
        .to_string();
    let list = out(&v(&admin, &["token", "list"]));
    assert!(
        list.contains("alice") && list.contains("PRODUCT_OWNER"),
        "{list}"
    );
    fails(&v(&alice, &["token", "list"]));

    // `flag create` from options, as the seed's generator does; low risk applies at once.
    let text = out(&v(
        &alice,
        &[
            "flag",
            "create",
            "--key",
            "user-preferences-update",
            "--name",
            "Preferences",
            "--risk",
            "low",
            "--env",
            "staging",
        ],
    ));
    assert!(
        text.contains("applied") && text.contains("snapshot v"),
        "{text}"
    );
    // Interactively (answers on stdin): high risk waits for the product owner.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(["flag", "create", "--interactive", "--env", "staging"])
        .env("VEXIL_SERVER", &s.url)
        .env("VEXIL_TOKEN", &alice)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"enhanced-checkout-v2\nEnhanced checkout\nNew flow\n1\n3\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let text = out(&o);
    assert!(
        text.contains("Select strategy")
            && text.contains("pending")
            && text.contains("PRODUCT_OWNER"),
        "{text}"
    );

    let pending = json_of(&v(
        &paul,
        &["changes", "list", "--status", "pending", "--json"],
    ));
    let id = pending["changes"][0]["id"].as_i64().unwrap().to_string();
    let e = fails(&v(&alice, &["approve", &id]));
    assert!(e.contains("four-eyes"), "{e}");
    let text = out(&v(&paul, &["approve", &id, "--comment", "looks good"]));
    assert!(
        text.contains("applied") && text.contains("approved by paul"),
        "{text}"
    );

    // Rollout, status, list, history, rollback.
    out(&v(
        &alice,
        &[
            "rollout",
            "set",
            "user-preferences-update",
            "25",
            "--env",
            "staging",
        ],
    ));
    let status = json_of(&v(
        &alice,
        &[
            "flag",
            "status",
            "user-preferences-update",
            "--env",
            "staging",
            "--json",
        ],
    ));
    assert_eq!(status["rollout_percentage"], 25.0);
    let text = out(&v(
        &alice,
        &[
            "flag",
            "status",
            "user-preferences-update",
            "--env",
            "staging",
        ],
    ));
    assert!(text.contains("on 25% / off 75%"), "{text}");
    let e = fails(&v(
        &alice,
        &[
            "rollout",
            "set",
            "user-preferences-update",
            "140",
            "--env",
            "staging",
        ],
    ));
    assert!(e.contains("not between 0 and 100"), "{e}");
    let list = out(&v(&alice, &["flag", "list", "--env", "staging"]));
    assert!(
        list.contains("user-preferences-update") && list.contains("enhanced-checkout-v2"),
        "{list}"
    );
    out(&v(
        &alice,
        &["rollback", "user-preferences-update", "--env", "staging"],
    ));
    let history = out(&v(
        &alice,
        &[
            "flag",
            "history",
            "user-preferences-update",
            "--env",
            "staging",
        ],
    ));
    assert_eq!(history.lines().count(), 3, "{history}");
    let status = json_of(&v(
        &alice,
        &[
            "flag",
            "status",
            "user-preferences-update",
            "--env",
            "staging",
            "--json",
        ],
    ));
    assert_eq!(status["rollout_percentage"], 0.0);

    // Bulk update in the seed's format: all or nothing.
    let bulk = write(
        &data,
        "bulk.json",
        &json!({ "updates": [
            { "flag_id": "user-preferences-update", "operation": "update_percentage", "parameters": { "percentage": 50 } },
            { "flag_id": "no-such-flag", "operation": "toggle_flag", "parameters": { "enabled": false } }
        ]}),
    );
    let o = v(&alice, &["bulk-update", &bulk, "--env", "staging"]);
    let e = fails(&o);
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        report.contains("1 failed")
            && report.contains("no-such-flag")
            && e.contains("nothing was applied"),
        "{report} {e}"
    );
    let bulk = write(
        &data,
        "bulk-ok.json",
        &json!({ "updates": [
            { "flag_id": "user-preferences-update", "operation": "update_percentage", "parameters": { "percentage": 50 } },
            { "flag_id": "user-preferences-update", "operation": "toggle_flag", "parameters": { "enabled": false } }
        ]}),
    );
    let report = out(&v(&alice, &["bulk-update", &bulk, "--env", "staging"]));
    assert!(
        report.contains("Bulk update: 2 total, 2 applied, 0 pending approval, 0 failed"),
        "{report}"
    );

    // Kill switch, promote, archive, segments, environments.
    let e = fails(&v(
        &alice,
        &[
            "flag",
            "kill",
            "enhanced-checkout-v2",
            "--env",
            "staging",
            "--reason",
            "",
        ],
    ));
    assert!(e.contains("reason"), "{e}");
    out(&v(
        &alice,
        &[
            "flag",
            "kill",
            "enhanced-checkout-v2",
            "--env",
            "staging",
            "--reason",
            "checkout errors",
        ],
    ));
    let text = out(&v(
        &alice,
        &[
            "promote",
            "user-preferences-update",
            "--from",
            "staging",
            "--to",
            "production",
        ],
    ));
    assert!(
        text.contains("production") && text.contains("applied"),
        "{text}"
    );
    out(&v(
        &alice,
        &[
            "segment",
            "set",
            "beta-users",
            "--clause",
            r#"{"attr": "beta", "op": "eq", "values": [true]}"#,
            "--env",
            "staging",
        ],
    ));
    assert!(out(&v(&alice, &["segment", "list", "--env", "staging"])).contains("beta-users"));
    let e = fails(&v(
        &alice,
        &[
            "segment",
            "set",
            "broken",
            "--clause",
            r#"{"attr": "x", "op": "sorta"}"#,
            "--env",
            "staging",
        ],
    ));
    assert!(e.contains("sorta"), "{e}");
    out(&v(
        &alice,
        &[
            "flag",
            "archive",
            "user-preferences-update",
            "--env",
            "production",
            "--reason",
            "launched",
        ],
    ));
    let envs = out(&v(&alice, &["env", "list"]));
    assert!(
        envs.contains("production") && envs.contains("staging"),
        "{envs}"
    );
    out(&v(&admin, &["env", "create", "qa"]));

    // Changes, insights, policies.
    let rejected_id = {
        let mut risky = simple_flag("fraud-model-v2");
        risky["risk"] = json!("high");
        let file = write(&data, "fraud.json", &risky);
        let c = json_of(&v(
            &alice,
            &[
                "flag",
                "create",
                "--file",
                &file,
                "--env",
                "production",
                "--json",
            ],
        ));
        c["id"].as_i64().unwrap().to_string()
    };
    fails(&v(&paul, &["reject", &rejected_id, "--comment", ""]));
    let text = out(&v(
        &paul,
        &["reject", &rejected_id, "--comment", "not this quarter"],
    ));
    assert!(text.contains("rejected by paul"), "{text}");
    assert!(out(&v(&alice, &["changes", "show", &rejected_id])).contains("not this quarter"));
    out(&v(&alice, &["insights"]));
    let policies = json_of(&vexil(&["policy", "list", "--json"]));
    assert!(policies["policies"].as_array().unwrap().len() >= 14);

    // Audit: the seed's report, the log, verification (server and data directory).
    let report = json_of(&v(
        &alice,
        &[
            "audit",
            "user-preferences-update",
            "--env",
            "staging",
            "--format",
            "json",
        ],
    ));
    assert_eq!(report["audit_summary"]["compliance_status"], "compliant");
    let text = out(&v(
        &alice,
        &["audit", "user-preferences-update", "--env", "staging"],
    ));
    assert!(text.contains("compliance_status: compliant"), "{text}");
    assert!(
        out(&v(&alice, &["audit", "log", "--action", "flag.killed"]))
            .contains("enhanced-checkout-v2")
    );
    assert!(out(&v(&alice, &["audit", "verify"])).contains("intact"));
    assert!(out(&vexil(&["audit", "verify", "--data", data.arg()])).contains("intact"));

    // Keys, SDK keys and webhooks.
    let keys = out(&v(&admin, &["keys", "list"]));
    assert!(keys.contains("active"));
    let text = out(&v(&admin, &["keys", "rotate", "--overlap", "1d"]));
    assert!(text.contains("stays valid until"), "{text}");
    let keys = out(&v(&admin, &["keys", "list"]));
    assert!(
        keys.contains(" retiring ") && keys.contains(" until "),
        "{keys}"
    );
    assert!(out(&v(
        &admin,
        &["sdk-key", "create", "--name", "edge", "--env", "production"]
    ))
    .contains("vxs_"));
    let added = out(&v(
        &admin,
        &[
            "webhooks",
            "add",
            "--env",
            "production",
            "--url",
            "http://127.0.0.1:9/hook",
            "--event",
            "flag.killed",
        ],
    ));
    assert!(
        added.contains("webhook #1 → http://127.0.0.1:9/hook in production")
            && added.contains("signing secret"),
        "{added}"
    );
    let listed = out(&v(&admin, &["webhooks", "list", "--env", "production"]));
    assert!(
        listed.contains("http://127.0.0.1:9/hook (flag.killed)"),
        "{listed}"
    );
    out(&v(&admin, &["webhooks", "deliveries"]));
    let removed = out(&v(&admin, &["webhooks", "remove", "1"]));
    assert!(removed.contains("webhook #1 removed"), "{removed}");
}

#[test]
fn the_cli_explains_what_is_wrong() {
    let (data, admin) = DataDir::init("cli-errors");
    // No server.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args([
            "flag",
            "list",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "x",
        ])
        .output()
        .unwrap();
    let e = fails(&o);
    assert!(
        e.contains("cannot reach the origin") && e.contains("vexil serve"),
        "{e}"
    );
    let s = Server::start(&data);
    // No token.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(["flag", "list", "--server", &s.url])
        .env_remove("VEXIL_TOKEN")
        .output()
        .unwrap();
    assert!(fails(&o).contains("VEXIL_TOKEN"));
    // Wrong token, unknown environment, policy violation with its details.
    assert!(fails(&vexil_as(&s, "vxt_wrong", &["flag", "list"])).contains("unknown token"));
    assert!(
        fails(&vexil_as(&s, &admin, &["flag", "list", "--env", "moon"]))
            .contains("environments are")
    );
    let mut flag = simple_flag("no-expiry");
    flag.as_object_mut().unwrap().remove("expires_at");
    let file = write(&data, "flag.json", &flag);
    let e = fails(&vexil_as(&s, &admin, &["flag", "create", "--file", &file]));
    assert!(e.contains("expiry-required: flags other than"), "{e}");
    // The origin's refusal: each problem once, without an empty prefix, placed in
    // the file (line and column of the field in it).
    let text = "{\n  \"key\": \"bad-off\", \"expires_at\": \"2099-01-01T00:00:00Z\",\n  \"variants\": {\"on\": true},\n  \"off_variant\": \"nope\",\n  \"fallthrough\": {\"variant\": \"on\"}\n}\n";
    let bad = data.path().join("bad-off.json");
    std::fs::write(&bad, text).unwrap();
    let bad = bad.display().to_string();
    let e = fails(&vexil_as(&s, &admin, &["flag", "create", "--file", &bad]));
    assert_eq!(e.matches("unknown variant `nope`").count(), 1, "{e}");
    assert!(!e.contains("- :") && !e.contains("\n  : "), "{e}");
    assert!(e.contains(&format!("{bad}:4:3: ")), "{e}");
    // A typo is refused before the origin is asked, with a suggestion.
    std::fs::write(
        data.path().join("typo.json"),
        text.replace("\"off_variant\": \"nope\"", "\"enabeld\": false"),
    )
    .unwrap();
    let typo = data.path().join("typo.json").display().to_string();
    let e = fails(&vexil_as(
        &s,
        &admin,
        &["flag", "create", "--file", &typo, "--json"],
    ));
    let e: Value = serde_json::from_str(e.trim()).expect("one JSON object");
    assert_eq!(
        (e["code"].as_str(), e["line"].as_u64(), e["column"].as_u64()),
        (Some("INVALID"), Some(4), Some(3)),
        "{e}"
    );
    assert_eq!(e["file"], typo.as_str());
    assert!(
        e["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `enabled`?"),
        "{e}"
    );
    assert!(fails(&vexil_as(&s, &admin, &["flag", "create"])).contains("--interactive"));
    let e = fails(&vexil(&["init", "--data", data.arg()]));
    assert!(e.contains("already initialised"), "{e}");
    let o = vexil(&["serve", "--data", "/nonexistent/vexil"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("vexil init"));
    assert_eq!(vexil(&["rollout", "set", "x"]).status.code(), Some(2));
}

/// The human output of the typed commands shows every value the origin sent (none of
/// the `-` a misread field used to print), and `--json` prints the answer as sent.
#[test]
fn typed_answers_print_every_field() {
    let (data, admin) = DataDir::init("cli-typed");
    let s = Server::start(&data);
    let v = |args: &[&str]| vexil_as(&s, &admin, args);
    let staging = "/api/v1/environments/staging/flags";
    s.post(
        staging,
        &admin,
        json!({ "flag": simple_flag("typed-flag") }),
    )
    .expect(201);

    let text = out(&v(&["flag", "list", "--env", "staging"]));
    let row = text.lines().find(|l| l.starts_with("typed-flag")).unwrap();
    assert!(
        row.contains("yes") && row.contains("low") && row.ends_with(" off"),
        "{text}"
    );
    let text = out(&v(&["flag", "status", "typed-flag", "--env", "staging"]));
    for want in [
        "typed-flag in staging",
        "owner               web",
        "kind                release",
        "risk                low",
        "enabled             true",
        "revision            1",
        "pending changes     none",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert!(!text.contains("updated_by          -"), "{text}");
    let text = out(&v(&["flag", "history", "typed-flag", "--env", "staging"]));
    assert!(
        text.contains("revision   1") && text.contains("change #1"),
        "{text}"
    );

    let text = out(&v(&["changes", "show", "1"]));
    assert!(
        text.contains("change #1 applied: create `typed-flag` in staging (revision 1, snapshot v")
            && !text.contains("author -"),
        "{text}"
    );
    let text = out(&v(&["changes", "list"]));
    assert!(text.contains("change #1 applied"), "{text}");

    let text = out(&v(&[
        "rollout",
        "start",
        "typed-flag",
        "--stages",
        "10,100",
        "--env",
        "staging",
    ]));
    assert!(
        text.contains(
            "rollout #1 of typed-flag in staging: running — stage 1 of 2 (10%), variant on"
        ) && text.contains("stages 10 → 100 (from 0%), each 600 s"),
        "{text}"
    );
    let text = out(&v(&["rollout", "pause", "typed-flag", "--env", "staging"]));
    assert!(
        text.contains(": paused") && text.contains("pause"),
        "{text}"
    );
    let text = out(&v(&["rollout", "status", "--env", "staging"]));
    assert!(
        text.contains("typed-flag") && text.contains("paused"),
        "{text}"
    );
    for line in text.lines() {
        assert!(!line.contains(" - "), "a value is missing: {line}");
    }

    let text = out(&v(&["audit", "verify"]));
    assert!(
        text.starts_with("audit chain intact: ") && !text.contains(" - "),
        "{text}"
    );
    let text = out(&v(&["audit", "log", "--flag", "typed-flag"]));
    assert!(
        text.contains("change.applied") && text.contains("staging/typed-flag"),
        "{text}"
    );

    // `--json` is the answer as the origin sent it.
    let shown = json_of(&v(&["changes", "show", "1", "--json"]));
    assert_eq!(shown, s.get("/api/v1/changes/1", &admin).expect(200).json);
}
