//! Strict SemVer 2.0 versions and their precedence.
//!
//! Hand-written rather than the `semver` crate because the wasm module's size budget
//! counts every kilobyte; the tests check it accepts and orders exactly as the crate
//! does. `v1.2.3`, `1.2`, leading zeros and whitespace are not versions.

use super::split;
use std::cmp::Ordering;

/// A parsed version: numeric core and pre-release (build metadata is checked and
/// dropped: it never affects precedence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    core: [u64; 3],
    /// Dot-separated pre-release identifiers; empty for a release.
    pre: Box<str>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// A numeric identifier of the core: `0` or digits without a leading zero, in `u64`.
fn core_number(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    b.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Dot-separated, non-empty identifiers of `[0-9A-Za-z-]`; with `numeric_strict`,
/// all-digit identifiers may not have leading zeros (pre-release, not build).
fn identifiers_ok(text: &str, numeric_strict: bool) -> bool {
    split::fields(text, b'.').all(|id| {
        let b = id.as_bytes();
        !b.is_empty()
            && b.iter().all(|&c| is_ident_byte(c))
            && !(numeric_strict && b.len() > 1 && b[0] == b'0' && b.iter().all(u8::is_ascii_digit))
    })
}

/// `MAJOR.MINOR.PATCH[-PRE][+BUILD]` split: the numeric core and where the
/// pre-release identifiers are in `text` (start, length; empty for a release).
pub(crate) fn parse_parts(text: &str) -> Option<([u64; 3], usize, usize)> {
    let (rest, build) = match split::split_once(text, b'+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    if build.is_some_and(|b| !identifiers_ok(b, false)) {
        return None;
    }
    let (core, pre) = match split::split_once(rest, b'-') {
        Some((core, pre)) => (core, pre),
        None => (rest, ""),
    };
    if rest.len() != core.len() && !identifiers_ok(pre, true) {
        return None;
    }
    let mut parts = split::fields(core, b'.');
    let major = core_number(parts.next()?)?;
    let minor = core_number(parts.next()?)?;
    let patch = core_number(parts.next()?)?;
    if parts.next().is_some() {
        return None;
    }
    let pre_start = if pre.is_empty() { 0 } else { core.len() + 1 };
    Some(([major, minor, patch], pre_start, pre.len()))
}

/// SemVer 2.0 precedence: the numeric core, then a release above its pre-releases,
/// then pre-release identifiers left to right (numeric ones numerically and below
/// alphanumeric ones, which compare in ASCII order; more identifiers rank higher
/// when all before are equal).
pub(crate) fn precedence(a: ([u64; 3], &str), b: ([u64; 3], &str)) -> Ordering {
    a.0.cmp(&b.0)
        .then_with(|| match (a.1.is_empty(), b.1.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_pre(a.1, b.1),
        })
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
    pub fn parse(text: &str) -> Option<Version> {
        let (core, start, len) = parse_parts(text)?;
        Some(Version {
            core,
            // `get`: the bounds are char boundaries `parse_parts` found.
            pre: text.get(start..start + len)?.into(),
        })
    }

    /// A release version `major.minor.patch`.
    pub fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            core: [major, minor, patch],
            pre: "".into(),
        }
    }

    /// The numeric core and the pre-release identifiers.
    pub(crate) fn parts(&self) -> ([u64; 3], &str) {
        (self.core, &self.pre)
    }

    /// The version as text, without build metadata (`1.2.3-rc.1`).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.core.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            crate::jsontext::push_u64(&mut out, *n);
        }
        if !self.pre.is_empty() {
            out.push('-');
            out.push_str(&self.pre);
        }
        out
    }

    /// SemVer 2.0 precedence (see [`precedence`]); build metadata is ignored.
    pub fn cmp_precedence(&self, other: &Version) -> Ordering {
        precedence(self.parts(), other.parts())
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    let mut left = split::fields(a, b'.');
    let mut right = split::fields(b, b'.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let xn = x.bytes().all(|c| c.is_ascii_digit());
                let yn = y.bytes().all(|c| c.is_ascii_digit());
                let ord = match (xn, yn) {
                    // No leading zeros: the longer number is the larger.
                    (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLES: &[&str] = &[
        "1.2.3",
        "0.0.0",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.0+build.7",
        "1.0.0-0.3.7",
        "1.0.0-x.7.z.92",
        "1.0.0-x-y-z.--",
        "1.0.0-alpha+001",
        "1.0.0+20130313144700",
        "1.0.0-beta+exp.sha.5114f85",
        "18446744073709551615.0.0",
        "18446744073709551616.0.0",
        "1.0.0-123456789012345678901234567890",
        "1.0.0-99999999999999999999999",
        "v1.2.3",
        "1.2",
        "1",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3-01",
        "1.2.3-0a",
        "1.2.3+01",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-a..b",
        "1.2.3-a_b",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3.4",
        "1.2.3-α",
        "",
        "1.2.3-a+b+c",
        "1.2.3+a-b",
        "1.2.3-+",
    ];

    #[test]
    fn accepts_what_the_semver_crate_accepts() {
        for text in SAMPLES {
            assert_eq!(
                Version::parse(text).is_some(),
                semver::Version::parse(text).is_ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn orders_as_the_semver_crate_does() {
        let parsed: Vec<(Version, semver::Version)> = SAMPLES
            .iter()
            .filter_map(|t| Some((Version::parse(t)?, semver::Version::parse(t).ok()?)))
            .collect();
        for (a, ra) in &parsed {
            for (b, rb) in &parsed {
                assert_eq!(a.cmp_precedence(b), ra.cmp_precedence(rb), "{ra} vs {rb}");
            }
        }
    }

    fn version_text() -> impl Strategy<Value = String> {
        let num = prop_oneof!["0", "[1-9][0-9]{0,3}", "0[0-9]"];
        let ident = prop_oneof!["[0-9]{1,3}", "[a-zA-Z-][0-9a-zA-Z-]{0,3}", "0[0-9]"];
        (
            num.clone(),
            num.clone(),
            num,
            proptest::collection::vec(ident.clone(), 0..3),
            proptest::collection::vec(ident, 0..2),
        )
            .prop_map(|(a, b, c, pre, build)| {
                let mut t = format!("{a}.{b}.{c}");
                if !pre.is_empty() {
                    t += &format!("-{}", pre.join("."));
                }
                if !build.is_empty() {
                    t += &format!("+{}", build.join("."));
                }
                t
            })
    }

    proptest! {
        #[test]
        fn agrees_with_the_semver_crate(a in version_text(), b in version_text()) {
            let ours = (Version::parse(&a), Version::parse(&b));
            let theirs = (semver::Version::parse(&a).ok(), semver::Version::parse(&b).ok());
            prop_assert_eq!(ours.0.is_some(), theirs.0.is_some(), "{}", a);
            prop_assert_eq!(ours.1.is_some(), theirs.1.is_some(), "{}", b);
            if let ((Some(x), Some(y)), (Some(rx), Some(ry))) = (ours, theirs) {
                prop_assert_eq!(x.cmp_precedence(&y), rx.cmp_precedence(&ry));
            }
        }
    }
}
