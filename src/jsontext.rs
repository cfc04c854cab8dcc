//! JSON text without a JSON library: a validating scanner, string reading and
//! writing, and a reader of flat objects.
//!
//! The wasm module never builds JSON values (variant values and flag metadata reach
//! JavaScript as text, which `JSON.parse` reads there), so serde_json and its generic
//! code stay out of it; this is the little it still needs: checking that text is one
//! JSON value, reading the snapshot envelope, writing rows for the JS glue.

/// Deepest nesting accepted by [`validate`].
pub const MAX_DEPTH: usize = 64;

/// How many bytes of `text` come before a quote, a backslash or a control byte.
/// Eight bytes per step while none is in sight: a snapshot's payload is one string
/// of some hundred kilobytes.
fn plain_run(text: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Nonzero when some byte of `w` is below `n` (n <= 128); may also flag bytes
    // after the first such one, which the byte loop below sorts out.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let words = text.chunks_exact(8);
    let mut at = 0;
    for word in words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        if below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20)
            != 0
        {
            break;
        }
        at += 8;
    }
    let rest = &text[at..];
    at + rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(rest.len())
}

/// A position in JSON text being scanned.
struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.text.get(self.at..end) == Some(word)).then(|| self.at = end)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        self.at += 4;
        digits
            .iter()
            .try_fold(0u32, |n, &d| Some(n * 16 + (d as char).to_digit(16)?))
    }

    /// Reads a string (the opening quote next), unescaped into `out` when given.
    fn string(&mut self, mut out: Option<&mut String>) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let start = self.at;
            // One tight loop over the run of plain bytes: a snapshot's payload is one
            // long string of them.
            let rest = self.text.get(start..).unwrap_or_default();
            self.at += plain_run(rest);
            if let Some(out) = out.as_deref_mut() {
                out.push_str(std::str::from_utf8(&self.text[start..self.at]).ok()?);
            } else {
                std::str::from_utf8(&self.text[start..self.at]).ok()?;
            }
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => {
                    self.at += 1;
                    let c = match self.peek()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.at += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.literal(b"\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)?;
                            if let Some(out) = out.as_deref_mut() {
                                out.push(c);
                            }
                            continue;
                        }
                        _ => return None,
                    };
                    self.at += 1;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                }
                // A raw control character.
                _ => return None,
            }
        }
    }

    /// Skips one value, checking it; `depth` counts enclosing containers.
    fn value(&mut self, depth: usize) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string(None),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            open @ (b'[' | b'{') => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                let close = if open == b'[' { b']' } else { b'}' };
                self.skip_ws();
                if self.eat(close).is_some() {
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.skip_ws();
                        self.string(None)?;
                        self.skip_ws();
                        self.eat(b':')?;
                    }
                    self.value(depth + 1)?;
                    self.skip_ws();
                    if self.eat(close).is_some() {
                        return Some(());
                    }
                    self.eat(b',')?;
                }
            }
            _ => None,
        }
    }
}

/// The kind of a JSON value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// Checks that `text` is exactly one JSON value (surrounding whitespace allowed,
/// nesting at most [`MAX_DEPTH`]) and says what kind it is.
pub fn validate(text: &str) -> Option<Kind> {
    let mut s = Scanner {
        text: text.as_bytes(),
        at: 0,
    };
    s.skip_ws();
    let kind = match s.peek()? {
        b'n' => Kind::Null,
        b't' | b'f' => Kind::Bool,
        b'"' => Kind::String,
        b'[' => Kind::Array,
        b'{' => Kind::Object,
        _ => Kind::Number,
    };
    s.value(0)?;
    s.skip_ws();
    (s.at == s.text.len()).then_some(kind)
}

/// Reads a JSON object whose values of interest are strings: calls `field` with each
/// key and, for string values, the unescaped text (other values are checked and
/// passed as `None`). Fails on anything that is not one well-formed object.
pub fn read_object(text: &[u8], mut field: impl FnMut(&str, Option<String>)) -> Option<()> {
    let mut s = Scanner { text, at: 0 };
    s.skip_ws();
    s.eat(b'{')?;
    s.skip_ws();
    if s.eat(b'}').is_some() {
        s.skip_ws();
        return (s.at == text.len()).then_some(());
    }
    loop {
        s.skip_ws();
        let mut key = String::new();
        s.string(Some(&mut key))?;
        s.skip_ws();
        s.eat(b':')?;
        s.skip_ws();
        if s.peek() == Some(b'"') {
            let mut value = String::new();
            s.string(Some(&mut value))?;
            field(&key, Some(value));
        } else {
            s.value(1)?;
            field(&key, None);
        }
        s.skip_ws();
        if s.eat(b'}').is_some() {
            s.skip_ws();
            return (s.at == text.len()).then_some(());
        }
        s.eat(b',')?;
    }
}

