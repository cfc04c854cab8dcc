//! Clauses compiled for evaluation, and their matching.
//!
//! Compilation checks every value against its operator once (a semver clause holds
//! parsed versions, a date clause epoch milliseconds, a regex clause a compiled
//! regex), resolves segment names to indices and attribute paths to table slots.

use super::context::{AttrId, AttrValue, Needs, ResolvedContext, Scalar, StrAttr};
use super::model::{Clause, Op};
use super::time::parse_rfc3339_ms;
use fnv::FnvHashSet;
use serde_json::Value;

/// Longest regex pattern accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 1024;
/// Deepest clause nesting accepted.
pub const MAX_CLAUSE_DEPTH: usize = 32;
/// Above this many strings an `in` list is matched through a hash set.
const HASH_SET_THRESHOLD: usize = 8;

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
    attr: AttrRef,
    pred: Pred,
    /// `not_in` and `neq` are the exact negation of `in` and `eq`.
    negate: bool,
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
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

#[derive(Debug, Clone)]
enum StrSet {
    Small(Box<[Box<str>]>),
    Hashed(FnvHashSet<Box<str>>),
}

impl StrSet {
    fn new(items: Vec<Box<str>>) -> Self {
        if items.len() > HASH_SET_THRESHOLD {
            StrSet::Hashed(items.into_iter().collect())
        } else {
            StrSet::Small(items.into_boxed_slice())
        }
    }

    #[inline]
    fn contains(&self, s: &str) -> bool {
        match self {
            StrSet::Small(items) => items.iter().any(|i| &**i == s),
            StrSet::Hashed(set) => set.contains(s),
        }
    }
}

/// The values of an equality-style clause, split by type: a value's type decides how
/// it compares.
#[derive(Debug, Clone)]
struct ValueSet {
    strs: StrSet,
    has_strs: bool,
    nums: Box<[f64]>,
    has_true: bool,
    has_false: bool,
    ignore_case: bool,
}

impl ValueSet {
    #[inline]
    fn matches(&self, scalar: &Scalar) -> bool {
        match scalar {
            Scalar::Str(s) => {
                (self.has_strs && self.strs.contains(text(s, self.ignore_case)))
                    || s.num.is_some_and(|n| self.nums.contains(&n))
            }
            Scalar::Num(n) => self.nums.contains(n),
            Scalar::Bool(true) => self.has_true,
            Scalar::Bool(false) => self.has_false,
            Scalar::Other => false,
        }
    }
}

#[inline]
fn text(s: &StrAttr, ignore_case: bool) -> &str {
    if ignore_case {
        s.lower.as_deref().unwrap_or(&s.raw)
    } else {
        &s.raw
    }
}

#[derive(Debug, Clone)]
enum Pred {
    Equals(ValueSet),
    /// Substring for a string attribute, membership for a list attribute.
    Contains {
        strs: Box<[Box<str>]>,
        members: ValueSet,
    },
    StartsWith(Box<[Box<str>]>, bool),
    EndsWith(Box<[Box<str>]>, bool),
    Matches(Box<[regex_lite::Regex]>),
    /// `true`: text is read as JavaScript's `Number()` reads it.
    Num(Cmp, Box<[f64]>, bool),
    /// `true`: versions are read as flagd reads them.
    Semver(Cmp, Box<[semver::Version]>, bool),
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
        let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
        Some(Cidr {
            network: u128::from(ip) & mask,
            mask,
        })
    }

    /// Whether the range holds `ip` (IPv4 addresses in their IPv4-mapped form).
    #[inline]
    pub fn contains(&self, ip: std::net::Ipv6Addr) -> bool {
        u128::from(ip) & self.mask == self.network
    }
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
    #[inline]
    fn matches(&self, ctx: &ResolvedContext, now_ms: i64) -> bool {
        let now_value;
        let value = match self.attr {
            AttrRef::Ctx(id) => ctx.value(id),
            AttrRef::Now => {
                now_value = AttrValue::One(Scalar::Num(now_ms as f64));
                &now_value
            }
        };
        self.pred.matches(value) != self.negate
    }
}

