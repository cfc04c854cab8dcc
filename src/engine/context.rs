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

use super::semver;
use super::time::parse_rfc3339_ms;
use fnv::FnvHashMap;
use std::net::Ipv6Addr;

/// Index of an attribute in a snapshot's attribute table.
pub type AttrId = u32;

/// The attribute id of `targetingKey`, always present in every table.
pub const TARGETING_KEY: AttrId = 0;

/// The literal id of a string no clause compares with.
pub const NO_LITERAL: u32 = u32::MAX;

/// What the operators reading an attribute need of its values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// A substring, prefix, suffix or regex operator reads its text.
    pub text: bool,
    /// A case-insensitive operator reads it (lower-cased text, folded literals).
    pub lower: bool,
    /// A numeric comparison reads it (numeric strings count as numbers).
    pub number: bool,
    /// A lenient numeric comparison reads a string as JavaScript's `Number(text)`.
    pub js_number: bool,
    /// A date operator reads it.
    pub date: bool,
    /// A semver operator reads it.
    pub semver: bool,
    /// An `in_cidr` operator reads it.
    pub ip: bool,
    /// A rollout or exclusion hashes it as a unit.
    pub unit: bool,
}

impl Needs {
    /// Whether a string value's text must be kept (else its literal id suffices).
    pub fn text_kept(self) -> bool {
        self.text || self.lower || self.date || self.semver || self.ip || self.unit
    }
}

/// Another reader's needs add to an attribute's: every form either needs is kept.
impl std::ops::BitOrAssign for Needs {
    fn bitor_assign(&mut self, other: Needs) {
        let Needs {
            text,
            lower,
            number,
            js_number,
            date,
            semver,
            ip,
            unit,
        } = other;
        self.text |= text;
        self.lower |= lower;
        self.number |= number;
        self.js_number |= js_number;
        self.date |= date;
        self.semver |= semver;
        self.ip |= ip;
        self.unit |= unit;
    }
}

/// The string literals equality operators compare one attribute with; a literal's
/// id is its index.
#[derive(Debug, Clone, Default)]
pub struct Literals {
    ids: FnvHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Literals {
    /// The id of `text`, added if new.
    pub fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(text.into());
        self.ids.insert(text.into(), id);
        id
    }

    /// The id of `text`, or [`NO_LITERAL`].
    #[inline]
    pub fn id(&self, text: &str) -> u32 {
        if self.names.is_empty() {
            return NO_LITERAL;
        }
        self.ids.get(text).copied().unwrap_or(NO_LITERAL)
    }

    /// The literals, by id.
    pub fn names(&self) -> &[Box<str>] {
        &self.names
    }
}

/// One attribute path the snapshot reads.
#[derive(Debug, Clone)]
pub struct AttrSpec {
    /// The path as written (`user.account_tier`).
    pub path: Box<str>,
    /// Its segments (`["user", "account_tier"]`).
    pub segments: Box<[Box<str>]>,
    /// What its operators need.
    pub needs: Needs,
    /// Literals compared with its exact text.
    pub literals: Literals,
    /// Lower-cased literals compared with its lower-cased text (`ignore_case`).
    pub folded: Literals,
}

impl AttrSpec {
    /// An attribute with nothing recorded about its use yet.
    pub fn new(path: &str) -> AttrSpec {
        AttrSpec {
            path: path.into(),
            segments: path.split('.').map(Into::into).collect(),
            needs: Needs::default(),
            literals: Literals::default(),
            folded: Literals::default(),
        }
    }
}

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

/// A context resolved against one snapshot's attribute table.
#[derive(Debug, Clone, Default)]
pub struct ResolvedContext {
    values: Vec<AttrValue>,
    /// Unit text per attribute that rollouts or exclusions hash (and the text of a
    /// number, for attributes whose operators read text).
    units: Vec<Option<Span>>,
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

/// Whether `text` is a plain decimal numeral and, if so, its finite value: "inf",
/// "NaN", hex and whitespace are text, not numbers.
pub fn finite_number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !plain {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The text a number hashes as when it is a rollout unit: ECMAScript's
/// `Number.prototype.toString` (what `JSON.stringify` writes: `12345`, `-3`, `1.5`,
/// `1e+21`, `1e-7`), so a unit sent as a number and the same unit sent as its JSON
/// text agree, whichever SDK sent it.
#[cfg(feature = "authoring")]
pub fn number_text(n: f64) -> Option<String> {
    if !n.is_finite() {
        return None;
    }
    if n == 0.0 {
        return Some("0".into());
    }
    // The shortest digits that read back as `n` (Rust's `{:e}` rounds exactly).
    let (digits, exponent) = (1..=17)
        .map(|precision| format!("{:.*e}", precision - 1, n.abs()))
        .find(|text| text.parse::<f64>().ok() == Some(n.abs()))
        .and_then(|text| {
            let (mantissa, exponent) = text.split_once('e')?;
            Some((mantissa.replace('.', ""), exponent.parse::<i32>().ok()?))
        })?;
    let k = digits.len() as i32;
    let point = exponent + 1; // ECMAScript's n: where the decimal point goes
    let mut out = String::new();
    if n < 0.0 {
        out.push('-');
    }
    if k <= point && point <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - k) as usize));
    } else if 0 < point && point <= 21 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if point - 1 < 0 { '-' } else { '+' });
        crate::jsontext::push_u64(&mut out, u64::from((point - 1).unsigned_abs()));
    }
    Some(out)
}

