//! Matching compiled clauses against a resolved context: what evaluation runs for
//! every rule, segment and access clause. Comparisons only; every value was parsed
//! when the clause was compiled and when the context was filled.

use super::{AttrRef, Cmp, Cond, IdSet, Pred, Test, ValueSet};
use crate::engine::context::{AttrValue, ResolvedContext, Scalar, StrAttr, NO_LITERAL};
use crate::engine::kinds::Op;
use crate::engine::semver;

/// Above this many literal ids a set is searched by bisection.
const BISECT_THRESHOLD: usize = 8;

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

impl IdSet {
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
                text.and_then(crate::engine::lenient::flagd_version)
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