impl Pred {
    fn matches(&self, value: &AttrValue) -> bool {
        let scalars = value.scalars();
        match self {
            Pred::Exists => !matches!(value, AttrValue::Missing),
            Pred::Equals(set) => scalars.iter().any(|s| set.matches(s)),
            Pred::Contains { strs, members } => match value {
                AttrValue::One(Scalar::Str(s)) => {
                    let hay = text(s, members.ignore_case);
                    strs.iter().any(|needle| hay.contains(&**needle))
                }
                AttrValue::Many(items) => items.iter().any(|s| members.matches(s)),
                _ => false,
            },
            Pred::StartsWith(prefixes, ic) => scalars.iter().any(|s| match s {
                Scalar::Str(s) => prefixes.iter().any(|p| text(s, *ic).starts_with(&**p)),
                _ => false,
            }),
            Pred::EndsWith(suffixes, ic) => scalars.iter().any(|s| match s {
                Scalar::Str(s) => suffixes.iter().any(|p| text(s, *ic).ends_with(&**p)),
                _ => false,
            }),
            Pred::Matches(regexes) => scalars.iter().any(|s| match s {
                Scalar::Str(s) => regexes.iter().any(|r| r.is_match(&s.raw)),
                _ => false,
            }),
            Pred::Num(cmp, nums, lenient) => scalars.iter().any(|s| {
                let n = match s {
                    Scalar::Num(n) => *n,
                    Scalar::Str(s) if *lenient => match super::lenient::js_number(&s.raw) {
                        Some(n) => n,
                        None => return false,
                    },
                    Scalar::Str(StrAttr { num: Some(n), .. }) => *n,
                    _ => return false,
                };
                nums.iter()
                    .any(|v| n.partial_cmp(v).is_some_and(|o| cmp.holds(o)))
            }),
            Pred::Semver(cmp, versions, false) => scalars.iter().any(|s| match s {
                Scalar::Str(StrAttr {
                    semver: Some(v), ..
                }) => versions.iter().any(|w| cmp.holds(v.cmp_precedence(w))),
                _ => false,
            }),
            Pred::Semver(cmp, versions, true) => scalars.iter().any(|s| {
                let v = match s {
                    Scalar::Str(s) => super::lenient::flagd_version(&s.raw),
                    // flagd reads a number as its text: 1 is 1.0.0, 1.2 is 1.2.0.
                    Scalar::Num(n) => super::context::number_text(*n)
                        .and_then(|t| super::lenient::flagd_version(&t)),
                    _ => None,
                };
                v.is_some_and(|v| versions.iter().any(|w| cmp.holds(v.cmp_precedence(w))))
            }),
            Pred::Date(cmp, times) => scalars.iter().any(|s| {
                let t = match s {
                    Scalar::Str(StrAttr { date: Some(t), .. }) => *t,
                    Scalar::Num(n) if n.fract() == 0.0 => *n as i64,
                    _ => return false,
                };
                times.iter().any(|v| cmp.holds(t.cmp(v)))
            }),
            Pred::Cidr(ranges) => scalars.iter().any(|s| match s {
                Scalar::Str(StrAttr { ip: Some(ip), .. }) => ranges.iter().any(|r| r.contains(*ip)),
                _ => false,
            }),
        }
    }
}

/// Where clause compilation looks up names and records attribute use.
pub(crate) trait ClauseEnv {
    /// Interns an attribute path, recording which derived forms it needs.
    fn attr(&mut self, path: &str, needs: Needs) -> AttrId;
    /// Resolves a segment name.
    fn segment(&self, name: &str) -> Option<SegmentId>;
    /// The key of the flag whose clauses are being compiled (`None` in segments).
    fn flag_key(&self) -> Option<&str>;
}

fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