/// In wasm the host hands over the text of every number it sends as a unit (float
/// formatting would cost the module kilobytes); only small integers are printed
/// here, which read the same either way.
#[cfg(not(feature = "authoring"))]
pub fn number_text(n: f64) -> Option<String> {
    if n.fract() != 0.0 || n.abs() >= 9_007_199_254_740_992.0 {
        return None;
    }
    let mut out = String::new();
    crate::jsontext::push_i64(&mut out, n as i64);
    Some(out)
}

/// Parses an IPv4 or IPv6 address; IPv4 becomes its IPv4-mapped IPv6 form, so one
/// 128-bit comparison serves both families.
pub(crate) fn parse_ip(text: &str) -> Option<Ipv6Addr> {
    match text.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(v4.to_ipv6_mapped()),
        std::net::IpAddr::V6(v6) => Some(v6),
    }
}

impl ResolvedContext {
    /// A context with every attribute of `table` missing, for a host to fill with
    /// [`ResolvedContext::set`] and [`ResolvedContext::set_list`].
    pub fn empty(table: &[AttrSpec]) -> ResolvedContext {
        let mut ctx = ResolvedContext::default();
        ctx.clear(table);
        ctx
    }

    /// Makes every attribute of `table` missing again, keeping the memory.
    pub fn clear(&mut self, table: &[AttrSpec]) {
        self.values.clear();
        self.values.resize(table.len(), AttrValue::Missing);
        self.units.clear();
        self.units.resize(table.len(), None);
        self.items.clear();
        self.forms.clear();
        self.text.clear();
    }

    /// Sets attribute `id` (an index into `table`) to a scalar. Out-of-range ids are
    /// ignored.
    pub fn set(&mut self, table: &[AttrSpec], id: AttrId, value: HostValue<'_>) {
        let Some(spec) = table.get(id as usize) else {
            return;
        };
        if id as usize >= self.values.len() {
            return;
        }
        let scalar = self.scalar(spec, value);
        self.values[id as usize] = AttrValue::One(scalar);
        // Units, and the text of numbers where operators read text (lenient semver).
        if spec.needs.unit || spec.needs.text {
            self.units[id as usize] = self.unit_span(&scalar, value);
        }
    }

