//! The seed's management-console commands end to end against one origin.

use super::*;

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
    assert_eq!(
        report,
        "#0 user-preferences-update update_percentage: not_applied: rolled back: operation #1 failed\n\
         #1 no-such-flag toggle_flag: failed: no flag `no-such-flag` in `staging`\n\
         Bulk update: 2 total, 0 applied, 0 pending approval, 1 failed, 1 rolled back\n"
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
    let mut verify = vec!["audit", "verify", "--data", data.arg()];
    verify.extend(data.database_args());
    assert!(out(&vexil(&verify)).contains("intact"));

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
