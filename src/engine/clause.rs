//! Clauses compiled for evaluation, and their matching.
//!
//! Compilation checks every value against its operator once (a semver clause holds
//! parsed versions, a date clause epoch milliseconds, a regex clause a compiled
//! regex), resolves segment names to indices, attribute paths to table slots and
//! equality literals to ids in the attribute's dictionary, so `in` compares integers.
//!
//! [`build_test`] is the one constructor of attribute tests: the flags-document
//! compiler and the binary snapshot decoder both hand it typed values.

use super::context::{AttrId, AttrValue, Needs, ResolvedContext, Scalar, StrAttr, NO_LITERAL};
use super::dfa::Dfa;
use super::kinds::Op;
use super::search::Needle;
use super::semver::{self, Version};

/// Longest regex pattern accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 1024;
/// Deepest clause nesting accepted.
pub const MAX_CLAUSE_DEPTH: usize = 32;
/// Above this many literal ids a set is searched by bisection.
const BISECT_THRESHOLD: usize = 8;

/// Index of a segment.
pub type SegmentId = u32;

/// A compiled clause.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    All(Box<[Cond]>),
    Any(Box<[Cond]>),
    Not(Box<Cond>),
    Segment(SegmentId),
    Test(Test),
    /// The unit falls in a range of a bucket space.
    Bucket(super::bucket::BucketCond),
}

/// Which attribute a test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrRef {
    Ctx(AttrId),
    /// The built-in `$now`: the evaluation time.
    Now,
}

#[derive(Debug, Clone)]
pub(crate) struct Test {
    pub(crate) attr: AttrRef,
    pub(crate) op: Op,
    pub(crate) pred: Pred,
}

/// An ordering comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cmp {
    Lt,
    Lte,
    Eq,
    Gte,
    Gt,
}

impl Cmp {
    #[inline]
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Cmp::Lt => ord == Less,
            Cmp::Lte => ord != Greater,
            Cmp::Eq => ord == Equal,
            Cmp::Gte => ord != Less,
            Cmp::Gt => ord == Greater,
        }
    }
}

/// Literal ids of an attribute's dictionary, sorted.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdSet(Box<[u32]>);

impl IdSet {
    fn new(mut ids: Vec<u32>) -> IdSet {
        super::sort::sort_dedup(&mut ids);
        IdSet(ids.into_boxed_slice())
    }

    #[inline]
    fn contains(&self, id: u32) -> bool {
        if id == NO_LITERAL {
            return false;
        }
        if self.0.len() > BISECT_THRESHOLD {
            self.0.binary_search(&id).is_ok()
        } else {
            self.0.contains(&id)
        }
    }

    /// The ids, sorted.
    #[cfg_attr(not(feature = "authoring"), allow(dead_code))] // read by the native encoder and inspector
    pub(crate) fn ids(&self) -> &[u32] {
        &self.0
    }
}

/// The values of an equality-style clause, split by type: a value's type decides how
/// it compares. Strings are literal ids: in the attribute's exact dictionary, or in
/// its folded (lower-cased) one with `ignore_case`.
#[derive(Debug, Clone)]
pub(crate) struct ValueSet {
    pub(crate) strs: IdSet,
    pub(crate) nums: Box<[f64]>,
    pub(crate) has_true: bool,
    pub(crate) has_false: bool,
    pub(crate) ignore_case: bool,
}

impl ValueSet {
    #[inline]
    fn matches(&self, ctx: &ResolvedContext, scalar: &Scalar) -> bool {
        match scalar {
            Scalar::Str(s) => {
                self.strs
                    .contains(if self.ignore_case { s.folded } else { s.lit })
                    || (!self.nums.is_empty()
                        && ctx.forms(s).num.is_some_and(|n| self.nums.contains(&n)))
            }
            Scalar::Num(n) => self.nums.contains(n),
            Scalar::Bool(true) => self.has_true,
            Scalar::Bool(false) => self.has_false,
            Scalar::Other => false,
        }
    }
}

/// A compiled operator with its values.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "authoring"), allow(dead_code))] // read by the native encoder and inspector
pub(crate) enum Pred {
    /// `in`/`eq`; `not_in`/`neq` are the same set, negated.
    Equals(ValueSet),
    /// Substring for a string attribute (lower-cased with `ignore_case`),
    /// membership for a list attribute.
    Contains {
        strs: Box<[Needle]>,
        members: ValueSet,
    },
    StartsWith(Box<[Box<str>]>, bool),
    EndsWith(Box<[Box<str>]>, bool),
    /// Compiled patterns, with their sources and `ignore_case`.
    Matches(Box<[(Dfa, Box<str>)]>, bool),
    /// `true` (lenient): text is read as JavaScript's `Number()` reads it.
    Num(Cmp, Box<[f64]>, bool),
    /// `true` (lenient): versions are read as flagd reads them.
    Semver(Cmp, Box<[Version]>, bool),
    Date(Cmp, Box<[i64]>),
    Cidr(Box<[Cidr]>),
    Exists,
}

