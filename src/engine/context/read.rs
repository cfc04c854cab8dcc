//! What evaluation reads back from a resolved context (values, units, a string's
//! text and forms), and comparing two contexts however each was built.

use super::{
    AttrId, AttrValue, Forms, ResolvedContext, Scalar, Span, StrAttr, NO_FORMS_OF, TARGETING_KEY,
};
use std::net::Ipv6Addr;

impl ResolvedContext {
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
        let span = self.attrs.get(id as usize)?.unit;
        (span.len > 0).then(|| self.span(span))
    }

    /// The targeting key, if the context has a usable one.
    #[inline]
    pub fn targeting_key(&self) -> Option<&str> {
        self.unit(TARGETING_KEY)
    }

    #[inline]
    pub(crate) fn value(&self, id: AttrId) -> AttrValue {
        self.attrs
            .get(id as usize)
            .map_or(AttrValue::Missing, |a| a.value)
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
        let value = &self.attrs.get(id)?.value;
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
        self.attrs.len() == other.attrs.len()
            && (0..self.attrs.len()).all(|i| {
                self.canonical(i) == other.canonical(i)
                    && self.unit(i as AttrId) == other.unit(i as AttrId)
            })
    }
}