    /// Sets attribute `id` to a list of `items`. Out-of-range ids are ignored.
    pub fn set_list<'a>(
        &mut self,
        table: &[AttrSpec],
        id: AttrId,
        items: impl IntoIterator<Item = HostValue<'a>>,
    ) {
        let Some(spec) = table.get(id as usize) else {
            return;
        };
        if id as usize >= self.values.len() {
            return;
        }
        let start = self.items.len() as u32;
        for item in items {
            let scalar = self.scalar(spec, item);
            self.items.push(scalar);
        }
        self.values[id as usize] = AttrValue::Many {
            start,
            len: self.items.len() as u32 - start,
        };
        self.units[id as usize] = None;
    }

    fn store(&mut self, text: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        Span {
            start,
            len: text.len() as u32,
        }
    }

    /// The unit a value gives when hashed: non-empty text, or a number's text.
    fn unit_span(&mut self, scalar: &Scalar, value: HostValue<'_>) -> Option<Span> {
        match (scalar, value) {
            (Scalar::Str(s), _) => s.text.filter(|t| t.len > 0),
            (Scalar::Num(_), HostValue::Num(_, Some(text))) => Some(self.store(text)),
            (Scalar::Num(n), _) => number_text(*n).map(|t| self.store(&t)),
            _ => None,
        }
    }

    fn scalar(&mut self, spec: &AttrSpec, value: HostValue<'_>) -> Scalar {
        match value {
            HostValue::Num(n, _) => Scalar::Num(n),
            HostValue::Bool(b) => Scalar::Bool(b),
            HostValue::Other => Scalar::Other,
            #[cfg(feature = "authoring")]
            HostValue::Str(text) => {
                let needs = spec.needs;
                let lower = needs.lower.then(|| text.to_lowercase());
                let lit = spec.literals.id(text);
                let num = needs.number.then(|| finite_number(text)).flatten();
                let lower = lower.as_deref().map(|l| (l, spec.folded.id(l)));
                let js_num = needs
                    .js_number
                    .then(|| super::lenient::js_number(text))
                    .flatten();
                self.string(spec, lit, num, Some(text), lower, js_num)
            }
            HostValue::Known {
                lit,
                num,
                text,
                lower,
                js_num,
            } => {
                let known = |id: u32, names: &Literals| {
                    if (id as usize) < names.names().len() {
                        id
                    } else {
                        NO_LITERAL
                    }
                };
                let lit = known(lit, &spec.literals);
                let lower = lower.map(|(l, id)| (l, known(id, &spec.folded)));
                let num = num.filter(|n| n.is_finite());
                let js_num = js_num.filter(|n| !n.is_nan());
                self.string(spec, lit, num, text, lower, js_num)
            }
        }
    }

    fn string(
        &mut self,
        spec: &AttrSpec,
        lit: u32,
        num: Option<f64>,
        text: Option<&str>,
        lower: Option<(&str, u32)>,
        js_num: Option<f64>,
    ) -> Scalar {
        let needs = spec.needs;
        let mut s = StrAttr {
            lit,
            folded: NO_LITERAL,
            text: None,
            forms: NO_FORMS,
        };
        let mut forms = Forms {
            num: num.filter(|_| needs.number),
            js_num: js_num.filter(|_| needs.js_number),
            ..Forms::default()
        };
        if let Some(text) = text.filter(|_| needs.text_kept()) {
            let span = self.store(text);
            s.text = Some(span);
            if let Some((lower, folded)) = lower.filter(|_| needs.lower) {
                s.folded = folded;
                forms.lower = Some(if lower == text {
                    span
                } else {
                    self.store(lower)
                });
            }
            if needs.date {
                forms.date = parse_rfc3339_ms(text);
            }
            if needs.semver {
                forms.version = semver::parse_parts(text).map(|(core, start, len)| VersionRef {
                    core,
                    pre: Span {
                        start: span.start + start as u32,
                        len: len as u32,
                    },
                });
            }
            if needs.ip {
                forms.ip = parse_ip(text);
            }
        }
        if forms != Forms::default() {
            s.forms = self.forms.len() as u32;
            self.forms.push(forms);
        }
        Scalar::Str(s)
    }

    #[inline]
    fn span(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.text
            .get(start..start + span.len as usize)
            .unwrap_or("")
    }

    /// The text of a string value (kept only for attributes whose operators read it).
    #[inline]
    pub(crate) fn text_of(&self, s: &StrAttr) -> Option<&str> {
        s.text.map(|t| self.span(t))
    }

    /// The forms of a string value its operators read besides its text.
    #[inline]
    pub(crate) fn forms(&self, s: &StrAttr) -> &Forms {
        self.forms.get(s.forms as usize).unwrap_or(&NO_FORMS_OF)
    }

    /// The lower-cased text of a string value.
    #[inline]
    pub(crate) fn lower_of(&self, s: &StrAttr) -> Option<&str> {
        self.forms(s).lower.map(|t| self.span(t))
    }

    /// The version a string value spells, for precedence comparisons.
    #[inline]
    pub(crate) fn version_of(&self, s: &StrAttr) -> Option<([u64; 3], &str)> {
        self.forms(s).version.map(|v| (v.core, self.span(v.pre)))
    }

    /// The unit string of an attribute (a non-empty string, or a number's text).
    #[inline]
    pub fn unit(&self, id: AttrId) -> Option<&str> {
        let span = (*self.units.get(id as usize)?)?;
        Some(self.span(span))
    }

    /// The targeting key, if the context has a usable one.
    #[inline]
    pub fn targeting_key(&self) -> Option<&str> {
        self.unit(TARGETING_KEY)
    }

    #[inline]
    pub(crate) fn value(&self, id: AttrId) -> AttrValue {
        self.values
            .get(id as usize)
            .copied()
            .unwrap_or(AttrValue::Missing)
    }

    /// The scalars of a value: one, each list element, or none.
    #[inline]
    pub(crate) fn scalars<'s>(&'s self, value: &'s AttrValue) -> &'s [Scalar] {
        match value {
            AttrValue::Missing => &[],
            AttrValue::One(s) => std::slice::from_ref(s),
            AttrValue::Many { start, len } => self
                .items
                .get(*start as usize..(*start + *len) as usize)
                .unwrap_or(&[]),
        }
    }

    /// Attribute `id` in a form independent of how the context was built: for
    /// comparing contexts.
    fn canonical(&self, id: usize) -> Option<Vec<CanonicalScalar<'_>>> {
        let value = self.values.get(id)?;
        let one = |s: &Scalar| match s {
            Scalar::Bool(b) => CanonicalScalar::Bool(*b),
            Scalar::Num(n) => CanonicalScalar::Num(*n),
            Scalar::Other => CanonicalScalar::Other,
            Scalar::Str(s) => CanonicalScalar::Str {
                lit: s.lit,
                folded: s.folded,
                num: self.forms(s).num,
                js_num: self.forms(s).js_num,
                text: self.text_of(s),
                lower: self.lower_of(s),
                date: self.forms(s).date,
                version: self.version_of(s),
                ip: self.forms(s).ip,
            },
        };
        Some(match value {
            AttrValue::Missing => Vec::new(),
            AttrValue::One(s) => vec![one(s)],
            AttrValue::Many { .. } => {
                let mut all = vec![CanonicalScalar::List];
                all.extend(self.scalars(value).iter().map(one));
                all
            }
        })
    }
}