fn strings(values: &[Value], op: Op, ignore_case: bool) -> Result<Vec<Box<str>>, String> {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) if ignore_case => Ok(s.to_lowercase().into_boxed_str()),
            Value::String(s) => Ok(s.as_str().into()),
            other => Err(format!(
                "operator `{}` takes strings, got {}",
                op.name(),
                describe(other)
            )),
        })
        .collect()
}

fn value_set(values: &[Value], op: Op, ignore_case: bool) -> Result<ValueSet, String> {
    let mut strs = Vec::new();
    let mut nums = Vec::new();
    let (mut has_true, mut has_false) = (false, false);
    for v in values {
        match v {
            Value::String(s) if ignore_case => strs.push(s.to_lowercase().into_boxed_str()),
            Value::String(s) => strs.push(s.as_str().into()),
            Value::Number(n) => nums.push(n.as_f64().ok_or("number out of range")?),
            Value::Bool(true) => has_true = true,
            Value::Bool(false) => has_false = true,
            other => {
                return Err(format!(
                    "operator `{}` compares strings, numbers or booleans, got {}",
                    op.name(),
                    describe(other)
                ))
            }
        }
    }
    Ok(ValueSet {
        has_strs: !strs.is_empty(),
        strs: StrSet::new(strs),
        nums: nums.into_boxed_slice(),
        has_true,
        has_false,
        ignore_case,
    })
}

fn numbers(values: &[Value], op: Op) -> Result<Box<[f64]>, String> {
    values
        .iter()
        .map(|v| {
            v.as_f64().ok_or_else(|| {
                format!(
                    "operator `{}` takes numbers, got {}",
                    op.name(),
                    describe(v)
                )
            })
        })
        .collect()
}

fn versions(values: &[Value], op: Op, lenient: bool) -> Result<Box<[semver::Version]>, String> {
    if lenient {
        return values
            .iter()
            .map(|v| {
                let text = match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
                text.as_deref()
                    .and_then(super::lenient::flagd_version)
                    .ok_or_else(|| {
                        format!(
                            "operator `{}` (lenient) takes versions such as \"1.2.3\", \"v1.2\" or 1, got {}",
                            op.name(),
                            describe(v)
                        )
                    })
            })
            .collect();
    }
    values
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| semver::Version::parse(s).ok())
                .ok_or_else(|| {
                    format!(
                        "operator `{}` takes strict SemVer 2.0 versions such as \"1.2.3\", got {}",
                        op.name(),
                        describe(v)
                    )
                })
        })
        .collect()
}

fn times(values: &[Value], op: Op) -> Result<Box<[i64]>, String> {
    values
        .iter()
        .map(|v| {
            let t = match v {
                Value::String(s) => parse_rfc3339_ms(s),
                Value::Number(n) => n.as_i64(),
                _ => None,
            };
            t.ok_or_else(|| {
                format!(
                    "operator `{}` takes RFC 3339 times such as \"2027-01-31T00:00:00Z\" \
                     (or epoch milliseconds), got {}",
                    op.name(),
                    describe(v)
                )
            })
        })
        .collect()
}

fn cidrs(values: &[Value]) -> Result<Box<[Cidr]>, String> {
    values
        .iter()
        .map(|v| {
            v.as_str().and_then(Cidr::parse).ok_or_else(|| {
                format!(
                    "operator `in_cidr` takes IP addresses or CIDR ranges such as \"10.0.0.0/8\" \
                     or \"2001:db8::/32\", got {}",
                    describe(v)
                )
            })
        })
        .collect()
}

fn regexes(values: &[Value], ignore_case: bool) -> Result<Box<[regex_lite::Regex]>, String> {
    values
        .iter()
        .map(|v| {
            let pattern = v
                .as_str()
                .ok_or_else(|| format!("operator `matches` takes patterns, got {}", describe(v)))?;
            if pattern.len() > MAX_REGEX_LEN {
                return Err(format!(
                    "pattern is {} bytes long; the limit is {MAX_REGEX_LEN}",
                    pattern.len()
                ));
            }
            regex_lite::RegexBuilder::new(pattern)
                .case_insensitive(ignore_case)
                .build()
                .map_err(|e| format!("pattern {} does not compile: {e}", describe(v)))
        })
        .collect()
}

