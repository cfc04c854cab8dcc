use super::load::parse_holidays;
use super::*;
use crate::engine::time::{format_rfc3339_ms, parse_rfc3339_ms};
use serde_json::json;
use std::path::Path;

fn at(text: &str) -> i64 {
    parse_rfc3339_ms(text).expect("a test time")
}

fn show(ms: Option<i64>) -> Option<String> {
    ms.map(format_rfc3339_ms)
}

fn venue(name: &str, tz: &str, sessions: &[(&[u8], &str, &str)]) -> Venue {
    let minute = |t: &str| {
        let (h, m) = t.split_once(':').expect("HH:MM");
        h.parse::<u16>().expect("hour") * 60 + m.parse::<u16>().expect("minute")
    };
    Venue {
        name: name.into(),
        time_zone: TimeZone::get(tz).expect("a bundled time zone"),
        sessions: sessions
            .iter()
            .map(|(days, open, close)| Session {
                weekdays: days.to_vec(),
                open_minute: minute(open),
                close_minute: minute(close),
            })
            .collect(),
        holidays: BTreeSet::new(),
        early_closes: BTreeMap::new(),
    }
}

const WEEK: &[u8] = &[1, 2, 3, 4, 5];

fn xlon() -> Venue {
    venue("XLON", "Europe/London", &[(WEEK, "08:00", "16:30")])
}

fn xnys() -> Venue {
    venue("XNYS", "America/New_York", &[(WEEK, "09:30", "16:00")])
}

fn close(v: &Venue, now: &str) -> Option<String> {
    show(v.in_session(at(now)).map(|o| o.close_ms))
}

#[test]
fn sessions_are_local_times_in_the_venues_time_zone() {
    let lon = xlon();
    // Winter: London is on UTC.
    assert_eq!(
        close(&lon, "2026-11-24T10:00:00Z").as_deref(),
        Some("2026-11-24T16:30:00Z")
    );
    assert_eq!(close(&lon, "2026-11-24T07:59:59Z"), None);
    // Summer: BST, an hour ahead; 07:30Z is 08:30 in London.
    assert_eq!(
        close(&lon, "2026-06-16T07:30:00Z").as_deref(),
        Some("2026-06-16T15:30:00Z")
    );
    assert_eq!(close(&lon, "2026-06-16T15:45:00Z"), None);
    // Weekends are closed.
    assert_eq!(close(&lon, "2026-11-28T10:00:00Z"), None);
    let nys = xnys();
    assert_eq!(
        close(&nys, "2026-11-24T15:00:00Z").as_deref(),
        Some("2026-11-24T21:00:00Z")
    );
    assert_eq!(lon.describe(), "XLON 08:00-16:30 Europe/London");
}

#[test]
fn dst_change_days_keep_wall_clock_hours() {
    let every_day: &[u8] = &[1, 2, 3, 4, 5, 6, 7];
    let lon = venue("XLON", "Europe/London", &[(every_day, "08:00", "16:30")]);
    // 2026-03-29: clocks go forward at 01:00 UTC; the day's session is in BST.
    assert_eq!(
        close(&lon, "2026-03-28T10:00:00Z").as_deref(),
        Some("2026-03-28T16:30:00Z")
    );
    assert_eq!(
        close(&lon, "2026-03-29T10:00:00Z").as_deref(),
        Some("2026-03-29T15:30:00Z")
    );
    assert_eq!(
        close(&lon, "2026-03-29T07:30:00Z").as_deref(),
        Some("2026-03-29T15:30:00Z")
    );
    // 2026-10-25: clocks go back; GMT again.
    assert_eq!(
        close(&lon, "2026-10-25T16:00:00Z").as_deref(),
        Some("2026-10-25T16:30:00Z")
    );
    assert_eq!(close(&lon, "2026-10-25T07:30:00Z"), None);
    // An overnight session across the change: opens 22:00 GMT, closes 06:00 BST.
    let night = venue("NIGHT", "Europe/London", &[(&[6], "22:00", "06:00")]);
    let open = night
        .in_session(at("2026-03-29T03:00:00Z"))
        .expect("in session");
    assert_eq!(format_rfc3339_ms(open.open_ms), "2026-03-28T22:00:00Z");
    assert_eq!(format_rfc3339_ms(open.close_ms), "2026-03-29T05:00:00Z");
    // A session opening in the skipped hour (01:00-02:00) opens after it.
    let gap = venue("GAP", "Europe/London", &[(&[7], "01:30", "03:00")]);
    let open = gap
        .in_session(at("2026-03-29T01:30:00Z"))
        .expect("in session");
    assert_eq!(format_rfc3339_ms(open.open_ms), "2026-03-29T01:30:00Z");
    assert_eq!(format_rfc3339_ms(open.close_ms), "2026-03-29T02:00:00Z");
}