#[derive(Debug, PartialEq)]
enum CanonicalScalar<'a> {
    Bool(bool),
    Num(f64),
    Other,
    List,
    Str {
        lit: u32,
        folded: u32,
        num: Option<f64>,
        js_num: Option<f64>,
        text: Option<&'a str>,
        lower: Option<&'a str>,
        date: Option<i64>,
        version: Option<([u64; 3], &'a str)>,
        ip: Option<Ipv6Addr>,
    },
}

/// Two contexts are equal when every attribute resolved to the same value, however
/// each was built.
impl PartialEq for ResolvedContext {
    fn eq(&self, other: &ResolvedContext) -> bool {
        self.values.len() == other.values.len()
            && (0..self.values.len()).all(|i| {
                self.canonical(i) == other.canonical(i)
                    && self.unit(i as AttrId) == other.unit(i as AttrId)
            })
    }
}

#[cfg(feature = "authoring")]
pub use json::resolve;

/// Resolving a caller's JSON context (native adapters: the CLI, the origin).
#[cfg(feature = "authoring")]
mod json {
    use super::{AttrSpec, ContextError, HostValue, ResolvedContext};
    use serde_json::{Map, Value};

    fn type_name(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// Looks `spec` up in `ctx`: nested objects first, then the whole dotted path as
    /// one top-level key (contexts built from flat maps such as headers use that form).
    fn lookup<'a>(ctx: &'a Map<String, Value>, spec: &AttrSpec) -> Option<&'a Value> {
        let mut current: Option<&Value> = None;
        let mut map = ctx;
        for (i, segment) in spec.segments.iter().enumerate() {
            match map.get(&**segment) {
                Some(v) => {
                    current = Some(v);
                    if i + 1 < spec.segments.len() {
                        match v {
                            Value::Object(inner) => map = inner,
                            _ => {
                                current = None;
                                break;
                            }
                        }
                    }
                }
                None => {
                    current = None;
                    break;
                }
            }
        }
        current.or_else(|| {
            if spec.segments.len() > 1 {
                ctx.get(&*spec.path)
            } else {
                None
            }
        })
    }

    fn host(value: &Value) -> (HostValue<'_>, Option<String>) {
        match value {
            Value::Bool(b) => (HostValue::Bool(*b), None),
            Value::String(s) => (HostValue::Str(s), None),
            Value::Number(n) => match n.as_f64() {
                Some(f) => (HostValue::Num(f, None), None),
                None => (HostValue::Other, None),
            },
            Value::Null | Value::Array(_) | Value::Object(_) => (HostValue::Other, None),
        }
    }

    /// Resolves `ctx` against an attribute table.
    pub fn resolve(table: &[AttrSpec], ctx: &Value) -> Result<ResolvedContext, ContextError> {
        let map = match ctx {
            Value::Object(map) => map,
            other => return Err(ContextError::NotAnObject(type_name(other))),
        };
        let mut out = ResolvedContext::empty(table);
        for (id, spec) in table.iter().enumerate() {
            match lookup(map, spec) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    out.set_list(table, id as u32, items.iter().map(|v| host(v).0));
                }
                Some(v) => {
                    let (value, text) = host(v);
                    let value = match (value, &text) {
                        (HostValue::Num(n, _), Some(t)) => HostValue::Num(n, Some(t)),
                        (value, _) => value,
                    };
                    out.set(table, id as u32, value);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Numbers hash as JavaScript writes them (`String(n)`, `JSON.stringify`).
    #[test]
    fn number_text_is_ecmascript_to_string() {
        for (n, text) in [
            (0.0, "0"),
            (-0.0, "0"),
            (12345.0, "12345"),
            (-3.0, "-3"),
            (1.5, "1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (2f64.powi(60), "1152921504606847000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (123456.789, "123456.789"),
            (1.5e300, "1.5e+300"),
            (-2.5e-9, "-2.5e-9"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(number_text(n).as_deref(), Some(text), "{n:e}");
        }
        assert_eq!(number_text(f64::NAN), None);
    }

    fn table() -> Vec<AttrSpec> {
        let all = Needs {
            text: true,
            lower: true,
            number: true,
            js_number: true,
            date: true,
            semver: true,
            ip: true,
            unit: true,
        };
        ["targetingKey", "tags", "n", "o", "plan"]
            .into_iter()
            .map(|path| {
                let mut spec = AttrSpec::new(path);
                spec.needs = all;
                spec.literals.intern("A");
                spec.literals.intern("2.0.0");
                spec.folded.intern("a");
                spec
            })
            .collect()
    }

    /// Filling a context value by value gives what resolving its JSON gives.
    #[test]
    fn set_equals_resolve() {
        let table = table();
        let ctx = json!({"targetingKey": 42, "tags": ["A", 1, true, null, {}], "n": "2.0.0-rc.1", "o": {"x": 1}, "plan": "A"});
        let mut built = ResolvedContext::empty(&table);
        built.set(&table, 4, HostValue::Str("A"));
        built.set(&table, 0, HostValue::Num(42.0, None));
        built.set_list(
            &table,
            1,
            [
                HostValue::Str("A"),
                HostValue::Num(1.0, None),
                HostValue::Bool(true),
                HostValue::Other,
                HostValue::Other,
            ],
        );
        built.set(&table, 2, HostValue::Str("2.0.0-rc.1"));
        built.set(&table, 3, HostValue::Other);
        let resolved = resolve(&table, &ctx).unwrap();
        assert_eq!(built, resolved);
        assert_eq!(resolved.targeting_key(), Some("42"));
        let Scalar::Str(plan) = resolved.scalars(&resolved.value(4))[0] else {
            panic!("a string")
        };
        assert_eq!((plan.lit, plan.folded), (0, 0));
        let Scalar::Str(n) = resolved.scalars(&resolved.value(2))[0] else {
            panic!("a string")
        };
        assert_eq!(resolved.version_of(&n), Some(([2, 0, 0], "rc.1")));
    }

    /// A host that looked strings up itself gives the same context as one that
    /// handed the text over.
    #[test]
    fn known_strings_equal_looked_up_ones() {
        let mut table = table();
        table[4].needs = Needs::default();
        let mut a = ResolvedContext::empty(&table);
        a.set(&table, 4, HostValue::Str("A"));
        let mut b = ResolvedContext::empty(&table);
        b.set(
            &table,
            4,
            HostValue::Known {
                lit: 0,
                num: None,
                text: None,
                lower: None,
                js_num: None,
            },
        );
        assert_eq!(a, b);
        // An id past the table is no literal.
        b.set(
            &table,
            4,
            HostValue::Known {
                lit: 7,
                num: None,
                text: None,
                lower: None,
                js_num: None,
            },
        );
        let Scalar::Str(s) = b.scalars(&b.value(4))[0] else {
            panic!("a string")
        };
        assert_eq!(s.lit, NO_LITERAL);
    }

    /// The forms a host derives itself (lower case and its folded id, `Number(text)`)
    /// give the context the engine derives from the text.
    #[test]
    fn host_derived_forms_equal_the_engines() {
        let table = table();
        for (text, lower, folded, js_num) in [
            ("A", "a", 0, None),
            (" 0x1F ", " 0x1f ", NO_LITERAL, Some(31.0)),
            ("ÀB", "àb", NO_LITERAL, None),
        ] {
            let mut a = ResolvedContext::empty(&table);
            a.set(&table, 4, HostValue::Str(text));
            let mut b = ResolvedContext::empty(&table);
            b.set(
                &table,
                4,
                HostValue::Known {
                    lit: table[4].literals.id(text),
                    num: finite_number(text),
                    text: Some(text),
                    lower: Some((lower, folded)),
                    js_num,
                },
            );
            assert_eq!(a, b, "{text}");
        }
    }
}
