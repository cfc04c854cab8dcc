//! Trading calendars per venue, for the MiFID II change freeze.
//!
//! A venue (`[[governance.venues]]`) has an IANA time zone, one or more sessions
//! (local opening and closing times on ISO weekdays), holidays and early closes. A
//! session belongs to the local date it opens on: it runs on that date's weekday
//! unless the date is a holiday, and one whose `close` is not after its `open` closes
//! the next day (an overnight session). On an early-close date nothing trades after
//! the early close: sessions opening then do not open, and sessions under way close. Local times are converted to instants with the venue's time
//! zone rules for that date, so a session keeps its wall-clock hours across daylight
//! saving changes; a local time skipped by a change is read as the time after it.
//!
//! A MiFID II flag is frozen while any of its venues is in session; a change the
//! freeze holds may apply at [`frozen_until`]: the latest close among the sessions
//! under way, extended by any session that overlaps it, until every venue is closed.

mod freeze;
mod load;
#[cfg(test)]
mod tests;

pub(super) use freeze::check;
pub use freeze::{flag_venues, legacy, VenuesError, VENUES_FIELD, VENUES_POLICY};
pub use load::{read_holidays, venues, CalendarError, Closures, VenueSection};

use super::TradingHours;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// The name the legacy `[governance.trading_hours]` venue goes by.
pub const TRADING_HOURS_VENUE: &str = "trading_hours";

/// A trading session of a venue, in its local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// ISO weekdays it opens on (1 = Monday ... 7 = Sunday).
    pub weekdays: Vec<u8>,
    /// Opening time, minutes after local midnight.
    pub open_minute: u16,
    /// Closing time, minutes after local midnight (exclusive; 1440 is the end of the
    /// day). Not after `open_minute`: the session closes the next day.
    pub close_minute: u16,
}

impl Session {
    fn overnight(&self) -> bool {
        self.close_minute <= self.open_minute
    }
}

/// A trading venue and its calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    /// The name flags list in `venues` (a MIC such as `XLON`).
    pub name: String,
    /// The time zone its sessions are given in.
    pub time_zone: TimeZone,
    /// Its sessions.
    pub sessions: Vec<Session>,
    /// Local dates on which no session opens.
    pub holidays: BTreeSet<Date>,
    /// Local dates on which trading ends early (half days), at this minute after
    /// local midnight.
    pub early_closes: BTreeMap<Date, u16>,
}

/// A session under way: when it opened and when it closes, in milliseconds since
/// the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    /// When it opened.
    pub open_ms: i64,
    /// When it closes (exclusive).
    pub close_ms: i64,
}

/// `minute` minutes after midnight of `date`, as a local date and time (1440 is the
/// next midnight).
fn local(date: Date, minute: u16) -> Option<DateTime> {
    let (date, minute) = if minute >= 1440 {
        (date.tomorrow().ok()?, minute - 1440)
    } else {
        (date, minute)
    };
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
    Some(DateTime::from_parts(date, time))
}

/// `HH:MM` of a minute of the day.
pub fn hh_mm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

impl Venue {
    /// The time zone's name, as configured (`UTC` for the legacy venue).
    pub fn time_zone_name(&self) -> &str {
        self.time_zone.iana_name().unwrap_or("UTC")
    }

    /// The session's instants when it opens on local date `date`; `None` when it does
    /// not open that day (another weekday, a holiday, or after that day's early close).
    fn session_on(&self, session: &Session, date: Date) -> Option<Open> {
        let weekday = date.weekday().to_monday_one_offset() as u8;
        if !session.weekdays.contains(&weekday) || self.holidays.contains(&date) {
            return None;
        }
        let (mut close_date, mut close_minute) = if session.overnight() {
            (date.tomorrow().ok()?, session.close_minute)
        } else {
            (date, session.close_minute)
        };
        if let Some(&early) = self.early_closes.get(&date) {
            if session.open_minute >= early {
                return None;
            }
            if close_date != date || close_minute > early {
                (close_date, close_minute) = (date, early);
            }
        } else if let Some(&early) = self.early_closes.get(&close_date) {
            // An overnight session running into an early-close day stops at it.
            close_minute = close_minute.min(early);
        }
        let instant = |dt: DateTime| {
            self.time_zone
                .to_timestamp(dt)
                .ok()
                .map(|t| t.as_millisecond())
        };
        Some(Open {
            open_ms: instant(local(date, session.open_minute)?)?,
            close_ms: instant(local(close_date, close_minute)?)?,
        })
    }

    /// The session under way at `now_ms`, the one closing last if several are; `None`
    /// when the venue is closed.
    pub fn in_session(&self, now_ms: i64) -> Option<Open> {
        let today = self
            .time_zone
            .to_datetime(Timestamp::from_millisecond(now_ms).ok()?)
            .date();
        // A session opens today, or (overnight) yesterday.
        let days = [today.yesterday().ok(), Some(today)];
        days.into_iter()
            .flatten()
            .flat_map(|date| self.sessions.iter().map(move |s| (s, date)))
            .filter_map(|(s, date)| self.session_on(s, date))
            .filter(|o| o.open_ms <= now_ms && now_ms < o.close_ms)
            .max_by_key(|o| o.close_ms)
    }

    /// The sessions, as `XLON 08:00-16:30 Europe/London`.
    pub fn describe(&self) -> String {
        let sessions: Vec<String> = self
            .sessions
            .iter()
            .map(|s| format!("{}-{}", hh_mm(s.open_minute), hh_mm(s.close_minute)))
            .collect();
        format!(
            "{} {} {}",
            self.name,
            sessions.join(", "),
            self.time_zone_name()
        )
    }
}

impl TradingHours {
    /// The legacy `[governance.trading_hours]` as a venue: one session, in UTC.
    pub fn venue(&self) -> Venue {
        Venue {
            name: TRADING_HOURS_VENUE.into(),
            time_zone: TimeZone::UTC,
            sessions: vec![Session {
                weekdays: self.weekdays.clone(),
                open_minute: self.open_minute,
                close_minute: self.close_minute,
            }],
            holidays: BTreeSet::new(),
            early_closes: BTreeMap::new(),
        }
    }
}

/// How many overlapping sessions [`frozen_until`] follows before it stops (a venue
/// trading around the clock on overlapping sessions would never close).
const MAX_CHAIN: usize = 64;

/// When every one of `venues` is closed, if any is in session at `now_ms`: the
/// latest close among the sessions under way, then the latest close among sessions
/// still under way just before it (one that opened before it closed), and so on. A
/// session opening exactly at that moment does not overlap: the change applies then,
/// or is held again by that session.
pub fn frozen_until(venues: &[&Venue], now_ms: i64) -> Option<i64> {
    let latest = |at: i64| {
        venues
            .iter()
            .filter_map(|v| v.in_session(at))
            .map(|o| o.close_ms)
            .max()
    };
    let mut until = latest(now_ms)?;
    for _ in 0..MAX_CHAIN {
        match latest(until - 1) {
            Some(close) if close > until => until = close,
            _ => break,
        }
    }
    Some(until)
}