#[test]
fn venues_whose_clocks_change_on_different_days_close_when_the_last_closes() {
    let (lon, nys) = (xlon(), xnys());
    let both = [&lon, &nys];
    // 2026-03-16: New York is on EDT (from 8 March), London still on GMT.
    assert_eq!(
        show(frozen_until(&both, at("2026-03-16T14:00:00Z"))).as_deref(),
        Some("2026-03-16T20:00:00Z")
    );
    // Only London is open at 10:00Z, but New York opens (13:30Z) before London
    // closes (16:30Z): frozen until New York closes too.
    assert_eq!(
        show(frozen_until(&both, at("2026-03-16T10:00:00Z"))).as_deref(),
        Some("2026-03-16T20:00:00Z")
    );
    // A week earlier both are on standard time.
    assert_eq!(
        show(frozen_until(&both, at("2026-03-06T10:00:00Z"))).as_deref(),
        Some("2026-03-06T21:00:00Z")
    );
    // New York alone, after London closed.
    assert_eq!(
        show(frozen_until(&both, at("2026-03-16T18:00:00Z"))).as_deref(),
        Some("2026-03-16T20:00:00Z")
    );
    assert_eq!(frozen_until(&both, at("2026-03-16T21:00:00Z")), None);
    assert_eq!(frozen_until(&[&lon], at("2026-03-16T18:00:00Z")), None);
    assert_eq!(frozen_until(&[], at("2026-03-16T10:00:00Z")), None);
}

#[test]
fn holidays_close_the_sessions_opening_that_day() {
    let mut lon = xlon();
    lon.holidays = parse_holidays(
        Path::new("x.txt"),
        "# UK\n2026-12-25  # Christmas\n\n2026-12-28\n",
    )
    .unwrap()
    .holidays;
    assert_eq!(
        close(&lon, "2026-12-24T10:00:00Z").as_deref(),
        Some("2026-12-24T16:30:00Z")
    );
    assert_eq!(close(&lon, "2026-12-25T10:00:00Z"), None);
    assert_eq!(close(&lon, "2026-12-28T10:00:00Z"), None);
    // An overnight session opening the day before a holiday still runs into it.
    let mut night = venue("NIGHT", "Europe/London", &[(WEEK, "22:00", "06:00")]);
    night.holidays = lon.holidays.clone();
    assert_eq!(
        close(&night, "2026-12-25T03:00:00Z").as_deref(),
        Some("2026-12-25T06:00:00Z")
    );
    assert_eq!(close(&night, "2026-12-25T23:00:00Z"), None);
}

