//! Keys, validation, signing, verification and evaluation of flags files.

use super::*;

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
    fails(&dir.vexil(&KEYGEN), 1, "already exists");
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

    // A trace: when, how long, and the steps the evaluation took.
    let d = eval(&[
        "--flag",
        "enhanced-order-routing-v2",
        "--context",
        trader,
        "--trace",
    ]);
    let trace = &d["trace"];
    assert_eq!(trace["at"], "2026-11-24T06:00:00Z", "{d}");
    assert!(
        trace["duration_us"].as_f64().is_some_and(|us| us >= 0.0),
        "{d}"
    );
    let steps = trace["steps"].as_array().expect("steps");
    let serving = steps
        .iter()
        .position(|s| s["step"] == "rule" && s["id"] == "pros")
        .expect("the serving rule is traced");
    assert_eq!(steps[serving]["matched"], true, "{d}");
    assert!(
        steps[..serving].iter().all(|s| s["matched"] != true),
        "rules before the serving one did not match: {d}"
    );
    let rollout = &steps[serving + 1];
    assert_eq!(rollout["step"], "rollout", "{d}");
    assert!(
        rollout["bucket"].as_u64().is_some_and(|b| b < 100_000),
        "{d}"
    );

    fs::write(dir.path("ctx.json"), r#"{"targetingKey": "acct-2"}"#).unwrap();
    let traced = eval(&["--context-file", "ctx.json", "--trace"]);
    assert_eq!(
        traced["legacy-order-routing"]["trace"]["steps"]
            .as_array()
            .and_then(|s| s.last())
            .map(|s| (s["step"].clone(), s["inside"].clone())),
        Some(("exclusion".into(), false.into())),
        "{traced}"
    );
    let all = eval(&["--context-file", "ctx.json"]);
    assert!(all["legacy-order-routing"].get("trace").is_none());
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
