//! RFC 3339 timestamps as milliseconds since the Unix epoch.
//!
//! The engine never reads a clock: callers pass the evaluation time in, and every
//! time in a flag or snapshot is converted to milliseconds once, at load.
//!
//! Parsing is hand-written (the wasm module cannot afford the `time` crate's
//! parsers) and accepts exactly what `time`'s `Rfc3339` parser accepts, which the
//! tests check against it: `YYYY-MM-DD`, any one separator byte, `HH:MM:SS`, an
//! optional fraction of any length, then `Z`/`z` or `±HH:MM`; a leap second (`:60`)
//! only as the last second of a month in UTC, read as the nanosecond before.

/// Parses an RFC 3339 timestamp (`2027-01-31T00:00:00Z`) to epoch milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |at: usize, len: usize| -> Option<u32> {
        let digits = b.get(at..at + len)?;
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let byte = |at: usize, want: u8| (b.get(at) == Some(&want)).then_some(());
    let year = num(0, 4)?;
    byte(4, b'-')?;
    let month = num(5, 2)?;
    byte(7, b'-')?;
    let day = num(8, 2)?;
    // b[10] is the separator: any byte.
    b.get(10)?;
    let hour = num(11, 2)?;
    byte(13, b':')?;
    let minute = num(14, 2)?;
    byte(16, b':')?;
    let mut second = num(17, 2)?;
    let mut at = 19;
    let mut nanos: u32 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        let mut scale = 100_000_000;
        while let Some(d) = b.get(at).filter(|d| d.is_ascii_digit()) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            at += 1;
        }
        if at == start {
            return None;
        }
    }
    let offset_minutes: i64 = match b.get(at)? {
        b'Z' | b'z' => {
            at += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let oh = num(at + 1, 2).filter(|h| *h <= 23)?;
            byte(at + 3, b':')?;
            let om = num(at + 4, 2).filter(|m| *m <= 59)?;
            at += 6;
            let total = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    if at != b.len() || !(1..=12).contains(&month) || day == 0 || day > days_in(year, month) {
        return None;
    }
    let leap = second == 60;
    if leap {
        second = 59;
        nanos = 999_999_999;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let utc = local - offset_minutes * 60;
    if leap {
        // Only 23:59:60 UTC on a month's last day is a leap second.
        let (y, m, d) = civil_from_days(utc.div_euclid(86_400));
        if utc.rem_euclid(86_400) != 86_399 || d != days_in(y as u32, m) {
            return None;
        }
    }
    let total_nanos = i128::from(utc) * 1_000_000_000 + i128::from(nanos);
    i64::try_from(total_nanos / 1_000_000).ok()
}

fn is_leap(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats epoch milliseconds as an RFC 3339 timestamp in UTC
/// (`2027-01-31T00:00:00Z`, `…:00.25Z` with milliseconds), as the `time` crate
/// formats it; times outside years 0–9999 are written as the number.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        let mut out = String::new();
        crate::jsontext::push_i64(&mut out, ms);
        return out;
    }
    let mut out = String::with_capacity(24);
    let two = |out: &mut String, n: i64| {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    two(&mut out, year / 100);
    two(&mut out, year % 100);
    out.push('-');
    two(&mut out, i64::from(month));
    out.push('-');
    two(&mut out, i64::from(day));
    out.push('T');
    two(&mut out, in_day / 3_600_000);
    out.push(':');
    two(&mut out, in_day / 60_000 % 60);
    out.push(':');
    two(&mut out, in_day / 1000 % 60);
    let mut frac = in_day % 1000;
    if frac > 0 {
        out.push('.');
        let mut digits = 3;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        for i in (0..digits).rev() {
            out.push(char::from(b'0' + (frac / 10i64.pow(i) % 10) as u8));
        }
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    fn reference(text: &str) -> Option<i64> {
        let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
    }

    #[test]
    fn round_trips() {
        let ms = parse_rfc3339_ms("2027-01-31T00:00:00Z").unwrap();
        assert_eq!(ms, 1_801_353_600_000);
        assert_eq!(format_rfc3339_ms(ms), "2027-01-31T00:00:00Z");
        assert_eq!(
            parse_rfc3339_ms("2027-01-31T01:00:00+01:00"),
            Some(1_801_353_600_000)
        );
        assert_eq!(parse_rfc3339_ms("2027-01-31"), None);
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn agrees_with_the_time_crate_on_edge_cases() {
        for text in [
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.9995Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999999Z",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2016-12-30T23:59:60Z",
            "2017-01-01T00:59:60+01:00",
            "2016-06-30T23:59:60Z",
            "2024-02-29T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2100-02-29T12:00:00Z",
            "2000-02-29T12:00:00Z",
            "2027-01-31 00:00:00z",
            "2027-01-31x00:00:00-23:59",
            "2027-01-31T00:00:00+24:00",
            "2027-01-31T00:00:00+01:60",
            "2027-01-31T24:00:00Z",
            "2027-01-31T00:60:00Z",
            "2027-01-31T00:00:61Z",
            "2027-13-01T00:00:00Z",
            "2027-00-01T00:00:00Z",
            "2027-01-00T00:00:00Z",
            "2027-01-31T00:00:00.Z",
            "2027-01-31T00:00:00",
            "2027-01-31T00:00:00Zx",
            "2027-01-31T00:00:00+0100",
            "+2027-01-31T00:00:00Z",
            "2027-1-31T00:00:00Z",
            "2027-01-31é00:00:00Z",
            "",
        ] {
            assert_eq!(parse_rfc3339_ms(text), reference(text), "{text}");
        }
    }

    fn two(max: u32) -> impl Strategy<Value = String> {
        (0..=max).prop_map(|n| format!("{n:02}"))
    }

    fn reference_format(ms: i64) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| ms.to_string())
    }

    proptest! {
        #[test]
        fn formats_as_the_time_crate(ms in -62_167_219_200_000i64..253_402_300_800_000) {
            prop_assert_eq!(format_rfc3339_ms(ms), reference_format(ms));
            prop_assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms));
        }

        #[test]
        fn agrees_with_the_time_crate(
            year in 0u32..=9999, month in two(13), day in two(32), sep in "[T t_]",
            hour in two(24), minute in two(60), second in two(61),
            frac in proptest::option::of("[0-9]{0,12}"),
            offset in prop_oneof!["Z".prop_map(String::from), "z".prop_map(String::from),
                ("[+-]", two(24), two(60)).prop_map(|(s, h, m)| format!("{s}{h}:{m}"))],
        ) {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let text = format!("{year:04}-{month}-{day}{sep}{hour}:{minute}:{second}{frac}{offset}");
            prop_assert_eq!(parse_rfc3339_ms(&text), reference(&text), "{}", text);
        }
    }
}
