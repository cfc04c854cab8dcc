//! The payload's primitives: a bounds-checked cursor over its bytes, and the
//! errors decoding reports.

use crate::engine::dfa::{Dfa, MAX_STATES, MAX_TRANSITIONS};

/// What kind of problem a payload has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// Not a format-2 payload (another format, or another payload version).
    UnknownFormat,
    /// Truncated, trailing bytes, a bad tag, a bad varint, invalid UTF-8.
    Malformed,
    /// Well-formed, but the flags are not valid.
    Invalid,
}

/// Why a payload could not be decoded: a kind, what is wrong, and the flag it
/// concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The kind of problem.
    pub kind: DecodeErrorKind,
    /// What is wrong.
    pub what: &'static str,
    /// The key of the flag it is in, if any.
    pub flag: Option<Box<str>>,
}

impl DecodeError {
    /// A sentence for people, built without `format!` (the wasm module has no
    /// float formatting and keeps its string code small).
    pub fn message(&self) -> String {
        let mut out = String::from(match self.kind {
            DecodeErrorKind::UnknownFormat => "not a format-2 snapshot payload: ",
            DecodeErrorKind::Malformed => "malformed snapshot payload: ",
            DecodeErrorKind::Invalid => "invalid flags: ",
        });
        out.push_str(self.what);
        if let Some(flag) = &self.flag {
            out.push_str(" (flag `");
            out.push_str(flag);
            out.push_str("`)");
        }
        out
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for DecodeError {}

pub(super) type Result<T> = std::result::Result<T, DecodeError>;

pub(super) fn malformed(what: &'static str) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::Malformed,
        what,
        flag: None,
    }
}

pub(super) fn invalid(what: &'static str) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::Invalid,
        what,
        flag: None,
    }
}

pub(super) fn check(ok: bool, what: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(invalid(what))
    }
}

/// A cursor over the payload.
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    // The primitives below are inlined by hand: at opt-level "z" they would be calls
    // per byte, and loading is mostly them.
    #[inline(always)]
    pub(super) fn u8(&mut self) -> Result<u8> {
        let Some(&b) = self.bytes.get(self.at) else {
            return Err(malformed("truncated"));
        };
        self.at += 1;
        Ok(b)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.left() {
            return Err(malformed("truncated"));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    /// An unsigned LEB128 number, at most 10 bytes, no overflow.
    #[inline(always)]
    pub(super) fn uv(&mut self) -> Result<u64> {
        // Most numbers (counts, ids, tags) fit one byte.
        if let Some(&b) = self.bytes.get(self.at) {
            if b < 0x80 {
                self.at += 1;
                return Ok(u64::from(b));
            }
        }
        self.uv_long()
    }

    pub(super) fn uv_long(&mut self) -> Result<u64> {
        let mut n: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            let part = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(malformed("number too large"));
            }
            n |= part << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return Err(malformed("number not minimally encoded"));
                }
                return Ok(n);
            }
        }
        Err(malformed("number too long"))
    }

    #[inline(always)]
    pub(super) fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.uv()?).map_err(|_| malformed("number too large"))
    }

    /// A count of items that each take at least one byte: never more than the bytes
    /// left, so no count can make decoding allocate more than the payload's size.
    #[inline(always)]
    pub(super) fn count(&mut self) -> Result<usize> {
        let n = self.uv()?;
        if n > self.left() as u64 {
            return Err(malformed("count larger than the payload"));
        }
        Ok(n as usize)
    }

    /// A zigzag-encoded signed number.
    pub(super) fn sv(&mut self) -> Result<i64> {
        let n = self.uv()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    pub(super) fn f64(&mut self) -> Result<f64> {
        let bytes = self.take(8)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        let n = f64::from_le_bytes(b);
        if !n.is_finite() {
            return Err(invalid("a number is not finite"));
        }
        Ok(n)
    }

    pub(super) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.count()?;
        self.take(n)
    }

    pub(super) fn str(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| malformed("text is not UTF-8"))
    }

    pub(super) fn flag(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(malformed("bad presence byte")),
        }
    }

    pub(super) fn option_sv(&mut self) -> Result<Option<i64>> {
        if self.flag()? {
            Ok(Some(self.sv()?))
        } else {
            Ok(None)
        }
    }

    /// A pattern's automaton: states, classes, start, the 256-byte class map, the
    /// transitions (`uv` each) and each state's flags byte, checked whole.
    pub(super) fn dfa(&mut self) -> Result<Dfa> {
        let states = self.count()?;
        let classes = self.count()?;
        let start = self.count()?;
        check(
            (1..=MAX_STATES).contains(&states)
                && (1..=256).contains(&classes)
                && states * classes <= MAX_TRANSITIONS,
            "a pattern's automaton is too large",
        )?;
        let mut class_of = [0u8; 256];
        class_of.copy_from_slice(self.take(256)?);
        // Each transition takes at least a byte: bounded by the payload.
        let n = states * classes;
        if n > self.left() {
            return Err(malformed("count larger than the payload"));
        }
        let mut next = Vec::with_capacity(n);
        for _ in 0..n {
            next.push(
                u16::try_from(self.uv()?)
                    .map_err(|_| invalid("a pattern's automaton names a state it lacks"))?,
            );
        }
        let flags = self.take(states)?.to_vec();
        Dfa::from_parts(class_of, classes, start, next, flags).map_err(invalid)
    }
}