#[test]
fn early_closes_end_the_trading_day_at_their_time() {
    let mut nys = xnys();
    let closures = parse_holidays(
        Path::new("xnys.txt"),
        "2026-11-26  # Thanksgiving\n2026-11-27 13:00  # the day after: half day\n",
    )
    .unwrap();
    assert_eq!(
        closures.early_closes.get(&jiff::civil::date(2026, 11, 27)),
        Some(&780)
    );
    (nys.holidays, nys.early_closes) = (closures.holidays, closures.early_closes);
    assert_eq!(close(&nys, "2026-11-26T15:00:00Z"), None);
    // 13:00 in New York (EST) is 18:00 UTC; after it the venue is closed.
    assert_eq!(
        close(&nys, "2026-11-27T15:00:00Z").as_deref(),
        Some("2026-11-27T18:00:00Z")
    );
    assert_eq!(close(&nys, "2026-11-27T18:30:00Z"), None);
    assert_eq!(
        close(&nys, "2026-11-30T15:00:00Z").as_deref(),
        Some("2026-11-30T21:00:00Z")
    );
    // A held change applies at the early close.
    assert_eq!(
        show(frozen_until(&[&nys], at("2026-11-27T16:00:00Z"))).as_deref(),
        Some("2026-11-27T18:00:00Z")
    );

    // A session opening at or after the early close does not open; one opening before
    // it and running overnight stops at it; one running into an early-close day from
    // the night before stops there if it would close later.
    let mut tks = venue(
        "XTKS",
        "Asia/Tokyo",
        &[(WEEK, "09:00", "11:30"), (WEEK, "12:30", "15:00")],
    );
    tks.early_closes
        .insert(jiff::civil::date(2026, 12, 30), 11 * 60 + 30);
    assert_eq!(close(&tks, "2026-12-30T04:00:00Z"), None); // 13:00 Tokyo
    assert_eq!(
        close(&tks, "2026-12-30T01:00:00Z").as_deref(),
        Some("2026-12-30T02:30:00Z")
    );
    let mut night = venue("NIGHT", "Europe/London", &[(WEEK, "22:00", "06:00")]);
    night
        .early_closes
        .insert(jiff::civil::date(2026, 12, 24), 23 * 60);
    assert_eq!(
        close(&night, "2026-12-24T22:30:00Z").as_deref(),
        Some("2026-12-24T23:00:00Z")
    );
    night
        .early_closes
        .insert(jiff::civil::date(2026, 12, 31), 4 * 60);
    assert_eq!(
        close(&night, "2026-12-31T03:00:00Z").as_deref(),
        Some("2026-12-31T04:00:00Z")
    );
    assert_eq!(close(&night, "2026-12-31T05:00:00Z"), None);
}

#[test]
fn overnight_and_multiple_sessions() {
    // Tokyo's two sessions and its lunch break.
    let tks = venue(
        "XTKS",
        "Asia/Tokyo",
        &[(WEEK, "09:00", "11:30"), (WEEK, "12:30", "15:00")],
    );
    assert_eq!(
        close(&tks, "2026-11-24T01:00:00Z").as_deref(),
        Some("2026-11-24T02:30:00Z")
    );
    assert_eq!(close(&tks, "2026-11-24T03:00:00Z"), None);
    assert_eq!(
        close(&tks, "2026-11-24T04:00:00Z").as_deref(),
        Some("2026-11-24T06:00:00Z")
    );
    // The lunch break does not overlap the morning: a change can apply at 11:30.
    assert_eq!(
        show(frozen_until(&[&tks], at("2026-11-24T01:00:00Z"))).as_deref(),
        Some("2026-11-24T02:30:00Z")
    );
    // Sunday to Thursday 17:00 to 16:00 the next day, Chicago time.
    let cme = venue(
        "XCME",
        "America/Chicago",
        &[(&[7, 1, 2, 3, 4], "17:00", "16:00")],
    );
    // Monday 10:00 CST: the session opened Sunday 17:00.
    let open = cme
        .in_session(at("2026-11-23T16:00:00Z"))
        .expect("in session");
    assert_eq!(format_rfc3339_ms(open.open_ms), "2026-11-22T23:00:00Z");
    assert_eq!(format_rfc3339_ms(open.close_ms), "2026-11-23T22:00:00Z");
    assert_eq!(close(&cme, "2026-11-23T22:30:00Z"), None);
    // Friday 16:00 closes the week; Saturday has none.
    assert_eq!(
        close(&cme, "2026-11-27T21:00:00Z").as_deref(),
        Some("2026-11-27T22:00:00Z")
    );
    assert_eq!(close(&cme, "2026-11-27T23:30:00Z"), None);
    assert_eq!(close(&cme, "2026-11-28T18:00:00Z"), None);
}

