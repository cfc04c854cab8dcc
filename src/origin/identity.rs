//! People's names, the four-eyes identity: a token's `name` says who proposed or
//! approved a change, so two spellings of one person must compare equal and a name
//! that only looks like another person's must not be created.
//!
//! Names are compared by [`key`]: compatibility-normalised (NFKC), case-folded, with
//! invisible characters dropped and whitespace trimmed and collapsed — `Editor1`,
//! `editor1`, `ｅｄｉｔｏｒ１` and ` editor1 ` are one person. [`new_name`] refuses,
//! when a token is created, names with control or invisible characters (zero-width,
//! bidi controls), names mixing scripts (a Cyrillic `е` among Latin letters; UTS #39
//! "highly restrictive": Latin may mix only with Han, Kana or Hangul), a second
//! spelling of an existing person, and a name confusable with an existing one (equal
//! UTS #39 skeletons, such as `a1ice` and `alice`).

use super::OriginError;
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};
use unicode_security::{skeleton, RestrictionLevel, RestrictionLevelDetection};

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Unicode's Default_Ignorable_Code_Point ranges (zero-width characters, bidi and
/// other format controls, variation selectors, tags): invisible in a name.
const IGNORABLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

fn invisible(c: char) -> bool {
    let c = c as u32;
    IGNORABLE.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
}

fn private_use(c: char) -> bool {
    matches!(c as u32, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}

/// `text` with leading and trailing whitespace removed and inner runs collapsed to
/// one space.
fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The form a name is shown and stored in: NFKC, whitespace collapsed.
fn display(name: &str) -> String {
    collapse_whitespace(&name.nfkc().collect::<String>())
}

/// The form names are compared in (NFKC case folding, approximately
/// `NFKC_Casefold`): `same(a, b)` is `key(a) == key(b)`.
pub fn key(name: &str) -> String {
    let visible: String = name.chars().filter(|c| !invisible(*c)).collect();
    let mut folded = String::new();
    for c in visible.nfkc().flat_map(char::to_lowercase) {
        // Full case folding where lowercasing is not enough.
        match c {
            'ß' => folded.push_str("ss"),
            'ς' => folded.push('σ'),
            other => folded.push(other),
        }
    }
    collapse_whitespace(&folded.nfkc().collect::<String>())
}

/// Whether two names are the same person.
pub fn same(a: &str, b: &str) -> bool {
    a == b || key(a) == key(b)
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// The scripts of `name`'s letters, in order of appearance.
fn scripts(name: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for c in name.chars().filter(|c| c.is_alphabetic()) {
        let script = c.script();
        if !matches!(script, Script::Common | Script::Inherited | Script::Unknown)
            && !out.contains(&script.full_name())
        {
            out.push(script.full_name());
        }
    }
    out
}

/// Checks a new token's `name` against the names of existing tokens (`existing`);
/// returns the form to store (NFKC, whitespace collapsed) or why it is refused.
pub fn new_name<'a>(
    name: &str,
    existing: impl IntoIterator<Item = &'a str>,
) -> Result<String, OriginError> {
    let bad = |why: String| OriginError::BadRequest(format!("token name {name:?}: {why}"));
    if let Some(c) = name.chars().find(|c| invisible(*c)) {
        return Err(bad(format!(
            "contains the invisible character {} (zero-width and bidi controls hide what a name says)",
            code_point(c)
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| (c.is_control() && !c.is_whitespace()) || private_use(*c))
    {
        return Err(bad(format!(
            "contains the control or private-use character {}",
            code_point(c)
        )));
    }
    let shown = display(name);
    let length = shown.chars().count();
    if length == 0 || length > MAX_NAME_CHARS {
        return Err(bad(format!(
            "must be 1 to {MAX_NAME_CHARS} characters (it has {length})"
        )));
    }
    let letters: String = shown.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.as_str().detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
        let scripts = scripts(&shown);
        return Err(bad(if scripts.len() > 1 {
            format!(
                "mixes the scripts {}; a name that mixes scripts can impersonate another (use one script, or Latin with Han, Kana or Hangul)",
                scripts.join(" and ")
            )
        } else {
            "uses letters not allowed in identifiers (UTS #39)".to_string()
        }));
    }
    let own_key = key(&shown);
    // Skeletons of the name as shown (`AIice`, capital i, looks like `Alice`) and of
    // its key (`b0b`, zero, looks like `bob`), compared without case.
    let look = |k: &str| -> String { skeleton(k).flat_map(char::to_lowercase).collect() };
    let own_looks = [look(&shown), look(&own_key)];
    for other in existing {
        let other_key = key(other);
        if other_key == own_key {
            if display(other) != shown {
                return Err(OriginError::Conflict(format!(
                    "token name {name:?} is another spelling of the existing {other:?}: names are compared ignoring case, width and spacing; use exactly {other:?} for the same person, or a different name"
                )));
            }
        } else if [look(&display(other)), look(&other_key)]
            .iter()
            .any(|l| own_looks.contains(l))
        {
            return Err(OriginError::Conflict(format!(
                "token name {name:?} looks like the existing {other:?}; choose a name that cannot be mistaken for another person's"
            )));
        }
    }
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_share_a_key() {
        for spelling in [
            "Editor1",
            "EDITOR1",
            " editor1 ",
            "ｅｄｉｔｏｒ１",
            "edi\u{200B}tor1",
        ] {
            assert!(same(spelling, "editor1"), "{spelling:?}");
        }
        assert_eq!(key("Anne  Marie\u{00A0}Lee"), "anne marie lee");
        assert_eq!(key("Straße"), key("STRASSE"));
        assert!(!same("editor1", "editor2"));
    }

    #[test]
    fn new_names_are_checked() {
        assert_eq!(new_name("  Anne   Lee ", []).unwrap(), "Anne Lee");
        assert_eq!(new_name("佐藤 Sato", []).unwrap(), "佐藤 Sato");
        assert_eq!(new_name("Ελένη", []).unwrap(), "Ελένη");
        for bad in [
            "edit\u{200D}or",
            "al\u{202E}ice",
            "\u{0007}bell",
            "ali\u{E000}",
        ] {
            assert!(
                matches!(new_name(bad, []), Err(OriginError::BadRequest(_))),
                "{bad:?}"
            );
        }
        let mixed = new_name("\u{0435}ditor1", []).unwrap_err().to_string();
        assert!(mixed.contains("Cyrillic and Latin"), "{mixed}");
        assert!(matches!(
            new_name("Editor1", ["editor1"]),
            Err(OriginError::Conflict(_))
        ));
        for look_alike in ["a1ice", "AIice", "b0b", "B0B"] {
            assert!(
                matches!(
                    new_name(look_alike, ["alice", "Alice Lee", "Alice", "bob"]),
                    Err(OriginError::Conflict(_))
                ),
                "{look_alike:?}"
            );
        }
        assert!(new_name("alison", ["alice", "bob"]).is_ok());
        assert_eq!(new_name("editor1 ", ["editor1"]).unwrap(), "editor1");
    }
}
