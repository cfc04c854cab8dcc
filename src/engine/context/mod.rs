//! Evaluation contexts, resolved once against a snapshot's attribute table.
//!
//! A snapshot knows at load every attribute path its clauses and rollouts read, and,
//! per attribute, the string literals equality operators compare it with
//! ([`Literals`]). [`ResolvedContext`] looks each attribute up in the caller's
//! context a single time and keeps what the operators need: a string's literal id
//! (so `in` is an integer comparison), its numeric value, and — only for attributes
//! whose operators read text — the text itself and its lower-cased, date, version or
//! address forms. Evaluation is then index lookups and comparisons.
//!
//! Hosts that read their own objects (the JS glue) fill a context value by value
//! ([`ResolvedContext::set`]), handing strings over by literal id where no operator
//! needs their text.
//!
//! This file holds the types a context is made of; the rest is one file per step:
//! `table` (what a snapshot records per attribute: [`AttrSpec`], [`Needs`],
//! [`Literals`]), `forms` (reading text as a number, a unit's text, an address),
//! `fill` (filling a context value by value), `read` (what evaluation reads back, and
//! comparing contexts) and, in native builds, `json` (`resolve`: a caller's JSON
//! context).

use std::net::Ipv6Addr;

mod fill;
mod forms;
mod ip;
#[cfg(feature = "authoring")]
mod json;
mod read;
mod table;

pub use forms::{finite_number, number_text};
pub(crate) use ip::parse_ip;
#[cfg(feature = "authoring")]
pub use json::resolve;
pub use table::{AttrSpec, Literals, Needs};

/// Index of an attribute in a snapshot's attribute table.
pub type AttrId = u32;

/// The attribute id of `targetingKey`, always present in every table.
pub const TARGETING_KEY: AttrId = 0;

/// The literal id of a string no clause compares with.
pub const NO_LITERAL: u32 = u32::MAX;

/// Where some text is in a context's text store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// A version attribute: its numeric core, its pre-release in the text store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VersionRef {
    core: [u64; 3],
    pre: Span,
}

/// A string attribute: its literal ids, its text, and where its other forms are.
/// Kept small (a context is a few cache lines): the forms only some operators read
/// live apart, in [`Forms`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrAttr {
    /// Id among the attribute's [`AttrSpec::literals`], or [`NO_LITERAL`].
    pub(crate) lit: u32,
    /// Id of the lower-cased text among [`AttrSpec::folded`], or [`NO_LITERAL`].
    pub(crate) folded: u32,
    pub(crate) text: Option<Span>,
    /// Index of its [`Forms`] in the context, or [`NO_FORMS`].
    forms: u32,
}

/// [`StrAttr::forms`] of a string no operator reads in another form.
const NO_FORMS: u32 = u32::MAX;

/// The forms of a string value that only some operators read, derived when the
/// context is filled (evaluation compares, it never parses).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Forms {
    /// Its value if it is a finite number (`"12"`, `"12.0"`), when read numerically.
    pub(crate) num: Option<f64>,
    /// JavaScript's `Number(text)` (`None` for `NaN`), when read leniently.
    pub(crate) js_num: Option<f64>,
    lower: Option<Span>,
    /// Milliseconds since the epoch, when it is an RFC 3339 time a date operator reads.
    pub(crate) date: Option<i64>,
    version: Option<VersionRef>,
    /// The address it spells, IPv4 as IPv4-mapped IPv6, when `in_cidr` reads it.
    pub(crate) ip: Option<Ipv6Addr>,
}

/// No forms (what [`ResolvedContext::forms`] gives a string without any).
static NO_FORMS_OF: Forms = Forms {
    num: None,
    js_num: None,
    lower: None,
    date: None,
    version: None,
    ip: None,
};

/// One scalar value of an attribute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// JSON boolean.
    Bool(bool),
    /// JSON number.
    Num(f64),
    /// JSON string.
    Str(StrAttr),
    /// `null`, an object, or a nested list: present, but comparable with nothing.
    Other,
}

/// An attribute's value in a resolved context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AttrValue {
    /// Absent (or `null`).
    Missing,
    /// A scalar.
    One(Scalar),
    /// A list: list-aware operators test each element (in the context's item store).
    Many { start: u32, len: u32 },
}

/// One attribute of a resolved context.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Attr {
    value: AttrValue,
    /// The unit text rollouts and exclusions hash (and the text of a number, for
    /// attributes whose operators read text); empty for none (a unit is never empty).
    /// Not an `Option`: without its tag an attribute is 32 bytes, two to a cache line.
    unit: Span,
}

/// No unit.
const NO_UNIT: Span = Span { start: 0, len: 0 };

/// An attribute the context lacks.
const MISSING: Attr = Attr {
    value: AttrValue::Missing,
    unit: NO_UNIT,
};

/// A context resolved against one snapshot's attribute table.
#[derive(Debug, Clone, Default)]
pub struct ResolvedContext {
    /// By attribute id. A value and its unit side by side: a rollout reads both, and
    /// with many live contexts each separate array is another cache miss.
    attrs: Vec<Attr>,
    items: Vec<Scalar>,
    forms: Vec<Forms>,
    text: String,
}

/// A context value handed over by a host that reads its own objects (the JS glue):
/// the JSON shapes, without building a JSON value first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostValue<'a> {
    /// A string; the engine derives what its operators need (native builds: the
    /// wasm module leaves case folding and number parsing to its host).
    #[cfg(feature = "authoring")]
    Str(&'a str),
    /// A string the host already looked up: its literal id among the attribute's
    /// [`AttrSpec::literals`] (or [`NO_LITERAL`]), its numeric value, its text when
    /// the attribute's operators keep text ([`Needs::text_kept`]), and the forms
    /// [`Needs::lower`] and [`Needs::js_number`] ask for.
    Known {
        /// Literal id.
        lit: u32,
        /// Its value as a number, if it is a plain decimal numeral.
        num: Option<f64>,
        /// The text, when kept.
        text: Option<&'a str>,
        /// The text lower-cased (JavaScript's `toLowerCase`) and that text's id among
        /// [`AttrSpec::folded`] (or [`NO_LITERAL`]).
        lower: Option<(&'a str, u32)>,
        /// JavaScript's `Number(text)`, `None` for `NaN`.
        js_num: Option<f64>,
    },
    /// A finite number, with the text it hashes as when it is a rollout unit
    /// ([`number_text`]; the engine computes it when `None`).
    Num(f64, Option<&'a str>),
    /// A boolean.
    Bool(bool),
    /// Anything else that is present: an object, a nested list, `null` in a list.
    Other,
}

/// Errors converting a caller's context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// The context is not a JSON object.
    #[error("evaluation context must be a JSON object, got {0}")]
    NotAnObject(&'static str),
}

#[cfg(test)]
mod tests;
