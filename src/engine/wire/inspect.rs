//! A decoded snapshot as a flags document (JSON): what `vexil snapshot inspect`
//! prints. The document compiles back to a snapshot that evaluates the same.

use crate::engine::clause::{AttrRef, Cidr, Cond, Pred, Test, ValueSet};
use crate::engine::compiled::{Flag, Serve, Snapshot};
use crate::engine::context::AttrSpec;
use crate::engine::kinds::{AuditEvaluations, Bucketing};
use crate::engine::time::format_rfc3339_ms;
use serde_json::{json, Map, Value};

fn scalars(set: &ValueSet, spec: Option<&AttrSpec>) -> Vec<Value> {
    let names: &[std::sync::Arc<str>] = match spec {
        Some(s) if set.ignore_case => s.folded.names(),
        Some(s) => s.literals.names(),
        None => &[],
    };
    let mut out: Vec<Value> = set
        .strs
        .ids()
        .iter()
        .filter_map(|&id| names.get(id as usize).map(|s| json!(&**s)))
        .collect();
    out.extend(set.nums.iter().map(|n| json!(n)));
    if set.has_true {
        out.push(json!(true));
    }
    if set.has_false {
        out.push(json!(false));
    }
    out
}

fn cidr_text(c: &Cidr) -> String {
    let (network, bits) = c.parts();
    let ip = std::net::Ipv6Addr::from(network);
    match ip.to_ipv4_mapped() {
        Some(v4) if bits >= 96 => format!("{v4}/{}", bits - 96),
        _ => format!("{ip}/{bits}"),
    }
}

fn test(t: &Test, attrs: &[AttrSpec]) -> Value {
    let (attr, spec) = match t.attr {
        AttrRef::Now => ("$now".to_string(), None),
        AttrRef::Ctx(id) => (
            attrs
                .get(id as usize)
                .map_or_else(String::new, |a| a.path.to_string()),
            attrs.get(id as usize),
        ),
    };
    let lenient = matches!(t.pred, Pred::Num(_, _, true) | Pred::Semver(_, _, true));
    let (values, ignore_case): (Vec<Value>, bool) = match &t.pred {
        Pred::Equals(set) | Pred::Contains { members: set, .. } => {
            (scalars(set, spec), set.ignore_case)
        }
        Pred::StartsWith(s, ic) | Pred::EndsWith(s, ic) => {
            (s.iter().map(|s| json!(&**s)).collect(), *ic)
        }
        Pred::Matches(r, ic) => (r.iter().map(|(_, src)| json!(&**src)).collect(), *ic),
        Pred::Num(_, n, _) => (n.iter().map(|n| json!(n)).collect(), false),
        Pred::Semver(_, v, _) => (v.iter().map(|v| json!(v.canonical())).collect(), false),
        Pred::Date(_, t) => (
            t.iter().map(|t| json!(format_rfc3339_ms(*t))).collect(),
            false,
        ),
        Pred::Cidr(c) => (c.iter().map(|c| json!(cidr_text(c))).collect(), false),
        Pred::Exists => (Vec::new(), false),
    };
    let mut out = Map::new();
    out.insert("attr".into(), json!(attr));
    out.insert("op".into(), json!(t.op.name()));
    if !values.is_empty() {
        out.insert("values".into(), Value::Array(values));
    }
    if ignore_case {
        out.insert("ignore_case".into(), json!(true));
    }
    if lenient {
        out.insert("lenient".into(), json!(true));
    }
    Value::Object(out)
}

fn clause(c: &Cond, snap: &Snapshot) -> Value {
    let list = |items: &[Cond]| Value::Array(items.iter().map(|c| clause(c, snap)).collect());
    match c {
        Cond::All(items) => json!({ "all": list(items) }),
        Cond::Any(items) => json!({ "any": list(items) }),
        Cond::Not(inner) => json!({ "not": clause(inner, snap) }),
        Cond::Segment(id) => json!({
            "segment": snap.segment_names.get(*id as usize).map(|s| &**s).unwrap_or("")
        }),
        Cond::Test(t) => test(t, &snap.attrs),
        Cond::Bucket(b) => {
            let mut out = Map::new();
            out.insert("by".into(), by(&b.units, snap));
            out.insert("salt".into(), json!(salt(b.prefix.bytes(), b.bucketing)));
            out.insert("bucketing".into(), json!(bucketing_name(b.bucketing)));
            out.insert("range".into(), json!([percent(b.from), percent(b.to)]));
            if let Some(t) = b.total {
                out.insert("total".into(), json!(t));
            }
            json!({ "bucket": out })
        }
    }
}

fn bucketing_name(b: Bucketing) -> &'static str {
    match b {
        Bucketing::Vexil => "vexil",
        Bucketing::Unleash => "unleash",
        Bucketing::UnleashVariants => "unleash_variants",
        Bucketing::Flagd => "flagd",
    }
}

/// A share of the bucket space (thousandths of a percent) as a percentage.
fn percent(share: u32) -> Value {
    if share % 1000 == 0 {
        json!(share / 1000)
    } else {
        json!(f64::from(share) / 1000.0)
    }
}

/// The unit attributes as written: one path, or the list.
fn by(units: &[u32], snap: &Snapshot) -> Value {
    let by: Vec<&str> = units
        .iter()
        .filter_map(|&u| snap.attrs.get(u as usize).map(|a| &*a.path))
        .collect();
    if by.len() == 1 {
        json!(by[0])
    } else {
        json!(by)
    }
}