#[test]
fn the_legacy_trading_hours_are_a_utc_venue_closing_at_midnight_around_the_clock() {
    let hours = TradingHours {
        weekdays: vec![1, 2, 3, 4, 5, 6, 7],
        open_minute: 0,
        close_minute: 1440,
    };
    let v = hours.venue();
    assert_eq!(v.name, TRADING_HOURS_VENUE);
    assert_eq!(v.describe(), "trading_hours 00:00-24:00 UTC");
    // The next session opens at the close, without overlapping it.
    assert_eq!(
        show(frozen_until(&[&v], at("2026-11-24T10:00:00Z"))).as_deref(),
        Some("2026-11-25T00:00:00Z")
    );
    let now = at("2026-11-24T10:00:00Z");
    assert_eq!(frozen_until(&[&v], now), hours.session_end(now));
}

#[test]
fn bad_holiday_lines_name_the_file_and_line() {
    let path = Path::new("cal/xlon-holidays.txt");
    for (text, says) in [
        (
            "2026-12-25\n# ok\n2026-13-01\n",
            "cal/xlon-holidays.txt:3: `2026-13-01` is not an ISO date",
        ),
        ("25/12/2026\n", "cal/xlon-holidays.txt:1: `25/12/2026`"),
        ("2026-12-25 extra\n", ":1: `2026-12-25 extra`"),
        ("20261225\n", ":1: `20261225`"),
        (
            "2026-12-25\n2026-12-25 # again\n",
            ":2: 2026-12-25 is listed twice",
        ),
        (
            "2026-12-24 12:30\n2026-12-24\n",
            ":2: 2026-12-24 is listed twice",
        ),
        (
            "2026-12-24 25:00\n",
            ":1: `2026-12-24 25:00` is not an ISO date",
        ),
        ("2026-12-24 12.30\n", ":1: `2026-12-24 12.30`"),
        (
            "2026-12-24 00:00\n",
            ":1: an early close is between 00:01 and 23:59, not `2026-12-24 00:00`",
        ),
        ("2026-12-24 24:00\n", ":1: an early close is between"),
    ] {
        let err = parse_holidays(path, text).unwrap_err().to_string();
        assert!(err.contains(says), "{text:?}: {err}");
    }
    let err = read_holidays(Path::new("/nonexistent/h.txt"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read holidays file /nonexistent/h.txt"),
        "{err}"
    );
}

#[test]
fn a_flags_venues_are_checked_against_the_configured_ones() {
    let (lon, nys) = (xlon(), xnys());
    let all = [&lon, &nys];
    let names = |r: Result<Vec<&Venue>, VenuesError>| {
        r.map(|v| v.iter().map(|v| v.name.clone()).collect::<Vec<_>>())
    };
    assert_eq!(
        names(flag_venues(&json!({}), &all)),
        Ok(vec!["XLON".into(), "XNYS".into()])
    );
    assert_eq!(
        names(flag_venues(&json!({"venues": []}), &all)).map(|v| v.len()),
        Ok(2)
    );
    assert_eq!(
        names(flag_venues(&json!({"venues": ["XNYS"]}), &all)),
        Ok(vec!["XNYS".into()])
    );
    let err = flag_venues(&json!({"venues": ["XLON", "XPAR"]}), &all).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`venues` names unknown venue `XPAR`; the known venues are XLON, XNYS"
    );
    let err = flag_venues(&json!({"venues": ["XPAR"]}), &[]).unwrap_err();
    assert!(
        err.to_string().contains("no venues are configured"),
        "{err}"
    );
    let err = flag_venues(&json!({"venues": "XLON"}), &all).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`venues` is a list of venue names, not \"XLON\""
    );
    let err = flag_venues(&json!({"venues": ["XLON", "XLON"]}), &all).unwrap_err();
    assert_eq!(err, VenuesError::Twice("XLON".into()));
}
