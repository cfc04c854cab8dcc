//! Values read the way JavaScript-based flag systems read them, for clauses marked
//! `"lenient": true` (flags migrated from Unleash and flagd keep their answers):
//!
//! - numbers: JavaScript's `Number(text)` (Unleash's `NUM_*` constraints, JSONLogic's
//!   comparisons): surrounding whitespace is ignored, `""` is 0, `0x`/`0o`/`0b`
//!   integers and `Infinity` are numbers;
//! - versions: flagd's `sem_ver`: a leading `v` or `V`, surrounding whitespace, and
//!   partial versions `1` and `1.2` (read as `1.0.0` and `1.2.0`) are accepted.
//!
//! Both are computed at evaluation from the attribute's text, so contexts carry no
//! extra forms for them.

use super::semver::Version;
use super::split;

/// JavaScript's `StrWhiteSpaceChar`: white space and line terminators.
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `text` without the white space JavaScript's `trim()` removes.
pub fn js_trim(text: &str) -> &str {
    text.trim_matches(js_space)
}

/// JavaScript's `Number(text)`: `None` where it gives `NaN`.
pub fn js_number(text: &str) -> Option<f64> {
    let t = js_trim(text);
    if t.is_empty() {
        return Some(0.0);
    }
    let radix = match t.get(..2) {
        Some("0x" | "0X") => Some(16),
        Some("0o" | "0O") => Some(8),
        Some("0b" | "0B") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let digits = t.get(2..).unwrap_or_default();
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        // Exact below 2^53; beyond, JavaScript rounds the exact value once, where this
        // may differ in the last bit (ids that long are not numbers anyone compares).
        return Some(digits.chars().fold(0.0, |acc, c| {
            acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
        }));
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return Some(if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    decimal_literal(unsigned)
        .then(|| t.parse::<f64>().ok())
        .flatten()
}

/// JavaScript's `StrUnsignedDecimalLiteral` without `Infinity`: `1`, `1.`, `.5`,
/// `1.5e-3` (Rust's float parser also accepts `inf` and `nan`, which JavaScript does not).
fn decimal_literal(t: &str) -> bool {
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        // `get`: `i` is an ASCII letter's index, so both bounds are char boundaries.
        Some(i) => (t.get(..i).unwrap_or_default(), t.get(i + 1..)),
        None => (t, None),
    };
    let (int, frac) = match split::split_once(mantissa, b'.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int)
        && frac.is_none_or(digits)
        && !(int.is_empty() && frac.is_none_or(str::is_empty));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// A version as flagd's `sem_ver` reads it (`normalizeVersion` in flagd-core): one
/// leading `v`/`V` removed, then a SemVer 2.0 version (surrounding white space and one
/// more leading `v` allowed, as the `semver` package parses), or `1` / `1.2` completed
/// with zeros. `None` for anything else (`1.2.3.4`, `01`, `latest`).
pub fn flagd_version(text: &str) -> Option<Version> {
    let s = text.strip_prefix(['v', 'V']).unwrap_or(text);
    if s.len() > 256 {
        return None;
    }
    let t = js_trim(s);
    let t = t.strip_prefix('v').unwrap_or(t);
    if let Some(v) = Version::parse(t) {
        return Some(v);
    }
    // `semver.coerce` of `\d+(\.\d+)?`, whose result must parse strictly: no leading zeros.
    let number = |part: &str| -> Option<u64> {
        let plain = !part.is_empty()
            && part.len() <= 16
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'));
        plain.then(|| part.parse().ok()).flatten()
    };
    let (major, minor) = match split::split_once(s, b'.') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => (number(s)?, 0),
    };
    Some(Version::new(major, minor, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expectations are what `Number(text)` gives in JavaScript.
    #[test]
    fn numbers_as_javascript_reads_them() {
        let cases: &[(&str, Option<f64>)] = &[
            ("7", Some(7.0)),
            (" 7 ", Some(7.0)),
            ("\t\n7\u{a0}", Some(7.0)),
            ("", Some(0.0)),
            ("   ", Some(0.0)),
            ("-0", Some(-0.0)),
            ("+5", Some(5.0)),
            ("5.", Some(5.0)),
            (".5", Some(0.5)),
            ("1e3", Some(1000.0)),
            ("1E-2", Some(0.01)),
            ("0x1F", Some(31.0)),
            ("0b101", Some(5.0)),
            ("0o17", Some(15.0)),
            ("Infinity", Some(f64::INFINITY)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("1e400", Some(f64::INFINITY)),
            ("inf", None),
            ("NaN", None),
            ("infinity", None),
            ("1_000", None),
            ("-0x10", None),
            ("0x", None),
            ("1e", None),
            (".", None),
            ("e5", None),
            ("12abc", None),
            ("1.2.3", None),
            ("--1", None),
        ];
        for (text, want) in cases {
            let got = js_number(text);
            assert_eq!(
                got.map(f64::to_bits),
                want.map(f64::to_bits),
                "Number({text:?})"
            );
        }
    }

    /// Expectations are what flagd-core 4's `normalizeVersion` gives.
    #[test]
    fn versions_as_flagd_reads_them() {
        let v = |s: &str| Version::parse(s).unwrap();
        let cases: &[(&str, Option<Version>)] = &[
            ("1.2.3", Some(v("1.2.3"))),
            ("v1.2.3", Some(v("1.2.3"))),
            ("V1.2.3", Some(v("1.2.3"))),
            ("vv1.2.3", Some(v("1.2.3"))),
            (" 1.2.3 ", Some(v("1.2.3"))),
            ("1.0.0+build", Some(v("1.0.0+build"))),
            ("2.0.0-alpha.1", Some(v("2.0.0-alpha.1"))),
            ("1", Some(v("1.0.0"))),
            ("1.2", Some(v("1.2.0"))),
            ("v1.2", Some(v("1.2.0"))),
            ("0", Some(v("0.0.0"))),
            (" 1", None),
            ("01", None),
            ("1.02", None),
            ("2.0.0.0", None),
            ("1.2.3-", None),
            ("not-a-version", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(flagd_version(text).as_ref(), want.as_ref(), "{text:?}");
        }
    }
}