/// Compiles a clause. Errors are `(path, message)` pairs; `path` renders the clause's
/// location and is only called when there is an error to report.
pub(crate) fn compile(
    clause: &Clause,
    env: &mut dyn ClauseEnv,
    path: &dyn Fn() -> String,
    depth: usize,
    errors: &mut Vec<(String, String)>,
) -> Option<Cond> {
    if depth > MAX_CLAUSE_DEPTH {
        errors.push((
            path(),
            format!("clauses nest deeper than {MAX_CLAUSE_DEPTH} levels"),
        ));
        return None;
    }
    let forms = [
        clause.all.is_some(),
        clause.any.is_some(),
        clause.not.is_some(),
        clause.segment.is_some(),
        clause.attr.is_some() || clause.op.is_some() || clause.values.is_some(),
        clause.bucket.is_some(),
    ];
    let count = forms.iter().filter(|f| **f).count();
    if count != 1 {
        let msg = if count == 0 {
            "empty clause: use one of `all`, `any`, `not`, `segment`, `attr`/`op`/`values` or `bucket`"
        } else {
            "a clause must use exactly one of `all`, `any`, `not`, `segment`, `attr`/`op`/`values` or `bucket`"
        };
        errors.push((path(), msg.to_string()));
        return None;
    }
    if clause.ignore_case && clause.attr.is_none() {
        errors.push((
            path(),
            "`ignore_case` belongs on an attribute test".to_string(),
        ));
    }
    if clause.lenient && clause.attr.is_none() {
        errors.push((path(), "`lenient` belongs on an attribute test".to_string()));
    }
    let list = |items: &Vec<Clause>, name: &str, env: &mut dyn ClauseEnv, errors: &mut Vec<_>| {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, c) in items.iter().enumerate() {
            let child = || format!("{}.{name}[{i}]", path());
            match compile(c, env, &child, depth + 1, errors) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
        ok.then(|| out.into_boxed_slice())
    };
    if let Some(items) = &clause.all {
        return list(items, "all", env, errors).map(Cond::All);
    }
    if let Some(items) = &clause.any {
        return list(items, "any", env, errors).map(Cond::Any);
    }
    if let Some(inner) = &clause.not {
        return compile(inner, env, &|| format!("{}.not", path()), depth + 1, errors)
            .map(|c| Cond::Not(Box::new(c)));
    }
    if let Some(test) = &clause.bucket {
        return match super::bucket::compile(test, env) {
            Ok(b) => Some(Cond::Bucket(b)),
            Err(msg) => {
                errors.push((format!("{}.bucket", path()), msg));
                None
            }
        };
    }
    if let Some(name) = &clause.segment {
        return match env.segment(name) {
            Some(id) => Some(Cond::Segment(id)),
            None => {
                errors.push((path(), format!("unknown segment `{name}`")));
                None
            }
        };
    }
    match compile_test(clause, env) {
        Ok(test) => Some(Cond::Test(test)),
        Err(msg) => {
            errors.push((path(), msg));
            None
        }
    }
}

