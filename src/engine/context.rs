//! Evaluation contexts, resolved once against a snapshot's attribute table.
//!
//! A snapshot knows at load every attribute path its clauses and rollouts read.
//! [`ResolvedContext`] looks each one up in the caller's context a single time and
//! pre-computes the forms the operators need (numeric value of a numeric string,
//! lower-cased text, parsed date or semver), so evaluation is index lookups and
//! comparisons.

use super::time::parse_rfc3339_ms;
use serde_json::{Map, Value};

/// Index of an attribute in a snapshot's attribute table.
pub type AttrId = u32;

/// The attribute id of `targetingKey`, always present in every table.
pub const TARGETING_KEY: AttrId = 0;

/// Which derived forms of an attribute some operator needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// A case-insensitive string operator reads it.
    pub lower: bool,
    /// A date operator reads it.
    pub date: bool,
    /// A semver operator reads it.
    pub semver: bool,
    /// An `in_cidr` operator reads it.
    pub ip: bool,
    /// A rollout or exclusion hashes it as a unit.
    pub unit: bool,
}

/// Another reader's needs add to an attribute's: every form either needs is computed.
impl std::ops::BitOrAssign for Needs {
    fn bitor_assign(&mut self, other: Needs) {
        let Needs {
            lower,
            date,
            semver,
            unit,
            ip,
        } = other;
        self.lower |= lower;
        self.date |= date;
        self.semver |= semver;
        self.unit |= unit;
        self.ip |= ip;
    }
}

/// One attribute path the snapshot reads.
#[derive(Debug, Clone)]
pub struct AttrSpec {
    /// The path as written (`user.account_tier`).
    pub path: Box<str>,
    /// Its segments (`["user", "account_tier"]`).
    pub segments: Box<[Box<str>]>,
    /// Derived forms to pre-compute.
    pub needs: Needs,
}

/// A string attribute with the derived forms operators use.
#[derive(Debug, Clone, PartialEq)]
pub struct StrAttr {
    /// The text.
    pub raw: Box<str>,
    /// Its value if it is a finite number (`"12"`, `"12.0"`).
    pub num: Option<f64>,
    /// Lower-cased text, when a case-insensitive operator reads it.
    pub lower: Option<Box<str>>,
    /// Milliseconds since the epoch, when it is an RFC 3339 time a date operator reads.
    pub date: Option<i64>,
    /// Parsed strict SemVer 2.0 version, when a semver operator reads it.
    pub semver: Option<Box<super::semver::Version>>,
    /// The IP address it spells, IPv4 as IPv4-mapped IPv6, when `in_cidr` reads it.
    pub ip: Option<std::net::Ipv6Addr>,
}

/// One scalar value of an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// JSON boolean.
    Bool(bool),
    /// JSON number.
    Num(f64),
    /// JSON string.
    Str(StrAttr),
    /// `null`, an object, or a nested list: present, but comparable with nothing.
    Other,
}

/// An attribute's value in a resolved context.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// Absent (or `null`).
    Missing,
    /// A scalar.
    One(Scalar),
    /// A list: list-aware operators test each element.
    Many(Box<[Scalar]>),
}

impl AttrValue {
    /// The scalars to test: one, each list element, or none.
    #[inline]
    pub fn scalars(&self) -> &[Scalar] {
        match self {
            AttrValue::Missing => &[],
            AttrValue::One(s) => std::slice::from_ref(s),
            AttrValue::Many(list) => list,
        }
    }
}

/// A context resolved against one snapshot's attribute table.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedContext {
    pub(crate) values: Box<[AttrValue]>,
    /// Unit strings for the attributes that rollouts or exclusions hash.
    pub(crate) units: Box<[Option<Box<str>>]>,
}

impl ResolvedContext {
    /// The unit string of an attribute (a string, or a number's canonical text).
    #[inline]
    pub fn unit(&self, id: AttrId) -> Option<&str> {
        self.units.get(id as usize).and_then(|u| u.as_deref())
    }

    /// The targeting key, if the context has a usable one.
    #[inline]
    pub fn targeting_key(&self) -> Option<&str> {
        self.unit(TARGETING_KEY)
    }

    #[inline]
    pub(crate) fn value(&self, id: AttrId) -> &AttrValue {
        self.values.get(id as usize).unwrap_or(&AttrValue::Missing)
    }
}

