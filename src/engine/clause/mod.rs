//! Clauses compiled for evaluation, and their matching.
//!
//! Compilation checks every value against its operator once (a semver clause holds
//! parsed versions, a date clause epoch milliseconds, a regex clause a compiled
//! regex), resolves segment names to indices, attribute paths to table slots and
//! equality literals to ids in the attribute's dictionary, so `in` compares integers.
//!
//! [`build_test`] is the one constructor of attribute tests: the flags-document
//! compiler and the binary snapshot decoder both hand it typed values.
//!
//! This file holds the compiled forms ([`Cond`], [`Pred`], ...) and the walks over
//! them; `build` checks and constructs attribute tests, `eval` matches clauses
//! against a resolved context, and `cidr` holds address ranges ([`Cidr`]).

use super::context::AttrId;
use super::dfa::Dfa;
use super::kinds::Op;
use super::search::Needle;
use super::semver::Version;

mod build;
mod cidr;
mod eval;

pub(crate) use build::{build_test, ClauseEnv, EqValue, Family, TestValues};
// The checks only the flags-document compiler reports by name.
#[cfg(feature = "authoring")]
pub(crate) use build::{check_shape, TestError};
pub use cidr::Cidr;

/// Longest regex pattern accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 1024;
/// Deepest clause nesting accepted.
pub const MAX_CLAUSE_DEPTH: usize = 32;

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

/// Literal ids of an attribute's dictionary, sorted.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdSet(Box<[u32]>);

impl IdSet {
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