fn compile_test(clause: &Clause, env: &mut dyn ClauseEnv) -> Result<Test, String> {
    let attr = clause
        .attr
        .as_deref()
        .ok_or("attribute test without `attr`")?;
    if attr.is_empty() || attr.split('.').any(str::is_empty) {
        return Err(format!("attribute path `{attr}` has an empty segment"));
    }
    let op = clause.op.ok_or("attribute test without `op`")?;
    let values: &[Value] = clause.values.as_deref().unwrap_or(&[]);
    let ic = clause.ignore_case;
    if op == Op::Exists {
        if !values.is_empty() {
            return Err("operator `exists` takes no values".into());
        }
    } else if values.is_empty() {
        return Err(format!("operator `{}` needs at least one value", op.name()));
    }
    if ic
        && !matches!(
            op,
            Op::In
                | Op::NotIn
                | Op::Eq
                | Op::Neq
                | Op::Contains
                | Op::StartsWith
                | Op::EndsWith
                | Op::Matches
        )
    {
        return Err(format!(
            "`ignore_case` applies to string operators, not `{}`",
            op.name()
        ));
    }
    let lenient = clause.lenient;
    if lenient
        && !matches!(
            op,
            Op::Lt
                | Op::Lte
                | Op::Gt
                | Op::Gte
                | Op::SemverLt
                | Op::SemverLte
                | Op::SemverEq
                | Op::SemverGte
                | Op::SemverGt
        )
    {
        return Err(format!(
            "`lenient` applies to `lt`, `lte`, `gt`, `gte` and the semver operators, not `{}`",
            op.name()
        ));
    }
    let is_now = attr == "$now";
    if is_now && !matches!(op, Op::Before | Op::After) {
        return Err(format!(
            "`$now` (the evaluation time) works with `before` and `after`, not `{}`",
            op.name()
        ));
    }
    if attr.starts_with('$') && !is_now {
        return Err(format!(
            "unknown built-in attribute `{attr}` (the only one is `$now`)"
        ));
    }
    let mut needs = Needs {
        lower: ic,
        ..Needs::default()
    };
    let (pred, negate) = match op {
        Op::In | Op::Eq => (Pred::Equals(value_set(values, op, ic)?), false),
        Op::NotIn | Op::Neq => (Pred::Equals(value_set(values, op, ic)?), true),
        Op::Contains => {
            let members = value_set(values, op, ic)?;
            let strs = values
                .iter()
                .filter_map(|v| v.as_str())
                .map(|s| {
                    if ic {
                        s.to_lowercase().into()
                    } else {
                        s.into()
                    }
                })
                .collect();
            (Pred::Contains { strs, members }, false)
        }
        Op::StartsWith => (Pred::StartsWith(strings(values, op, ic)?.into(), ic), false),
        Op::EndsWith => (Pred::EndsWith(strings(values, op, ic)?.into(), ic), false),
        Op::Matches => {
            needs.lower = false;
            (Pred::Matches(regexes(values, ic)?), false)
        }
        Op::Lt => (Pred::Num(Cmp::Lt, numbers(values, op)?, lenient), false),
        Op::Lte => (Pred::Num(Cmp::Lte, numbers(values, op)?, lenient), false),
        Op::Gt => (Pred::Num(Cmp::Gt, numbers(values, op)?, lenient), false),
        Op::Gte => (Pred::Num(Cmp::Gte, numbers(values, op)?, lenient), false),
        Op::SemverLt | Op::SemverLte | Op::SemverEq | Op::SemverGte | Op::SemverGt => {
            // Lenient versions are read from the text at evaluation.
            needs.semver = !lenient;
            let cmp = match op {
                Op::SemverLt => Cmp::Lt,
                Op::SemverLte => Cmp::Lte,
                Op::SemverEq => Cmp::Eq,
                Op::SemverGte => Cmp::Gte,
                _ => Cmp::Gt,
            };
            (
                Pred::Semver(cmp, versions(values, op, lenient)?, lenient),
                false,
            )
        }
        Op::Before => {
            needs.date = true;
            (Pred::Date(Cmp::Lt, times(values, op)?), false)
        }
        Op::After => {
            needs.date = true;
            (Pred::Date(Cmp::Gt, times(values, op)?), false)
        }
        Op::InCidr => {
            needs.ip = true;
            (Pred::Cidr(cidrs(values)?), false)
        }
        Op::Exists => (Pred::Exists, false),
    };
    let attr = if is_now {
        AttrRef::Now
    } else {
        AttrRef::Ctx(env.attr(attr, needs))
    };
    Ok(Test { attr, pred, negate })
}

/// Attribute ids a compiled clause tests directly (segments it names are not
/// followed: see [`segment_refs`]).
pub(crate) fn attr_refs(cond: &Cond, out: &mut Vec<super::context::AttrId>) {
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
