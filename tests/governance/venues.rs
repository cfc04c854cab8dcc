//! The MiFID II freeze over trading venues (`[[governance.venues]]`) and a flag's
//! `venues`.

use super::*;
use vexil::origin::config::OriginConfig;

/// London and New York, weekdays. NOW (Tuesday 2026-11-24 10:00 UTC) is in London's
/// session (GMT) and before New York's (14:30-21:00 UTC).
fn config() -> GovernanceConfig {
    OriginConfig::from_toml(concat!(
        "[[governance.venues]]\nname = \"XLON\"\ntime_zone = \"Europe/London\"\n",
        "[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"08:00\"\nclose = \"16:30\"\n",
        "[[governance.venues]]\nname = \"XNYS\"\ntime_zone = \"America/New_York\"\n",
        "[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"09:30\"\nclose = \"16:00\"\n",
    ))
    .unwrap()
    .governance
}

fn at(text: &str) -> i64 {
    parse_rfc3339_ms(text).unwrap()
}

fn assess_at(flag: &Value, now_ms: i64) -> vexil::origin::governance::Assessment {
    assess(flag, &BTreeMap::new(), Change::Update, now_ms, &config())
}

fn until(a: &vexil::origin::governance::Assessment) -> Option<String> {
    a.frozen_until_ms
        .map(vexil::engine::time::format_rfc3339_ms)
}

#[test]
fn a_mifid_flag_is_frozen_while_any_of_its_venues_trades() {
    let london = with(json!({"compliance": ["MiFID_II"], "venues": ["XLON"]}));
    let a = assess_at(&london, now());
    assert_eq!(policies(&a), ["mifid2-trading-hours-freeze"].into());
    let message = &a.violations[0].message;
    assert!(
        message.contains("XLON 08:00-16:30 Europe/London")
            && message.contains("2026-11-24T16:30:00Z"),
        "{message}"
    );
    assert_eq!(until(&a).as_deref(), Some("2026-11-24T16:30:00Z"));
    // After London closes: free, though New York trades.
    assert!(assess_at(&london, at("2026-11-24T17:00:00Z")).allowed());
    let new_york = with(json!({"compliance": ["MiFID_II"], "venues": ["XNYS"]}));
    assert!(assess_at(&new_york, now()).allowed());
    let a = assess_at(&new_york, at("2026-11-24T17:00:00Z"));
    assert_eq!(until(&a).as_deref(), Some("2026-11-24T21:00:00Z"));
    // No venues: all of them, until the last closes (New York opens before London
    // closes).
    let every = with(json!({"compliance": ["MiFID_II"]}));
    assert_eq!(
        until(&assess_at(&every, now())).as_deref(),
        Some("2026-11-24T21:00:00Z")
    );
    // Not MiFID II: never frozen; the kill switch never is.
    assert!(assess_at(&with(json!({"venues": ["XLON"]})), now()).allowed());
    let kill = assess(&london, &BTreeMap::new(), Change::Disable, now(), &config());
    assert!(kill.allowed());
}

#[test]
fn unknown_venues_are_refused_naming_the_known_ones() {
    let flag = with(json!({"venues": ["XLON", "XPAR"]}));
    let a = assess_at(&flag, now());
    assert_eq!(policies(&a), ["trading-venues"].into());
    assert_eq!(
        a.violations[0].message,
        "`venues` names unknown venue `XPAR`; the known venues are XLON, XNYS"
    );
    // Without venues configured, listing any is an error that says so.
    let a = check(&with(json!({"venues": ["XLON"]})));
    assert!(
        a.violations[0].message.contains("no venues are configured"),
        "{a:?}"
    );
    // The legacy trading hours are the venue `trading_hours`.
    let legacy = GovernanceConfig {
        trading_hours: Some(TradingHours {
            weekdays: vec![1, 2, 3, 4, 5],
            open_minute: 8 * 60,
            close_minute: 16 * 60 + 30,
        }),
        ..GovernanceConfig::default()
    };
    let flag = with(json!({"compliance": ["MiFID_II"], "venues": ["trading_hours"]}));
    let a = assess(&flag, &BTreeMap::new(), Change::Update, now(), &legacy);
    assert_eq!(policies(&a), ["mifid2-trading-hours-freeze"].into());
}

#[test]
fn moving_a_flag_between_venues_waits_for_both() {
    let current = with(json!({"compliance": ["MiFID_II"], "venues": ["XNYS"]}));
    let proposed = with(json!({"compliance": ["MiFID_II"], "venues": ["XLON"]}));
    let at_1500 = at("2026-11-24T15:00:00Z");
    let a = assess_change(
        Some(&current),
        &proposed,
        &BTreeMap::new(),
        Change::Update,
        at_1500,
        &config(),
    );
    assert_eq!(policies(&a), ["mifid2-trading-hours-freeze"].into());
    assert_eq!(until(&a).as_deref(), Some("2026-11-24T21:00:00Z"));
}
