//! `vexil flags assess --settings vexil.toml`: the trading venues flags list in
//! `venues`, with their holidays file read next to the settings.
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::process::Command;

#[test]
fn flags_assess_reads_venues_from_the_settings_it_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::create_dir_all(dir.join("ops")).unwrap();
    fs::write(
        dir.join("ops/vexil.toml"),
        "[[governance.venues]]\nname = \"XLON\"\ntime_zone = \"Europe/London\"\nholidays_file = \"xlon.txt\"\n[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"08:00\"\nclose = \"16:30\"\n",
    )
    .unwrap();
    fs::write(dir.join("ops/xlon.txt"), "2026-12-25\n").unwrap();
    let flag = |key: &str, venues: &str| {
        format!(
            r#"{{"key": "{key}", "risk": "low", "compliance": ["MiFID_II"], "venues": {venues}, "expires_at": "2027-06-01T00:00:00Z", "variants": {{"on": true, "off": false}}, "off_variant": "off", "fallthrough": {{"variant": "off"}}}}"#
        )
    };
    fs::write(
        dir.join("flags.json"),
        format!(
            "{{\"flags\": [{}, {}]}}",
            flag("lse-router", "[\"XLON\"]"),
            flag("par-router", "[\"XPAR\"]")
        ),
    )
    .unwrap();
    let assess = |now: &str, settings: Option<&str>| {
        let mut args = vec!["flags", "assess", "flags.json", "--now", now];
        args.extend(settings.map(|s| ["--settings", s]).into_iter().flatten());
        let out = Command::new(env!("CARGO_BIN_EXE_vexil"))
            .args(&args)
            .current_dir(dir)
            .output()
            .expect("runs");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    // A Tuesday in session: frozen until 16:30 London time.
    let out = assess("2026-11-24T10:00:00Z", Some("ops/vexil.toml"));
    assert!(
        out.contains("lse-router: refused")
            && out.contains("XLON 08:00-16:30 Europe/London")
            && out.contains("2026-11-24T16:30:00Z"),
        "{out}"
    );
    assert!(
        out.contains("unknown venue `XPAR`; the known venues are XLON"),
        "{out}"
    );
    // Christmas Day, a holiday read from ops/xlon.txt: not frozen.
    let out = assess("2026-12-25T10:00:00Z", Some("ops/vexil.toml"));
    assert!(out.contains("lse-router: allowed"), "{out}");
    // Without settings no venue is configured: naming one is refused.
    let out = assess("2026-12-25T10:00:00Z", None);
    assert!(out.contains("no venues are configured"), "{out}");
}