/// Errors converting a caller's context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// The context is not a JSON object.
    #[error("evaluation context must be a JSON object, got {0}")]
    NotAnObject(&'static str),
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Looks `segments` up in `ctx`: nested objects first, then the whole dotted path as
/// one top-level key (contexts built from flat maps such as headers use that form).
fn lookup<'a>(ctx: &'a Map<String, Value>, spec: &AttrSpec) -> Option<&'a Value> {
    let mut current: Option<&Value> = None;
    let mut map = ctx;
    for (i, segment) in spec.segments.iter().enumerate() {
        match map.get(&**segment) {
            Some(v) => {
                current = Some(v);
                if i + 1 < spec.segments.len() {
                    match v {
                        Value::Object(inner) => map = inner,
                        _ => {
                            current = None;
                            break;
                        }
                    }
                }
            }
            None => {
                current = None;
                break;
            }
        }
    }
    current.or_else(|| {
        if spec.segments.len() > 1 {
            ctx.get(&*spec.path)
        } else {
            None
        }
    })
}

fn finite_number(text: &str) -> Option<f64> {
    // Only plain decimal numerals count: "inf", "NaN" and hex are text, not numbers.
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !plain {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn scalar(value: &Value, needs: Needs) -> Scalar {
    match value {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => n.as_f64().map(Scalar::Num).unwrap_or(Scalar::Other),
        Value::String(s) => text_scalar(s, needs),
        Value::Null | Value::Array(_) | Value::Object(_) => Scalar::Other,
    }
}

/// A string attribute with the derived forms `needs` asks for.
fn text_scalar(s: &str, needs: Needs) -> Scalar {
    Scalar::Str(StrAttr {
        raw: s.into(),
        num: finite_number(s),
        lower: needs.lower.then(|| s.to_lowercase().into_boxed_str()),
        date: if needs.date {
            parse_rfc3339_ms(s)
        } else {
            None
        },
        semver: if needs.semver {
            super::semver::Version::parse(s).map(Box::new)
        } else {
            None
        },
        ip: if needs.ip { parse_ip(s) } else { None },
    })
}

/// The text a number hashes as when it is a rollout unit: its JSON text as a JSON
/// parser would print it back (`12345`, `-3`, `1.5`, `1e21`), whether it arrived as
/// JSON or as a host's double.
pub fn number_text(n: f64) -> Option<String> {
    // Integral doubles up to u64/i64 range print as integers, as JSON integers do.
    const U64_LIMIT: f64 = 18_446_744_073_709_551_616.0;
    const I64_MIN: f64 = -9_223_372_036_854_775_808.0;
    if n.fract() == 0.0 && (0.0..U64_LIMIT).contains(&n) {
        Some((n as u64).to_string())
    } else if n.fract() == 0.0 && (I64_MIN..0.0).contains(&n) {
        Some((n as i64).to_string())
    } else {
        serde_json::Number::from_f64(n).map(|n| n.to_string())
    }
}

/// A context value handed over by a host that reads its own objects (the JS glue):
/// the JSON shapes, without building a JSON value first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostValue<'a> {
    /// A string.
    Str(&'a str),
    /// A finite number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// Anything else that is present: an object, a nested list, `null` inside a list.
    Other,
}

impl ResolvedContext {
    /// A context with every attribute of `table` missing, for a host to fill with
    /// [`ResolvedContext::set`] and [`ResolvedContext::set_list`]: the result equals
    /// [`resolve`] of the JSON object holding the same values.
    pub fn empty(table: &[AttrSpec]) -> ResolvedContext {
        ResolvedContext {
            values: vec![AttrValue::Missing; table.len()].into_boxed_slice(),
            units: vec![None; table.len()].into_boxed_slice(),
        }
    }

    /// Sets attribute `id` (an index into `table`) to a scalar. Out-of-range ids are
    /// ignored.
    pub fn set(&mut self, table: &[AttrSpec], id: AttrId, value: HostValue<'_>) {
        let (Some(spec), Some(slot)) = (table.get(id as usize), self.values.get_mut(id as usize))
        else {
            return;
        };
        *slot = AttrValue::One(host_scalar(value, spec.needs));
        if spec.needs.unit {
            self.units[id as usize] = match value {
                HostValue::Str(s) if !s.is_empty() => Some(s.into()),
                HostValue::Num(n) => number_text(n).map(String::into_boxed_str),
                _ => None,
            };
        }
    }

    /// Sets attribute `id` to a list of `items`. Out-of-range ids are ignored.
    pub fn set_list<'a>(
        &mut self,
        table: &[AttrSpec],
        id: AttrId,
        items: impl IntoIterator<Item = HostValue<'a>>,
    ) {
        let (Some(spec), Some(slot)) = (table.get(id as usize), self.values.get_mut(id as usize))
        else {
            return;
        };
        *slot = AttrValue::Many(
            items
                .into_iter()
                .map(|v| host_scalar(v, spec.needs))
                .collect(),
        );
    }
}

fn host_scalar(value: HostValue<'_>, needs: Needs) -> Scalar {
    match value {
        HostValue::Str(s) => text_scalar(s, needs),
        HostValue::Num(n) => Scalar::Num(n),
        HostValue::Bool(b) => Scalar::Bool(b),
        HostValue::Other => Scalar::Other,
    }
}

/// Parses an IPv4 or IPv6 address; IPv4 becomes its IPv4-mapped IPv6 form, so one
/// 128-bit comparison serves both families.
pub(crate) fn parse_ip(text: &str) -> Option<std::net::Ipv6Addr> {
    match text.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(v4.to_ipv6_mapped()),
        std::net::IpAddr::V6(v6) => Some(v6),
    }
}

