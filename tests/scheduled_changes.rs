//! Scheduled changes (`apply_at`): approved changes wait, pending and cancellable,
//! until the scheduler applies them when due — audited, published, sent to webhooks
//! — after assessing them again; a change the policies made stricter meanwhile waits
//! for the approvals it now lacks. The origin's clock moves through
//! `VEXIL_CLOCK_FILE`.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

const FLAGS: &str = "/api/v1/environments/production/flags";

fn at(offset_ms: i64) -> String {
    vexil::engine::time::format_rfc3339_ms(now_ms() + offset_ms)
}

/// Waits (the scheduler runs every `rollouts.check_interval`) until change `id`
/// satisfies `done`.
fn wait_for(s: &Server, token: &str, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let c = s
            .get(&format!("/api/v1/changes/{id}"), token)
            .expect(200)
            .json;
        if done(&c) {
            return c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "change #{id} stayed {c}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn serves(s: &Server, token: &str, key: &str) -> Value {
    s.get(&format!("{FLAGS}/{key}"), token).expect(200).json["flag"]["fallthrough"].clone()
}

#[test]
fn approved_changes_wait_for_apply_at_then_apply_rechecked() {
    let (data, admin) = DataDir::init("scheduled");
    data.set("check_interval", "check_interval = \"100ms\"");
    let mut clock = Clock::new(&data);
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("banner") }))
        .expect(201);
    let mut on = simple_flag("banner");
    on["fallthrough"] = json!({ "variant": "on" });

    // Bad times are refused, each saying why; the kill switch never waits.
    for (when, needle) in [
        (json!("tomorrow"), "RFC 3339"),
        (json!(at(-60_000)), "not in the future"),
        (json!(at(400 * 86_400_000)), "more than a year"),
    ] {
        let r = s
            .put(
                &format!("{FLAGS}/banner"),
                &editor,
                json!({ "flag": on, "apply_at": when }),
            )
            .expect(400);
        assert!(r.text.contains(needle), "{}", r.text);
    }

    // Needing no approval, a scheduled change still waits for its time.
    let hour = 3_600_000;
    let c = s
        .put(
            &format!("{FLAGS}/banner"),
            &editor,
            json!({ "flag": on, "apply_at": at(hour) }),
        )
        .expect(200)
        .json;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["status"], "pending", "{c}");
    assert!(c["apply_at"].is_string(), "{c}");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(serves(&s, &editor, "banner"), json!({ "variant": "off" }));
    // The CLI says when it applies.
    let out = vexil_as(&s, &editor, &["changes", "show", &id.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("scheduled: applies at"), "{stdout}");

    // Due: applied by the scheduler, audited and published.
    clock.set_offset(hour + 1000);
    let done = wait_for(&s, &editor, id, |c| c["status"] == "applied");
    assert!(done["applied"]["snapshot_version"].is_u64(), "{done}");
    assert_eq!(serves(&s, &editor, "banner"), json!({ "variant": "on" }));
    let audit = s
        .get("/api/v1/audit?flag=banner&action=change.applied", &editor)
        .expect(200)
        .json;
    let last = audit["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "scheduler", "{last}");

    // Cancellable while it waits.
    let off = simple_flag("banner");
    let c = s
        .put(
            &format!("{FLAGS}/banner"),
            &editor,
            json!({ "flag": off, "apply_at": at(3 * hour) }),
        )
        .expect(200)
        .json;
    let cancelled = c["id"].as_i64().unwrap();
    s.post(
        &format!("/api/v1/changes/{cancelled}/cancel"),
        &editor,
        json!({}),
    )
    .expect(200);

    // Rechecked when due: a segment change needing nothing when requested needs
    // what the critical flag that started using the segment meanwhile needs.
    let segment = "/api/v1/environments/production/segments/staff";
    let staff = json!({ "attr": "email", "op": "ends_with", "values": ["@example.com"] });
    s.put(segment, &editor, json!({ "clause": staff }))
        .expect(200);
    let widen = json!({ "attr": "email", "op": "exists" });
    let c = s
        .put(
            segment,
            &editor,
            json!({ "clause": widen, "apply_at": at(5 * hour) }),
        )
        .expect(200)
        .json;
    let scheduled = c["id"].as_i64().unwrap();
    assert!(c["required"].as_array().unwrap().is_empty(), "{c}");
    let mut vault = simple_flag("vault");
    vault["risk"] = json!("critical");
    vault["rules"] =
        json!([{ "id": "staff", "when": { "segment": "staff" }, "serve": { "variant": "on" } }]);
    let vault_change = s
        .post(FLAGS, &editor, json!({ "flag": vault }))
        .expect(201)
        .json;
    let leads: Vec<String> = ["TECH_LEAD", "SECURITY", "PRODUCT_OWNER"]
        .iter()
        .enumerate()
        .map(|(i, role)| s.token(&admin, &format!("lead-{i}"), &[role]))
        .collect();
    for t in &leads {
        s.post(
            &format!("/api/v1/changes/{}/approve", vault_change["id"]),
            t,
            json!({}),
        )
        .expect(200);
    }
    clock.set_offset(5 * hour + 1000);
    let c = wait_for(&s, &editor, scheduled, |c| {
        c["required"].as_array().is_some_and(|r| !r.is_empty())
    });
    assert_eq!(
        c["status"], "pending",
        "not applied without the new approvals: {c}"
    );
    let roles: Vec<&str> = c["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"TECH_LEAD") && roles.contains(&"SECURITY"),
        "{roles:?}"
    );
    let rechecked = s
        .get("/api/v1/audit?action=change.rechecked", &editor)
        .expect(200)
        .json;
    assert_eq!(
        rechecked["entries"].as_array().unwrap().len(),
        1,
        "{rechecked}"
    );
    // Once they approve, it applies (it is past due).
    let mut last = Value::Null;
    for t in &leads {
        last = s
            .post(
                &format!("/api/v1/changes/{scheduled}/approve"),
                t,
                json!({}),
            )
            .json;
    }
    assert_eq!(last["status"], "applied", "{last}");
}

#[test]
fn a_change_frozen_by_trading_hours_applies_by_itself_at_the_close() {
    let (data, admin) = DataDir::init("held-at-close");
    data.set("check_interval", "check_interval = \"100ms\"");
    // One session a day, 09:00 to 17:30 UTC; the origin's clock starts tomorrow at noon.
    data.configure("[governance.trading_hours]\nweekdays = [1, 2, 3, 4, 5, 6, 7]\nopen = \"09:00\"\nclose = \"17:30\"\n");
    let day = 86_400_000;
    let noon = (now_ms() / day + 1) * day + 12 * 3_600_000;
    let mut clock = Clock::at(&data, noon);
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let compliance = s.token(&admin, "carla", &["COMPLIANCE"]);
    let mut flag = simple_flag("best-ex-router");
    flag["compliance"] = json!(["MiFID_II"]);
    flag["expires_at"] = json!(vexil::engine::time::format_rfc3339_ms(noon + 30 * day));
    let c = s
        .post(FLAGS, &editor, json!({ "flag": flag.clone() }))
        .expect(201)
        .json;
    assert_eq!(
        c["status"], "pending",
        "a new MiFID flag in session waits too: {c}"
    );
    let created = c["id"].as_i64().unwrap();

    let close =
        vexil::engine::time::format_rfc3339_ms(noon - 12 * 3_600_000 + (17 * 60 + 30) * 60_000);
    assert_eq!(c["apply_at"], json!(close), "{c}");
    // `changes apply` in session: not applied, says when, exits 4.
    let out = vexil_as(&s, &editor, &["changes", "apply", &created.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("held back by mifid2-trading-hours-freeze")
            && stdout.contains(&close[..16]),
        "{stdout}"
    );
    let _ = compliance;

    // The session closes: the scheduler applies it, published and audited.
    clock.set(noon + 6 * 3_600_000);
    let done = wait_for(&s, &editor, created, |c| c["status"] == "applied");
    assert!(done["applied"]["snapshot_version"].is_u64(), "{done}");
}

#[test]
fn a_change_to_a_flag_on_an_open_venue_is_held_until_that_venue_closes() {
    let (data, admin) = DataDir::init("venue-close");
    data.set("check_interval", "check_interval = \"100ms\"");
    std::fs::write(
        data.path().join("xlon-holidays.txt"),
        "# London Stock Exchange\n2027-12-24 12:30  # Christmas Eve\n2027-12-27  # Christmas (substitute)\n",
    )
    .unwrap();
    data.configure(concat!(
        "[[governance.venues]]\nname = \"XLON\"\ntime_zone = \"Europe/London\"\nholidays_file = \"xlon-holidays.txt\"\n",
        "[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"08:00\"\nclose = \"16:30\"\n",
        "[[governance.venues]]\nname = \"XNYS\"\ntime_zone = \"America/New_York\"\n",
        "[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"09:30\"\nclose = \"16:00\"\n",
    ));
    // A Wednesday in summer: 10:00 UTC is 11:00 in London (BST); New York opens at
    // 13:30 UTC (EDT) and closes at 20:00 UTC.
    let t = |text: &str| vexil::engine::time::parse_rfc3339_ms(text).unwrap();
    let start = t("2027-06-16T10:00:00Z");
    let mut clock = Clock::at(&data, start);
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let policies = s.get("/api/v1/policies", &editor).expect(200).json;
    let venues = &policies["config"]["venues"];
    assert_eq!(venues[0]["name"], "XLON", "{policies}");
    assert_eq!(venues[0]["holidays"], json!(["2027-12-27"]), "{policies}");
    assert_eq!(
        venues[0]["early_closes"],
        json!([{ "date": "2027-12-24", "close": "12:30" }]),
        "{policies}"
    );
    assert_eq!(venues[1]["sessions"][0]["close"], "16:00", "{policies}");

    let mifid = |key: &str, venues: Value| {
        let mut flag = simple_flag(key);
        flag["compliance"] = json!(["MiFID_II"]);
        flag["expires_at"] = json!(vexil::engine::time::format_rfc3339_ms(
            start + 30 * 86_400_000
        ));
        if !venues.is_null() {
            flag["venues"] = venues;
        }
        json!({ "flag": flag })
    };
    // On XLON only: held until London closes, 16:30 BST.
    let london = s
        .post(FLAGS, &editor, mifid("lse-router", json!(["XLON"])))
        .expect(201)
        .json;
    assert_eq!(london["status"], "pending", "{london}");
    assert_eq!(london["apply_at"], "2027-06-16T15:30:00Z", "{london}");
    // No venues: every venue; New York opens before London closes, so until 20:00.
    let every = s
        .post(FLAGS, &editor, mifid("global-router", Value::Null))
        .expect(201)
        .json;
    assert_eq!(every["apply_at"], "2027-06-16T20:00:00Z", "{every}");
    // An unknown venue is refused, naming the known ones.
    let r = s.post(FLAGS, &editor, mifid("par-router", json!(["XPAR"])));
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.text
            .contains("unknown venue `XPAR`; the known venues are XLON, XNYS"),
        "{}",
        r.text
    );

    // `changes apply` in session: not applied, says when, exits 4.
    let id = london["id"].as_i64().unwrap();
    let out = vexil_as(&s, &editor, &["changes", "apply", &id.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("held back by mifid2-trading-hours-freeze")
            && stdout.contains("2027-06-16T15:30"),
        "{stdout}"
    );

    // London closes: the scheduler applies the XLON flag; the other waits for New York.
    clock.set(t("2027-06-16T15:31:00Z"));
    let done = wait_for(&s, &editor, id, |c| c["status"] == "applied");
    assert!(done["applied"]["snapshot_version"].is_u64(), "{done}");
    let global = every["id"].as_i64().unwrap();
    let still = s
        .get(&format!("/api/v1/changes/{global}"), &editor)
        .expect(200)
        .json;
    assert_eq!(still["status"], "pending", "{still}");
}
