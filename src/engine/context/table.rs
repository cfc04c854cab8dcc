//! The attribute table: for each attribute path a snapshot reads, what its operators
//! need of its values ([`Needs`]) and the literals they compare it with
//! ([`Literals`]), gathered when the snapshot is compiled or decoded.

use super::NO_LITERAL;
use fnv::FnvHashMap;
use std::sync::Arc;

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
    ids: FnvHashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Literals {
    /// The id of `text`, added if new.
    pub fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.names.len() as u32;
        let text: Arc<str> = text.into();
        self.names.push(text.clone());
        self.ids.insert(text, id);
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
    pub fn names(&self) -> &[Arc<str>] {
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
            segments: crate::engine::split::fields(path, b'.')
                .map(Into::into)
                .collect(),
            needs: Needs::default(),
            literals: Literals::default(),
            folded: Literals::default(),
        }
    }
}