fn unit_text(value: &Value) -> Option<Box<str>> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.as_str().into()),
        // Numbers hash as their JSON text (`12345`), so `"12345"` and `12345` agree.
        Value::Number(n) => Some(n.to_string().into_boxed_str()),
        _ => None,
    }
}

/// Resolves `ctx` against an attribute table.
pub fn resolve(table: &[AttrSpec], ctx: &Value) -> Result<ResolvedContext, ContextError> {
    let map = match ctx {
        Value::Object(map) => map,
        other => return Err(ContextError::NotAnObject(type_name(other))),
    };
    let mut values = Vec::with_capacity(table.len());
    let mut units = Vec::with_capacity(table.len());
    for spec in table {
        let found = lookup(map, spec);
        let value = match found {
            None | Some(Value::Null) => AttrValue::Missing,
            Some(Value::Array(items)) => {
                AttrValue::Many(items.iter().map(|v| scalar(v, spec.needs)).collect())
            }
            Some(v) => AttrValue::One(scalar(v, spec.needs)),
        };
        values.push(value);
        units.push(if spec.needs.unit {
            found.and_then(unit_text)
        } else {
            None
        });
    }
    Ok(ResolvedContext {
        values: values.into_boxed_slice(),
        units: units.into_boxed_slice(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A number handed over as a double hashes as the JSON text of the same number
    /// would, so units agree whichever way the context arrived.
    #[test]
    fn number_text_matches_json_numbers() {
        for text in [
            "0",
            "12345",
            "-3",
            "1.5",
            "1e21",
            "1e-7",
            "0.000001",
            "18000000000000000000",
            "-9007199254740993",
        ] {
            let parsed: serde_json::Number = serde_json::from_str(text).unwrap();
            let as_double = parsed.as_f64().unwrap();
            let reparsed: serde_json::Number =
                serde_json::from_str(&serde_json::Number::from_f64(as_double).unwrap().to_string())
                    .unwrap();
            // What JSON.stringify(double) then a JSON parser would print.
            let expected = if as_double.fract() == 0.0 && as_double.abs() < 1e21 {
                format!("{}", as_double as i128)
            } else {
                reparsed.to_string()
            };
            assert_eq!(
                number_text(as_double).as_deref(),
                Some(expected.as_str()),
                "{text}"
            );
        }
        assert_eq!(number_text(f64::NAN), None);
    }

    /// Filling a context value by value gives what resolving its JSON gives.
    #[test]
    fn set_equals_resolve() {
        let spec = |path: &str, needs: Needs| AttrSpec {
            path: path.into(),
            segments: path.split('.').map(Into::into).collect(),
            needs,
        };
        let all = Needs {
            lower: true,
            date: true,
            semver: true,
            unit: true,
            ip: true,
        };
        let table = [
            spec("targetingKey", all),
            spec("tags", all),
            spec("n", all),
            spec("o", all),
        ];
        let ctx = json!({"targetingKey": 42, "tags": ["A", 1, true, null, {}], "n": "2.0.0", "o": {"x": 1}});
        let mut built = ResolvedContext::empty(&table);
        built.set(&table, 0, HostValue::Num(42.0));
        built.set_list(
            &table,
            1,
            [
                HostValue::Str("A"),
                HostValue::Num(1.0),
                HostValue::Bool(true),
                HostValue::Other,
                HostValue::Other,
            ],
        );
        built.set(&table, 2, HostValue::Str("2.0.0"));
        built.set(&table, 3, HostValue::Other);
        assert_eq!(built, resolve(&table, &ctx).unwrap());
    }
}
