//! Writing a compiled [`Snapshot`] as a payload, version 3 (the origin and the CLI).

use super::{
    cond_tag, number_of, scalar_tag, serve_tag, test_bits, AUDITS, BUCKETINGS, MAGIC, OPS,
    VALUE_TYPES,
};
use crate::engine::clause::{AttrRef, Cond, Pred, Test, ValueSet};
use crate::engine::compiled::{Serve, Snapshot};
use crate::engine::context::AttrSpec;
use crate::engine::dfa::Dfa;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }

    fn uv(&mut self, mut n: u64) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }

    fn sv(&mut self, n: i64) {
        self.uv(((n << 1) ^ (n >> 63)) as u64);
    }

    fn f64(&mut self, n: f64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.uv(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// A pattern's automaton, as `Reader::dfa` reads it.
    fn dfa(&mut self, dfa: &Dfa) {
        self.uv(dfa.flags().len() as u64);
        self.uv(dfa.classes() as u64);
        self.uv(dfa.start() as u64);
        self.0.extend_from_slice(dfa.class_of());
        for &next in dfa.next() {
            self.uv(u64::from(next));
        }
        self.0.extend_from_slice(dfa.flags());
    }

    fn option_uv(&mut self, n: Option<u32>) {
        match n {
            Some(n) => {
                self.u8(1);
                self.uv(u64::from(n));
            }
            None => self.u8(0),
        }
    }

    fn option_sv(&mut self, n: Option<i64>) {
        match n {
            Some(n) => {
                self.u8(1);
                self.sv(n);
            }
            None => self.u8(0),
        }
    }

    fn cond(&mut self, cond: &Cond, attrs: &[AttrSpec]) {
        match cond {
            Cond::All(items) | Cond::Any(items) => {
                self.u8(if matches!(cond, Cond::All(_)) {
                    cond_tag::ALL
                } else {
                    cond_tag::ANY
                });
                self.uv(items.len() as u64);
                for c in items.iter() {
                    self.cond(c, attrs);
                }
            }
            Cond::Not(inner) => {
                self.u8(cond_tag::NOT);
                self.cond(inner, attrs);
            }
            Cond::Segment(id) => {
                self.u8(cond_tag::SEGMENT);
                self.uv(u64::from(*id));
            }
            Cond::Test(test) => {
                self.u8(cond_tag::TEST);
                self.test(test, attrs);
            }
            Cond::Bucket(b) => {
                self.u8(cond_tag::BUCKET);
                self.u8(number_of(&BUCKETINGS, &b.bucketing));
                self.bytes(b.prefix.bytes());
                self.uv(b.units.len() as u64);
                for &u in b.units.iter() {
                    self.uv(u64::from(u));
                }
                self.option_uv(b.total);
                self.uv(u64::from(b.from));
                self.uv(u64::from(b.to));
            }
        }
    }

    /// The strings, numbers and booleans of an equality set, strings by their text.
    fn scalars(&mut self, set: &ValueSet, spec: Option<&AttrSpec>) {
        let names: &[std::sync::Arc<str>] = match spec {
            Some(s) if set.ignore_case => s.folded.names(),
            Some(s) => s.literals.names(),
            None => &[],
        };
        let strs: Vec<&str> = set
            .strs
            .ids()
            .iter()
            .filter_map(|&id| names.get(id as usize).map(|s| &**s))
            .collect();
        let count =
            strs.len() + set.nums.len() + usize::from(set.has_true) + usize::from(set.has_false);
        self.uv(count as u64);
        for s in strs {
            self.u8(scalar_tag::STRING);
            self.str(s);
        }
        for &n in set.nums.iter() {
            self.u8(scalar_tag::NUMBER);
            self.f64(n);
        }
        if set.has_false {
            self.u8(scalar_tag::FALSE);
        }
        if set.has_true {
            self.u8(scalar_tag::TRUE);
        }
    }

    fn test(&mut self, test: &Test, attrs: &[AttrSpec]) {
        let spec = match test.attr {
            AttrRef::Now => {
                self.uv(0);
                None
            }
            AttrRef::Ctx(id) => {
                self.uv(u64::from(id) + 1);
                attrs.get(id as usize)
            }
        };
        self.u8(number_of(&OPS, &test.op));
        let (ignore_case, strings): (bool, Option<&[Box<str>]>) = match &test.pred {
            Pred::Equals(set) | Pred::Contains { members: set, .. } => (set.ignore_case, None),
            Pred::StartsWith(s, ic) | Pred::EndsWith(s, ic) => (*ic, Some(s)),
            Pred::Matches(_, ic) => (*ic, None),
            _ => (false, None),
        };
        let lenient = matches!(test.pred, Pred::Num(_, _, true) | Pred::Semver(_, _, true));
        self.u8(if ignore_case {
            test_bits::IGNORE_CASE
        } else {
            0
        } | if lenient { test_bits::LENIENT } else { 0 });
        match &test.pred {
            Pred::Equals(set) | Pred::Contains { members: set, .. } => self.scalars(set, spec),
            Pred::StartsWith(..) | Pred::EndsWith(..) => {
                let strings = strings.unwrap_or(&[]);
                self.uv(strings.len() as u64);
                for s in strings {
                    self.str(s);
                }
            }
            Pred::Matches(regexes, _) => {
                self.uv(regexes.len() as u64);
                for (dfa, source) in regexes.iter() {
                    self.str(source);
                    self.dfa(dfa);
                }
            }
            Pred::Num(_, nums, _) => {
                self.uv(nums.len() as u64);
                for &n in nums.iter() {
                    self.f64(n);
                }
            }
            Pred::Semver(_, versions, _) => {
                self.uv(versions.len() as u64);
                for v in versions.iter() {
                    self.str(&v.canonical());
                }
            }
            Pred::Date(_, times) => {
                self.uv(times.len() as u64);
                for &t in times.iter() {
                    self.sv(t);
                }
            }
            Pred::Cidr(ranges) => {
                self.uv(ranges.len() as u64);
                for r in ranges.iter() {
                    let (network, bits) = r.parts();
                    self.0.extend_from_slice(&network.to_be_bytes());
                    self.u8(bits as u8);
                }
            }
            Pred::Exists => {}
        }
    }

    fn serve(&mut self, serve: &Serve) {
        match serve {
            Serve::Fixed(v) => {
                self.u8(serve_tag::FIXED);
                self.uv(u64::from(*v));
            }
            Serve::Rollout(r) => {
                self.u8(serve_tag::ROLLOUT);
                self.u8(number_of(&BUCKETINGS, &r.bucketing));
                self.bytes(r.prefix.bytes());
                self.uv(r.units.len() as u64);
                for &u in r.units.iter() {
                    self.uv(u64::from(u));
                }
                self.uv(r.cuts.len() as u64);
                for &(upper, v) in r.cuts.iter() {
                    self.uv(u64::from(upper));
                    self.uv(u64::from(v));
                }
                self.u8(u8::from(r.falls_through));
                self.option_uv(r.total);
            }
            Serve::CallerDefault => self.u8(serve_tag::CALLER_DEFAULT),
        }
    }
}

impl Snapshot {
    /// Writes this snapshot as a format-2 payload for `environment` and `version`
    /// (the snapshot's own facts, when present, are replaced by these).
    pub fn encode(&self, environment: &str, version: u64) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(256 + self.flags.len() * 128));
        w.0.extend_from_slice(&MAGIC);
        w.str(environment);
        w.uv(version);
        w.option_sv(self.meta.issued_at_ms);
        w.option_sv(self.meta.expires_at_ms);
        w.uv(self.attrs.len() as u64);
        for a in self.attrs.iter() {
            w.str(&a.path);
        }
        w.uv(self.segments.len() as u64);
        for (name, cond) in self.segment_names.iter().zip(self.segments.iter()) {
            w.str(name);
            w.cond(cond, &self.attrs);
        }
        w.uv(self.exclusion_groups.len() as u64);
        for g in self.exclusion_groups.iter() {
            w.str(&g.name);
            w.str(&g.salt);
        }
        w.uv(self.flags.len() as u64);
        for f in self.flags.iter() {
            w.str(&f.key);
            w.u8(number_of(&VALUE_TYPES, &f.value_type));
            w.uv(f.variants.len() as u64);
            for v in f.variants.iter() {
                w.str(&v.name);
                w.str(&v.value);
            }
            w.uv(f.off_variant.map_or(0, |v| u64::from(v) + 1));
            w.u8(u8::from(f.enabled) | number_of(&AUDITS, &f.audit_evaluations) << 1);
            w.uv(f.private_attributes.len() as u64);
            for p in f.private_attributes.iter() {
                w.str(p);
            }
            w.str(&f.metadata);
            w.uv(f.prerequisites.len() as u64);
            for p in f.prerequisites.iter() {
                w.uv(u64::from(p.flag));
                w.uv(p.variants.len() as u64);
                for &v in p.variants.iter() {
                    w.uv(u64::from(v));
                }
            }
            match &f.exclusion {
                Some(e) => {
                    w.u8(1);
                    w.uv(u64::from(e.group));
                    w.uv(u64::from(e.start));
                    w.uv(u64::from(e.end));
                }
                None => w.u8(0),
            }
            match &f.access {
                Some(c) => {
                    w.u8(1);
                    w.cond(c, &self.attrs);
                }
                None => w.u8(0),
            }
            w.uv(f.rules.len() as u64);
            for r in f.rules.iter() {
                w.str(&r.id);
                w.cond(&r.when, &self.attrs);
                w.serve(&r.serve);
            }
            w.serve(&f.fallthrough);
        }
        w.0
    }
}