/// An address range: the addresses whose first `mask` bits equal `network`'s, both
/// in 128-bit IPv6 form (IPv4 ranges are IPv4-mapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u128,
    mask: u128,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a single address (a range of one).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let ip = super::context::parse_ip(addr)?;
        // An IPv4 prefix counts in the last 32 bits of the mapped form.
        let offset = if addr.contains(':') { 0 } else { 96 };
        let bits = match len {
            None => 128,
            Some(len) if len.bytes().all(|b| b.is_ascii_digit()) && !len.is_empty() => {
                let len: u32 = len.parse().ok()?;
                if len > 128 - offset {
                    return None;
                }
                offset + len
            }
            Some(_) => return None,
        };
        Cidr::from_parts(u128::from(ip) & prefix_mask(bits), bits)
    }

    /// The range of `bits` leading bits at `network` (which has no bits past them).
    pub fn from_parts(network: u128, bits: u32) -> Option<Cidr> {
        let mask = prefix_mask(bits);
        (bits <= 128 && network & !mask == 0).then_some(Cidr { network, mask })
    }

    /// The network and its prefix length.
    pub fn parts(&self) -> (u128, u32) {
        (self.network, self.mask.count_ones())
    }

    /// Whether the range holds `ip` (IPv4 addresses in their IPv4-mapped form).
    #[inline]
    pub fn contains(&self, ip: std::net::Ipv6Addr) -> bool {
        u128::from(ip) & self.mask == self.network
    }
}

fn prefix_mask(bits: u32) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(bits))
        .unwrap_or(0)
}

impl Cond {
    /// Whether the clause holds for `ctx` at `now_ms`.
    pub(crate) fn matches(&self, ctx: &ResolvedContext, segments: &[Cond], now_ms: i64) -> bool {
        match self {
            Cond::All(items) => items.iter().all(|c| c.matches(ctx, segments, now_ms)),
            Cond::Any(items) => items.iter().any(|c| c.matches(ctx, segments, now_ms)),
            Cond::Not(inner) => !inner.matches(ctx, segments, now_ms),
            Cond::Segment(id) => segments
                .get(*id as usize)
                .is_some_and(|c| c.matches(ctx, segments, now_ms)),
            Cond::Test(test) => test.matches(ctx, now_ms),
            Cond::Bucket(b) => b.matches(ctx),
        }
    }
}

impl Test {
    /// Whether `not_in`/`neq` negate the operator.
    fn negated(&self) -> bool {
        matches!(self.op, Op::NotIn | Op::Neq)
    }

    #[inline]
    fn matches(&self, ctx: &ResolvedContext, now_ms: i64) -> bool {
        let (value, number_text) = match self.attr {
            AttrRef::Ctx(id) => (ctx.value(id), ctx.unit(id)),
            AttrRef::Now => (AttrValue::One(Scalar::Num(now_ms as f64)), None),
        };
        self.pred.matches(ctx, &value, number_text) != self.negated()
    }
}

#[inline]
fn text<'c>(ctx: &'c ResolvedContext, s: &StrAttr, ignore_case: bool) -> &'c str {
    let t = if ignore_case {
        ctx.lower_of(s)
    } else {
        ctx.text_of(s)
    };
    t.unwrap_or("")
}