/// The salt a hash prefix was made from.
fn salt(prefix: &[u8], bucketing: Bucketing) -> String {
    let text = String::from_utf8_lossy(prefix);
    let trailer = match bucketing {
        Bucketing::Vexil => Some('.'),
        Bucketing::Unleash | Bucketing::UnleashVariants => Some(':'),
        Bucketing::Flagd => None,
    };
    match trailer {
        Some(t) => text.strip_suffix(t).unwrap_or(&text).to_string(),
        None => text.to_string(),
    }
}

fn serve(s: &Serve, flag: &Flag, snap: &Snapshot) -> Value {
    match s {
        Serve::Fixed(v) => json!({ "variant": &*flag.variants[usize::from(*v)].name }),
        Serve::CallerDefault => json!({ "caller_default": true }),
        Serve::Rollout(r) => {
            let mut weights = Map::new();
            let mut previous = 0;
            for &(upper, v) in r.cuts.iter() {
                let name = flag.variants[usize::from(v)].name.to_string();
                weights.insert(name, percent(upper - previous));
                previous = upper;
            }
            let mut out = Map::new();
            out.insert("by".into(), by(&r.units, snap));
            out.insert("salt".into(), json!(salt(r.prefix.bytes(), r.bucketing)));
            out.insert("weights".into(), Value::Object(weights));
            out.insert("bucketing".into(), json!(bucketing_name(r.bucketing)));
            if r.falls_through {
                out.insert("missing_unit".into(), json!("fallthrough"));
            }
            if let Some(t) = r.total {
                out.insert("total".into(), json!(t));
            }
            json!({ "rollout": out })
        }
    }
}

fn flag(f: &Flag, snap: &Snapshot) -> Value {
    let mut out = Map::new();
    out.insert("key".into(), json!(&*f.key));
    out.insert("enabled".into(), json!(f.enabled));
    let variants: Map<String, Value> = f
        .variants
        .iter()
        .map(|v| {
            let value = serde_json::from_str(&v.value).unwrap_or(Value::Null);
            (v.name.to_string(), value)
        })
        .collect();
    out.insert("variants".into(), Value::Object(variants));
    if let Some(off) = f.off_variant {
        out.insert(
            "off_variant".into(),
            json!(&*f.variants[usize::from(off)].name),
        );
    }
    if !f.prerequisites.is_empty() {
        let list: Vec<Value> = f
            .prerequisites
            .iter()
            .map(|p| {
                let target = &snap.flags[p.flag as usize];
                let names: Vec<&str> = p
                    .variants
                    .iter()
                    .map(|&v| &*target.variants[usize::from(v)].name)
                    .collect();
                json!({ "flag": &*target.key, "variants": names })
            })
            .collect();
        out.insert("prerequisites".into(), Value::Array(list));
    }
    if let Some(e) = &f.exclusion {
        let group = &snap.exclusion_groups[e.group as usize];
        out.insert(
            "exclusion".into(),
            json!({ "group": &*group.name, "range": [e.start, e.end] }),
        );
    }
    if let Some(a) = &f.access {
        out.insert("access".into(), clause(a, snap));
    }
    if !f.rules.is_empty() {
        let rules: Vec<Value> = f
            .rules
            .iter()
            .map(|r| json!({ "id": &*r.id, "when": clause(&r.when, snap), "serve": serve(&r.serve, f, snap) }))
            .collect();
        out.insert("rules".into(), Value::Array(rules));
    }
    out.insert("fallthrough".into(), serve(&f.fallthrough, f, snap));
    let audit = match f.audit_evaluations {
        AuditEvaluations::None => "none",
        AuditEvaluations::Denied => "denied",
        AuditEvaluations::All => "all",
    };
    out.insert("audit_evaluations".into(), json!(audit));
    if !f.private_attributes.is_empty() {
        let list: Vec<&str> = f.private_attributes.iter().map(|s| &**s).collect();
        out.insert("private_attributes".into(), json!(list));
    }
    let metadata: Value = serde_json::from_str(&f.metadata).unwrap_or_else(|_| json!({}));
    if metadata.as_object().is_some_and(|m| !m.is_empty()) {
        out.insert("metadata".into(), metadata);
    }
    Value::Object(out)
}

impl Snapshot {
    /// The snapshot as a flags document, with the payload's environment, version and
    /// times: readable, and compiling back to the same evaluations.
    pub fn to_document(&self) -> Value {
        let mut out = Map::new();
        if let Some(env) = &self.meta.environment {
            out.insert("environment".into(), json!(env));
        }
        if let Some(v) = self.meta.version {
            out.insert("version".into(), json!(v));
        }
        if let Some(t) = self.meta.issued_at_ms {
            out.insert("issued_at".into(), json!(format_rfc3339_ms(t)));
        }
        if let Some(t) = self.meta.expires_at_ms {
            out.insert("expires_at".into(), json!(format_rfc3339_ms(t)));
        }
        out.insert(
            "flags".into(),
            Value::Array(self.flags.iter().map(|f| flag(f, self)).collect()),
        );
        let segments: Map<String, Value> = self
            .segment_names
            .iter()
            .zip(self.segments.iter())
            .map(|(n, c)| (n.to_string(), clause(c, self)))
            .collect();
        out.insert("segments".into(), Value::Object(segments));
        let groups: Map<String, Value> = self
            .exclusion_groups
            .iter()
            .map(|g| (g.name.to_string(), json!({ "salt": &*g.salt })))
            .collect();
        out.insert("exclusion_groups".into(), Value::Object(groups));
        Value::Object(out)
    }
}
