//! Checking and constructing attribute tests: each operator's values typed for its
//! family, its literals interned in the attribute's dictionaries, and the forms the
//! attribute's values must be kept in recorded ([`ClauseEnv`]).

use super::{AttrRef, Cidr, Cmp, IdSet, Pred, SegmentId, Test, ValueSet, MAX_REGEX_LEN};
use crate::engine::context::{AttrId, Needs};
use crate::engine::dfa::Dfa;
use crate::engine::kinds::Op;
use crate::engine::search::Needle;
use crate::engine::semver::Version;

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
    if attr.is_empty() || crate::engine::split::fields(attr, b'.').any(str::is_empty) {
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

impl IdSet {
    /// A set of the ids given, sorted and without repeats.
    fn new(mut ids: Vec<u32>) -> IdSet {
        crate::engine::sort::sort_dedup(&mut ids);
        IdSet(ids.into_boxed_slice())
    }
}