impl Pred {
    /// `number_text`: the text of a number value, where its attribute keeps text.
    fn matches(&self, ctx: &ResolvedContext, value: &AttrValue, number_text: Option<&str>) -> bool {
        let scalars = ctx.scalars(value);
        let strs = || {
            scalars.iter().filter_map(|s| match s {
                Scalar::Str(s) => Some(s),
                _ => None,
            })
        };
        match self {
            Pred::Exists => !matches!(value, AttrValue::Missing),
            Pred::Equals(set) => scalars.iter().any(|s| set.matches(ctx, s)),
            Pred::Contains { strs, members } => match value {
                AttrValue::One(Scalar::Str(s)) => {
                    let hay = text(ctx, s, members.ignore_case);
                    strs.iter().any(|needle| needle.is_in(hay))
                }
                AttrValue::Many { .. } => scalars.iter().any(|s| members.matches(ctx, s)),
                _ => false,
            },
            Pred::StartsWith(prefixes, ic) => {
                strs().any(|s| prefixes.iter().any(|p| text(ctx, s, *ic).starts_with(&**p)))
            }
            Pred::EndsWith(suffixes, ic) => {
                strs().any(|s| suffixes.iter().any(|p| text(ctx, s, *ic).ends_with(&**p)))
            }
            Pred::Matches(regexes, _) => strs().any(|s| {
                let text = text(ctx, s, false).as_bytes();
                regexes.iter().any(|(r, _)| r.is_match(text))
            }),
            Pred::Num(cmp, nums, lenient) => scalars.iter().any(|s| {
                let n = match s {
                    Scalar::Num(n) => *n,
                    Scalar::Str(s) if *lenient => {
                        let Some(n) = ctx.forms(s).js_num else {
                            return false;
                        };
                        n
                    }
                    Scalar::Str(s) => match ctx.forms(s).num {
                        Some(n) => n,
                        None => return false,
                    },
                    _ => return false,
                };
                nums.iter()
                    .any(|v| n.partial_cmp(v).is_some_and(|o| cmp.holds(o)))
            }),
            Pred::Semver(cmp, versions, false) => strs().any(|s| match ctx.version_of(s) {
                Some(v) => versions
                    .iter()
                    .any(|w| cmp.holds(semver::precedence(v, w.parts()))),
                None => false,
            }),
            Pred::Semver(cmp, versions, true) => scalars.iter().any(|s| {
                let text = match s {
                    Scalar::Str(s) => ctx.text_of(s),
                    // flagd reads a number as its text: 1 is 1.0.0, 1.2 is 1.2.0.
                    Scalar::Num(_) if scalars.len() == 1 => number_text,
                    _ => None,
                };
                text.and_then(super::lenient::flagd_version)
                    .is_some_and(|v| versions.iter().any(|w| cmp.holds(v.cmp_precedence(w))))
            }),
            Pred::Date(cmp, times) => scalars.iter().any(|s| {
                let t = match s {
                    Scalar::Str(s) => match ctx.forms(s).date {
                        Some(t) => t,
                        None => return false,
                    },
                    Scalar::Num(n) if n.fract() == 0.0 => *n as i64,
                    _ => return false,
                };
                times.iter().any(|v| cmp.holds(t.cmp(v)))
            }),
            Pred::Cidr(ranges) => strs().any(|s| match ctx.forms(s).ip {
                Some(ip) => ranges.iter().any(|r| r.contains(ip)),
                None => false,
            }),
        }
    }
}

/// Where clause compilation looks up names and records attribute use.
pub(crate) trait ClauseEnv {
    /// Interns an attribute path, recording which forms it needs.
    fn attr(&mut self, path: &str, needs: Needs) -> AttrId;
    /// Interns a literal of attribute `attr` (in its folded dictionary when `folded`).
    fn literal(&mut self, attr: AttrId, text: &str, folded: bool) -> u32;
    /// Resolves a segment name (documents name segments; payloads number them).
    #[cfg_attr(not(feature = "authoring"), allow(dead_code))]
    fn segment(&self, name: &str) -> Option<SegmentId>;
    /// The key of the flag whose clauses are being compiled (`None` in segments).
    #[cfg_attr(not(feature = "authoring"), allow(dead_code))]
    fn flag_key(&self) -> Option<&str>;
}

/// One value of an equality-style operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum EqValue<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
}

