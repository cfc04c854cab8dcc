//! Filling a context value by value: each string is looked up once in its
//! attribute's literals and stored with only the forms its operators read.

#[cfg(feature = "authoring")]
use super::finite_number;
use super::{
    number_text, parse_ip, Attr, AttrId, AttrSpec, AttrValue, Forms, HostValue, Literals,
    ResolvedContext, Scalar, Span, StrAttr, VersionRef, MISSING, NO_FORMS, NO_LITERAL, NO_UNIT,
};
use crate::engine::semver;
use crate::engine::time::parse_rfc3339_ms;

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
        self.attrs.clear();
        self.attrs.resize(table.len(), MISSING);
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
        if id as usize >= self.attrs.len() {
            return;
        }
        let scalar = self.scalar(spec, value);
        // Units, and the text of numbers where operators read text (lenient semver).
        let unit = if spec.needs.unit || spec.needs.text {
            self.unit_span(&scalar, value).unwrap_or(NO_UNIT)
        } else {
            NO_UNIT
        };
        self.attrs[id as usize] = Attr {
            value: AttrValue::One(scalar),
            unit,
        };
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
        if id as usize >= self.attrs.len() {
            return;
        }
        let start = self.items.len() as u32;
        for item in items {
            let scalar = self.scalar(spec, item);
            self.items.push(scalar);
        }
        self.attrs[id as usize] = Attr {
            value: AttrValue::Many {
                start,
                len: self.items.len() as u32 - start,
            },
            unit: NO_UNIT,
        };
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
                    .then(|| crate::engine::lenient::js_number(text))
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
}
