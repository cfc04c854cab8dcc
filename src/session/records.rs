//! Context values handed over by a host that reads its own objects (the JS glue),
//! as fixed-size records written straight into memory the engine owns: no strings
//! to parse, strings the snapshot only compares by equality cross as literal ids.
//!
//! A record is 40 bytes: `attr: u32`, `kind | len << 8: u32`, `lit: u32`,
//! `offset: u32`, `folded: u32`, `lower_len: u32`, `num: f64`, `js_num: f64`
//! (little-endian, as wasm memory is). Text lives in a separate byte buffer, UTF-8:
//! the value's at `offset..offset + len`, its lower-cased form right after it
//! (`lower_len` bytes; [`SAME_LOWER`] when it is the text itself, [`NO_LOWER`] when
//! not sent). The host sends the forms that need Unicode tables or float parsing
//! (lower case, `Number(text)`), which the wasm module leaves out.

use crate::engine::context::{AttrSpec, HostValue, ResolvedContext};

/// One staged value (see the module documentation for the layout).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Record {
    /// Attribute id (or, for [`kind::DIMENSION`], the dimension index).
    pub attr: u32,
    /// The kind in the low byte, the text length in the upper 24 bits.
    pub kind_len: u32,
    /// A string's literal id; a list's item count.
    pub lit: u32,
    /// Where the text starts in the text buffer.
    pub offset: u32,
    /// A string's lower-cased text's id among the attribute's folded literals.
    pub folded: u32,
    /// The length of the lower-cased text after the text, or [`SAME_LOWER`] or
    /// [`NO_LOWER`].
    pub lower_len: u32,
    /// A number; a string's numeric value (NaN when it is not a plain numeral).
    pub num: f64,
    /// A string's value as JavaScript's `Number(text)` (NaN when none, or not sent).
    pub js_num: f64,
}

/// [`Record::lower_len`]: the text is already lower-case.
pub const SAME_LOWER: u32 = u32::MAX - 1;
/// [`Record::lower_len`]: no lower-cased text was sent.
pub const NO_LOWER: u32 = u32::MAX;

/// Record kinds.
pub mod kind {
    /// A string known by its literal id only (its text is not needed).
    pub const STR: u32 = 1;
    /// A string with its text.
    pub const STR_TEXT: u32 = 2;
    /// A finite number.
    pub const NUM: u32 = 3;
    /// A finite number with the text it hashes as when it is a unit.
    pub const NUM_TEXT: u32 = 4;
    /// `true`.
    pub const TRUE: u32 = 5;
    /// `false`.
    pub const FALSE: u32 = 6;
    /// Present but comparable with nothing (an object, `null` in a list).
    pub const OTHER: u32 = 7;
    /// A list; `lit` items follow.
    pub const LIST: u32 = 8;
    /// A metrics dimension value (text), for dimension index `attr`.
    pub const DIMENSION: u32 = 9;
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> u32 {
        self.kind_len & 0xff
    }

    /// Its text, if it carries valid UTF-8 text inside `text`.
    pub fn text<'t>(&self, text: &'t [u8]) -> Option<&'t str> {
        utf8(text, self.offset as usize, (self.kind_len >> 8) as usize)
    }

    /// Its lower-cased text (and that text's folded literal id), if sent.
    fn lower<'t>(&self, text: &'t [u8], own: &'t str) -> Option<(&'t str, u32)> {
        let lower = match self.lower_len {
            NO_LOWER => return None,
            SAME_LOWER => own,
            len => {
                let start = (self.offset as usize).checked_add(own.len())?;
                utf8(text, start, len as usize)?
            }
        };
        Some((lower, self.folded))
    }

    /// The value this record carries (not for lists and dimensions).
    fn value<'t>(&self, text: &'t [u8]) -> HostValue<'t> {
        let num = (!self.num.is_nan()).then_some(self.num);
        let js_num = (!self.js_num.is_nan()).then_some(self.js_num);
        match self.kind() {
            kind::STR => HostValue::Known {
                lit: self.lit,
                num,
                text: None,
                lower: None,
                js_num,
            },
            kind::STR_TEXT => match self.text(text) {
                Some(t) => HostValue::Known {
                    lit: self.lit,
                    num,
                    text: Some(t),
                    lower: self.lower(text, t),
                    js_num,
                },
                None => HostValue::Other,
            },
            kind::NUM | kind::NUM_TEXT if self.num.is_finite() => HostValue::Num(
                self.num,
                self.text(text).filter(|_| self.kind() == kind::NUM_TEXT),
            ),
            kind::TRUE => HostValue::Bool(true),
            kind::FALSE => HostValue::Bool(false),
            _ => HostValue::Other,
        }
    }
}

fn utf8(text: &[u8], start: usize, len: usize) -> Option<&str> {
    std::str::from_utf8(text.get(start..start.checked_add(len)?)?).ok()
}

/// Sets the attributes `records` carry in `ctx` (for `table`), and hands each
/// dimension value to `dimension`. A list's items are the records after it.
pub fn apply(
    ctx: &mut ResolvedContext,
    table: &[AttrSpec],
    records: &[Record],
    text: &[u8],
    mut dimension: impl FnMut(u32, &str),
) {
    let mut i = 0;
    while i < records.len() {
        let r = &records[i];
        i += 1;
        match r.kind() {
            kind::LIST => {
                let n = (r.lit as usize).min(records.len() - i);
                let items = records[i..i + n].iter().map(|item| item.value(text));
                ctx.set_list(table, r.attr, items);
                i += n;
            }
            kind::DIMENSION => {
                if let Some(t) = r.text(text) {
                    dimension(r.attr, t);
                }
            }
            _ => ctx.set(table, r.attr, r.value(text)),
        }
    }
}
