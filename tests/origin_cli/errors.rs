//! Clear failures: what the CLI says when the origin, the token or the input is wrong.

use super::*;

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
    assert_eq!(
        e,
        format!("error: the change violates 1 policy:\n  {file}: expiry-required: flags other than operational toggles and kill switches need `expires_at`\n")
    );
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
    assert_eq!(
        e,
        format!("error: the flags would not compile:\n  {bad}:4:3: flags[bad-off].off_variant: unknown variant `nope`\n")
    );
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
