//! `[[governance.venues]]` in `vexil.toml`, and the holiday files they name.

use super::{Session, Venue, TRADING_HOURS_VENUE};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What is wrong with a venue's settings or holiday file.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A venue name that flags could not list.
    #[error("`{field}`: a venue name is non-empty and has no spaces, not \"{name}\"")]
    Name {
        /// The setting, as `governance.venues[0].time_zone`.
        field: String,
        /// The name as written.
        name: String,
    },
    /// Two venues with one name.
    #[error("`{field}`: venue `{name}` is declared twice")]
    Duplicate {
        /// The setting, as `governance.venues[0].time_zone`.
        field: String,
        /// The venue name.
        name: String,
    },
    /// Not a time zone of the bundled IANA database.
    #[error("`{field}` = \"{name}\" is not an IANA time zone such as Europe/London: {reason}")]
    TimeZone {
        /// The setting, as `governance.venues[0].time_zone`.
        field: String,
        /// The name as written.
        name: String,
        /// The time-zone database's reason.
        reason: String,
    },
    /// A venue without sessions.
    #[error("`{field}` lists no sessions; a venue has at least one")]
    NoSessions {
        /// The setting, as `governance.venues[0].time_zone`.
        field: String,
    },
    /// Weekdays outside 1-7, or none.
    #[error("`{field}` lists ISO weekdays 1 (Monday) to 7, at least one")]
    Weekdays {
        /// The setting, as `governance.venues[0].time_zone`.
        field: String,
    },
    /// Not `HH:MM`.
    #[error("`{field}` = \"{text}\" is not a time of day such as 08:00")]
    TimeOfDay {
        /// The setting, as `governance.venues[0].time_zone`.
        field: String,
        /// The time as written.
        text: String,
    },
    /// A session that opens when it closes.
    #[error("`{field}`: `open` and `close` are the same time; a session that closes the next day has `close` before `open`")]
    EmptySession {
        /// The setting, as `governance.venues[0].time_zone`.
        field: String,
    },
    /// The holiday file cannot be read.
    #[error("cannot read holidays file {}: {source}", .path.display())]
    ReadHolidays {
        /// The holidays file.
        path: PathBuf,
        /// The error reading it.
        source: std::io::Error,
    },
    /// A line of a holiday file that is neither a date nor a date and a time.
    #[error("{}:{line}: `{text}` is not an ISO date such as 2026-12-25 (no trading), nor a date and a closing time such as `2026-12-24 12:30` (an early close)", .path.display())]
    HolidayLine {
        /// The holidays file.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// The line as written, without its comment.
        text: String,
    },
    /// An early close at midnight: no trading that day is a date alone.
    #[error("{}:{line}: an early close is between 00:01 and 23:59, not `{text}`; a day without trading is the date alone", .path.display())]
    EarlyClose {
        /// The holidays file.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// The line as written, without its comment.
        text: String,
    },
    /// A holiday listed twice.
    #[error("{}:{line}: {date} is listed twice", .path.display())]
    DuplicateHoliday {
        /// The holidays file.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// The date listed again.
        date: Date,
    },
}

/// One `[[governance.venues]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueSection {
    name: String,
    time_zone: String,
    #[serde(default)]
    sessions: Vec<SessionSection>,
    holidays_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSection {
    weekdays: Vec<u8>,
    open: String,
    close: String,
}

/// `HH:MM` as minutes after midnight (24:00 allowed as the end of the day).
fn minute_of_day(field: String, text: &str) -> Result<u16, CalendarError> {
    let parsed = text.split_once(':').and_then(|(h, m)| {
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| CalendarError::TimeOfDay {
        field,
        text: text.into(),
    })
}

/// The days a venue does not trade, or stops trading early, from its holidays file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closures {
    /// Local dates on which no session opens.
    pub holidays: BTreeSet<Date>,
    /// Local dates on which trading ends early, at this minute after local midnight.
    pub early_closes: BTreeMap<Date, u16>,
}

/// Reads a holidays file: one ISO date (`2026-12-25`: no trading) or a date and a
/// local closing time (`2026-12-24 12:30`: an early close) a line; `#` starts a
/// comment; blank lines are skipped.
pub fn read_holidays(path: &Path) -> Result<Closures, CalendarError> {
    let text = std::fs::read_to_string(path).map_err(|source| CalendarError::ReadHolidays {
        path: path.into(),
        source,
    })?;
    parse_holidays(path, &text)
}