/// Calls `member` with each key of a JSON object and the member's own text
/// (`"key":value`, as written); fails on anything that is not one well-formed object.
pub fn object_members(text: &str, mut member: impl FnMut(&str, &str)) -> Option<()> {
    let mut s = Scanner {
        text: text.as_bytes(),
        at: 0,
    };
    s.skip_ws();
    s.eat(b'{')?;
    s.skip_ws();
    if s.eat(b'}').is_none() {
        loop {
            s.skip_ws();
            let start = s.at;
            let mut key = String::new();
            s.string(Some(&mut key))?;
            s.skip_ws();
            s.eat(b':')?;
            s.skip_ws();
            s.value(1)?;
            member(&key, text.get(start..s.at)?);
            s.skip_ws();
            if s.eat(b'}').is_some() {
                break;
            }
            s.eat(b',')?;
        }
    }
    s.skip_ws();
    (s.at == text.len()).then_some(())
}

/// Appends `text` to `out` as a JSON string literal.
pub fn push_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // `get`, not indexing: escapes are ASCII, so these are char boundaries, and
        // str indexing would link the panic's formatting into the wasm module.
        out.push_str(text.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(text.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends an unsigned integer in decimal.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or("0"));
}

/// Appends a signed integer in decimal.
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    #[test]
    fn validates_like_serde_json() {
        for text in [
            "true",
            "false",
            "null",
            "0",
            "-0",
            "1.5e-3",
            "1E+9",
            "\"a\\u00e9\\ud83d\\ude00\"",
            "[]",
            "{}",
            "[1, [2, {\"a\": [null]}]]",
            " {\"k\" : \"v\" } ",
            "01",
            "1.",
            ".5",
            "-",
            "+1",
            "1e",
            "[1,]",
            "{\"a\":}",
            "{a:1}",
            "\"\\x\"",
            "\"\u{1}\"",
            "[1] [2]",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "tru",
            "nul",
            "",
            "  ",
            "{\"a\":1,}",
            "\"\\ud83d\\u0041\"",
        ] {
            let ours = validate(text).is_some();
            let theirs = serde_json::from_str::<Value>(text).is_ok();
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(validate(" 12 "), Some(Kind::Number));
        assert_eq!(validate("\"x\""), Some(Kind::String));
        assert_eq!(validate("{\"a\":[1]}"), Some(Kind::Object));
        assert_eq!(validate("[true]"), Some(Kind::Array));
        assert_eq!(validate("false"), Some(Kind::Bool));
        assert_eq!(validate("null"), Some(Kind::Null));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(validate(&deep), None);
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(validate(&ok), Some(Kind::Array));
    }

    #[test]
    fn reads_flat_objects() {
        let mut seen = Vec::new();
        read_object(
            br#" { "a": "x\"y\u00e9", "n": [1, {"b": 2}], "c": "" } "#,
            |k, v| seen.push((k.to_string(), v)),
        )
        .unwrap();
        assert_eq!(
            seen,
            [
                ("a".to_string(), Some("x\"yé".to_string())),
                ("n".to_string(), None),
                ("c".to_string(), Some(String::new())),
            ]
        );
        assert!(read_object(b"[1]", |_, _| {}).is_none());
        assert!(read_object(b"{\"a\": 1} x", |_, _| {}).is_none());
        assert!(read_object(b"{}", |_, _| {}).is_some());
    }

    proptest! {

        #[test]
        fn plain_runs_end_where_a_byte_loop_ends(
            plain in 0usize..40,
            tail in prop::collection::vec(prop::sample::select(vec![b'a', b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x01, 0x00]), 0..20),
        ) {
            let mut text = vec![b'a'; plain];
            text.extend(tail);
            let naive = text.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(text.len());
            prop_assert_eq!(plain_run(&text), naive);
        }
        #[test]
        fn strings_round_trip_through_serde(text in "\\PC*|[\u{0}-\u{20}\"\\\\]*") {
            let mut out = String::new();
            push_string(&mut out, &text);
            prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), text.clone());
            let mut seen = None;
            read_object(format!("{{\"k\":{out}}}").as_bytes(), |_, v| seen = v).unwrap();
            prop_assert_eq!(seen, Some(text));
        }

        #[test]
        fn integers_print_as_decimal(n in any::<i64>(), u in any::<u64>()) {
            let mut out = String::new();
            push_i64(&mut out, n);
            prop_assert_eq!(out, n.to_string());
            let mut out = String::new();
            push_u64(&mut out, u);
            prop_assert_eq!(out, u.to_string());
        }
    }
}