/// An operator's values, typed for its family.
#[derive(Debug, Clone)]
pub(crate) enum TestValues<'a> {
    /// `in`, `not_in`, `eq`, `neq`, `contains`.
    Scalars(Vec<EqValue<'a>>),
    /// `starts_with`, `ends_with`.
    Strings(Vec<&'a str>),
    /// `matches`: each pattern's source and its automaton.
    Patterns(Vec<(&'a str, Dfa)>),
    /// `lt`, `lte`, `gt`, `gte`.
    Numbers(Vec<f64>),
    /// The semver operators.
    Versions(Vec<Version>),
    /// `before`, `after` (epoch milliseconds).
    Times(Vec<i64>),
    /// `in_cidr`.
    Cidrs(Vec<Cidr>),
    /// `exists`.
    None,
}

impl TestValues<'_> {
    fn len(&self) -> usize {
        match self {
            TestValues::Scalars(v) => v.len(),
            TestValues::Strings(v) => v.len(),
            TestValues::Patterns(v) => v.len(),
            TestValues::Numbers(v) => v.len(),
            TestValues::Versions(v) => v.len(),
            TestValues::Times(v) => v.len(),
            TestValues::Cidrs(v) => v.len(),
            TestValues::None => 0,
        }
    }
}

/// Why an attribute test does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TestError {
    EmptyPath,
    NoValues,
    ValuesForExists,
    /// The values are not of the family the operator takes.
    WrongValues,
    IgnoreCaseNotString,
    /// `lenient` on an operator other than the numeric and semver ones.
    LenientNotNumeric,
    NowOperator,
    UnknownBuiltin,
    /// A pattern longer than [`MAX_REGEX_LEN`].
    RegexTooLong {
        len: usize,
    },
}

/// The family of values `op` takes.
pub(crate) enum Family {
    Scalars,
    Strings,
    Numbers,
    Versions,
    Times,
    Cidrs,
    None,
}

impl Op {
    /// The family of values the operator takes.
    pub(crate) fn family(self) -> Family {
        match self {
            Op::In | Op::NotIn | Op::Eq | Op::Neq | Op::Contains => Family::Scalars,
            Op::StartsWith | Op::EndsWith | Op::Matches => Family::Strings,
            Op::Lt | Op::Lte | Op::Gt | Op::Gte => Family::Numbers,
            Op::SemverLt | Op::SemverLte | Op::SemverEq | Op::SemverGte | Op::SemverGt => {
                Family::Versions
            }
            Op::Before | Op::After => Family::Times,
            Op::InCidr => Family::Cidrs,
            Op::Exists => Family::None,
        }
    }

    fn string_op(self) -> bool {
        matches!(self.family(), Family::Scalars | Family::Strings)
    }

    fn cmp(self) -> Cmp {
        match self {
            Op::Lt | Op::SemverLt | Op::Before => Cmp::Lt,
            Op::Lte | Op::SemverLte => Cmp::Lte,
            Op::Gt | Op::SemverGt | Op::After => Cmp::Gt,
            Op::Gte | Op::SemverGte => Cmp::Gte,
            _ => Cmp::Eq,
        }
    }
}

/// The checks of an attribute test that do not look at its values' types: the
/// path, built-ins, `ignore_case` placement and the number of values.
pub(crate) fn check_shape(
    attr: &str,
    op: Op,
    ignore_case: bool,
    lenient: bool,
    count: usize,
) -> Result<(), TestError> {
    if attr.is_empty() || attr.split('.').any(str::is_empty) {
        return Err(TestError::EmptyPath);
    }
    match (op, count) {
        (Op::Exists, 0) => {}
        (Op::Exists, _) => return Err(TestError::ValuesForExists),
        (_, 0) => return Err(TestError::NoValues),
        _ => {}
    }
    if ignore_case && !op.string_op() {
        return Err(TestError::IgnoreCaseNotString);
    }
    if lenient && !matches!(op.family(), Family::Numbers | Family::Versions) {
        return Err(TestError::LenientNotNumeric);
    }
    let is_now = attr == "$now";
    if is_now && !matches!(op, Op::Before | Op::After) {
        return Err(TestError::NowOperator);
    }
    if attr.starts_with('$') && !is_now {
        return Err(TestError::UnknownBuiltin);
    }
    Ok(())
}

/// The non-string part of an equality operator's values; its strings go to
/// `literals` for interning once the attribute has an id.
fn value_set<'v>(
    values: &[EqValue<'v>],
    ignore_case: bool,
    literals: &mut Vec<&'v str>,
) -> ValueSet {
    let mut nums = Vec::new();
    let (mut has_true, mut has_false) = (false, false);
    for v in values {
        match *v {
            EqValue::Str(s) => literals.push(s),
            EqValue::Num(n) => nums.push(n),
            EqValue::Bool(true) => has_true = true,
            EqValue::Bool(false) => has_false = true,
        }
    }
    ValueSet {
        strs: IdSet::default(),
        nums: nums.into_boxed_slice(),
        has_true,
        has_false,
        ignore_case,
    }
}

/// Compiles an attribute test of `attr` (a dotted path or `$now`). The strings of a
/// case-insensitive test come lower-cased (the JSON compiler folds them; a payload
/// stores them folded), except a regex's patterns, which fold case themselves: the
/// engine never lower-cases text itself, so the wasm module has no Unicode case tables.
pub(crate) fn build_test(
    attr: &str,
    op: Op,
    ignore_case: bool,
    lenient: bool,
    values: TestValues<'_>,
    env: &mut dyn ClauseEnv,
) -> Result<Test, TestError> {
    check_shape(attr, op, ignore_case, lenient, values.len())?;
    let is_now = attr == "$now";
    let mut needs = Needs {
        lower: ignore_case && op != Op::Matches,
        ..Needs::default()
    };
    // Interning needs the attribute's id; the id needs the attribute's needs.
    let mut pending_literals: Vec<&str> = Vec::new();
    let pred = match (op.family(), values) {
        (Family::Scalars, TestValues::Scalars(values)) => {
            let members = value_set(&values, ignore_case, &mut pending_literals);
            needs.number |= !members.nums.is_empty();
            if op == Op::Contains {
                needs.text = true;
                let strs = values
                    .iter()
                    .filter_map(|v| match v {
                        EqValue::Str(s) => Some(Needle::new(s)),
                        _ => None,
                    })
                    .collect();
                Pred::Contains { strs, members }
            } else {
                Pred::Equals(members)
            }
        }
        (Family::Strings, TestValues::Patterns(patterns)) if op == Op::Matches => {
            needs.text = true;
            let mut compiled = Vec::with_capacity(patterns.len());
            for (pattern, dfa) in patterns {
                if pattern.len() > MAX_REGEX_LEN {
                    return Err(TestError::RegexTooLong { len: pattern.len() });
                }
                compiled.push((dfa, pattern.into()));
            }
            Pred::Matches(compiled.into_boxed_slice(), ignore_case)
        }
        (Family::Strings, TestValues::Strings(values)) if op != Op::Matches => {
            needs.text = true;
            let strs: Box<[Box<str>]> = values.iter().map(|&s| s.into()).collect();
            if op == Op::StartsWith {
                Pred::StartsWith(strs, ignore_case)
            } else {
                Pred::EndsWith(strs, ignore_case)
            }
        }
        (Family::Numbers, TestValues::Numbers(values)) => {
            // Lenient numbers are read as JavaScript's `Number(text)` when filled.
            needs.number = !lenient;
            needs.js_number = lenient;
            Pred::Num(op.cmp(), values.into_boxed_slice(), lenient)
        }
        (Family::Versions, TestValues::Versions(values)) => {
            needs.semver = !lenient;
            needs.text = lenient;
            Pred::Semver(op.cmp(), values.into_boxed_slice(), lenient)
        }
        (Family::Times, TestValues::Times(values)) => {
            needs.date = true;
            Pred::Date(op.cmp(), values.into_boxed_slice())
        }
        (Family::Cidrs, TestValues::Cidrs(values)) => {
            needs.ip = true;
            Pred::Cidr(values.into_boxed_slice())
        }
        (Family::None, TestValues::None) => Pred::Exists,
        _ => return Err(TestError::WrongValues),
    };
    let attr = if is_now {
        AttrRef::Now
    } else {
        AttrRef::Ctx(env.attr(attr, needs))
    };
    let mut pred = pred;
    if let (AttrRef::Ctx(id), Pred::Equals(set) | Pred::Contains { members: set, .. }) =
        (attr, &mut pred)
    {
        let ids = pending_literals
            .iter()
            .map(|s| env.literal(id, s, ignore_case))
            .collect();
        set.strs = IdSet::new(ids);
    }
    Ok(Test { attr, op, pred })
}

/// Attribute ids a compiled clause tests directly (segments it names are not
/// followed: see [`segment_refs`]).
pub(crate) fn attr_refs(cond: &Cond, out: &mut Vec<AttrId>) {
    match cond {
        Cond::All(items) | Cond::Any(items) => items.iter().for_each(|c| attr_refs(c, out)),
        Cond::Not(inner) => attr_refs(inner, out),
        Cond::Segment(_) => {}
        Cond::Test(Test {
            attr: AttrRef::Ctx(id),
            ..
        }) => out.push(*id),
        Cond::Test(_) => {}
        Cond::Bucket(b) => out.extend_from_slice(b.units()),
    }
}

/// Segment ids a compiled clause refers to directly.
pub(crate) fn segment_refs(cond: &Cond, out: &mut Vec<SegmentId>) {
    match cond {
        Cond::All(items) | Cond::Any(items) => items.iter().for_each(|c| segment_refs(c, out)),
        Cond::Not(inner) => segment_refs(inner, out),
        Cond::Segment(id) => out.push(*id),
        Cond::Test(_) | Cond::Bucket(_) => {}
    }
}