/// `2026-12-25` as a date; anything else (`20261225`, `2026-12-25x`) is not one.
fn iso_date(text: &str) -> Option<Date> {
    let strict = text.len() == 10 && text.as_bytes().get(4) == Some(&b'-');
    strict.then(|| text.parse::<Date>().ok()).flatten()
}

pub(super) fn parse_holidays(path: &Path, text: &str) -> Result<Closures, CalendarError> {
    let mut out = Closures::default();
    for (i, line) in text.lines().enumerate() {
        let text = line.split('#').next().unwrap_or_default().trim();
        if text.is_empty() {
            continue;
        }
        let bad_line = || CalendarError::HolidayLine {
            path: path.into(),
            line: i + 1,
            text: text.into(),
        };
        let (date, close) = match text.split_once(char::is_whitespace) {
            None => (iso_date(text).ok_or_else(bad_line)?, None),
            Some((date, time)) => {
                let date = iso_date(date).ok_or_else(bad_line)?;
                let minute = minute_of_day(String::new(), time.trim()).map_err(|_| bad_line())?;
                if minute == 0 || minute == 1440 {
                    return Err(CalendarError::EarlyClose {
                        path: path.into(),
                        line: i + 1,
                        text: text.into(),
                    });
                }
                (date, Some(minute))
            }
        };
        let listed = out.holidays.contains(&date) || out.early_closes.contains_key(&date);
        if listed {
            return Err(CalendarError::DuplicateHoliday {
                path: path.into(),
                line: i + 1,
                date,
            });
        }
        match close {
            None => out.holidays.insert(date),
            Some(minute) => out.early_closes.insert(date, minute).is_none(),
        };
    }
    Ok(out)
}

fn session(field: String, s: &SessionSection) -> Result<Session, CalendarError> {
    if s.weekdays.is_empty() || s.weekdays.iter().any(|d| !(1..=7).contains(d)) {
        return Err(CalendarError::Weekdays {
            field: format!("{field}.weekdays"),
        });
    }
    let open = minute_of_day(format!("{field}.open"), &s.open)?;
    let close = minute_of_day(format!("{field}.close"), &s.close)?;
    if open == 1440 {
        return Err(CalendarError::TimeOfDay {
            field: format!("{field}.open"),
            text: s.open.clone(),
        });
    }
    if open == close {
        return Err(CalendarError::EmptySession { field });
    }
    Ok(Session {
        weekdays: s.weekdays.clone(),
        open_minute: open,
        close_minute: close,
    })
}

/// The venues of `sections`, holiday files read relative to `dir` (the settings
/// file's directory). `legacy`: whether `[governance.trading_hours]` is set, which is
/// the venue [`TRADING_HOURS_VENUE`].
pub fn venues(
    sections: &[VenueSection],
    dir: &Path,
    legacy: bool,
) -> Result<Vec<Venue>, CalendarError> {
    let mut out: Vec<Venue> = Vec::with_capacity(sections.len());
    for (i, v) in sections.iter().enumerate() {
        let field = format!("governance.venues[{i}]");
        if v.name.is_empty() || v.name.chars().any(char::is_whitespace) {
            return Err(CalendarError::Name {
                field: format!("{field}.name"),
                name: v.name.clone(),
            });
        }
        let taken =
            out.iter().any(|o| o.name == v.name) || (legacy && v.name == TRADING_HOURS_VENUE);
        if taken {
            return Err(CalendarError::Duplicate {
                field: format!("{field}.name"),
                name: v.name.clone(),
            });
        }
        let time_zone = TimeZone::get(&v.time_zone).map_err(|e| CalendarError::TimeZone {
            field: format!("{field}.time_zone"),
            name: v.time_zone.clone(),
            reason: e.to_string(),
        })?;
        if v.sessions.is_empty() {
            return Err(CalendarError::NoSessions {
                field: format!("{field}.sessions"),
            });
        }
        let sessions = v
            .sessions
            .iter()
            .enumerate()
            .map(|(j, s)| session(format!("{field}.sessions[{j}]"), s))
            .collect::<Result<Vec<_>, _>>()?;
        let closures = match &v.holidays_file {
            Some(file) => read_holidays(&dir.join(file))?,
            None => Closures::default(),
        };
        out.push(Venue {
            name: v.name.clone(),
            time_zone,
            sessions,
            holidays: closures.holidays,
            early_closes: closures.early_closes,
        });
    }
    Ok(out)
}
