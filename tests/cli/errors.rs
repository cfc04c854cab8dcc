//! Clear errors for bad input, `--json` everywhere, completions and man pages.

use super::*;

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
    let generated: Value =
        serde_json::from_str(&ok(&dir.vexil(&[&KEYGEN[..], &["--json"]].concat()))).unwrap();
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
