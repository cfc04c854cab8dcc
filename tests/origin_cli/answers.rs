//! What the commands print from the API's typed answers, field by field.

use super::*;

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
        "--best-execution",
        r#"{"event": "order.executed", "tolerance": 0.5}"#,
        "--env",
        "staging",
    ]));
    assert!(
        text.contains(
            "rollout #1 of typed-flag in staging: running — stage 1 of 2 (10%), variant on"
        ) && text.contains("stages 10 → 100 (from 0%), each 600 s"),
        "{text}"
    );
    let started = s.get("/api/v1/rollouts/1", &admin).expect(200).json;
    assert_eq!(
        started["guards"]["best_execution"][0]["event"], "order.executed",
        "{started}"
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

/// `flag metrics` and `flag review` read their answers as the API's types: every
/// figure the origin sent is printed (`-` only for what was not measured).
#[test]
fn metrics_and_review_print_every_field() {
    let (data, admin) = DataDir::init("cli-metrics");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    split_flag_with_metrics(&s, &editor, &sdk, "checkout");
    let text = out(&vexil_as(
        &s,
        &editor,
        &["flag", "metrics", "checkout", "--env", "production"],
    ));
    for want in [
        "  evaluations        400\n",
        "  error rate         0%\n",
        "  success rate       87.5%\n",
        "  response time      mean -, p95 -\n",
        "  unique units       ",
        "  variant off        100 evaluations, ",
        " units, outcome errors 20%, reasons {\"SPLIT\":100}\n",
        "  variant on         300 evaluations, ",
        " units, outcome errors 10%, reasons {\"SPLIT\":300}\n",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert!(text.starts_with("checkout in production, "), "{text}");

    let oversight = s.token(&admin, "dr-oz", &["CLINICAL_OVERSIGHT"]);
    s.clinical_flag(&admin, &editor, "triage-hints");
    let text = out(&vexil_as(
        &s,
        &oversight,
        &[
            "flag",
            "review",
            "triage-hints",
            "--env",
            "staging",
            "--comment",
            "alert rates reviewed",
        ],
    ));
    assert!(
        text.starts_with("reviewed triage-hints at oversight level 2: next review due 20")
            && text.ends_with(" (every 30 days)\n"),
        "{text}"
    );
}
