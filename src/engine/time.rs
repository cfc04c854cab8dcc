//! RFC 3339 timestamps as milliseconds since the Unix epoch.
//!
//! The engine never reads a clock: callers pass the evaluation time in, and every
//! time in a flag or snapshot is converted to milliseconds once, at load.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses an RFC 3339 timestamp (`2027-01-31T00:00:00Z`) to epoch milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Formats epoch milliseconds as an RFC 3339 timestamp in UTC.
pub fn format_rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
