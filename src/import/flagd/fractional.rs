//! flagd's `fractional` (flagd-core 4, "v2" bucketing): the bucketing key (a `var`, a
//! `cat` ending with a `var`, or `flagKey + targetingKey`), the buckets (variant
//! expressions and integer weights, negative ones counted as 0), and flagd's rule that
//! a missing key, bad weights or weights summing to nothing give `null` (the default
//! variant). Hashed with `"bucketing": "flagd"` and the weights' own total, so every
//! unit lands where flagd puts it.

use super::super::clauses::{all, always, exists, in_values, is_number, is_string, not};
use super::value::{everywhere, merge, Part, V};
use super::Cx;
use crate::engine::hash::murmur3_x86_32;
use serde_json::{json, Map, Value};

/// A split of the contexts that have the unit: `entries` are `[start, end)` in weight
/// units out of `total`, each with its value.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Split {
    by: String,
    salt: String,
    total: u64,
    entries: Vec<(u64, u64, V)>,
}

/// A bucket value that names no variant (flagd fails only if it is served).
const NOT_A_VARIANT: &str = "\u{0}not a variant";

/// flagd's largest weight total.
const MAX_TOTAL: u64 = 2_147_483_647;
/// Vexil's bucket space.
const BUCKETS: u64 = 100_000;

impl Split {
    /// Where cumulative weight `c` cuts the bucket space (exact for totals up to
    /// 100 000: see the engine's `total`).
    fn cut(&self, c: u64) -> u64 {
        let t = self.total;
        if c == 0 {
            0
        } else if c >= t {
            BUCKETS
        } else if BUCKETS % t == 0 {
            c * (BUCKETS / t)
        } else if t <= BUCKETS {
            (c - 1) * BUCKETS / t + 1
        } else {
            (c * BUCKETS + t / 2) / t
        }
    }

    /// The `total` to write, when the default (100 000) is not exact.
    fn total_field(&self) -> Option<u64> {
        (BUCKETS % self.total != 0 && self.total <= BUCKETS).then_some(self.total)
    }

    /// Whether a unit could land differently (totals past the bucket space).
    pub(super) fn inexact(&self) -> bool {
        self.total > BUCKETS
    }

    /// One bucket test per non-empty entry.
    pub(super) fn explode(&self) -> Part {
        let mut out = Vec::new();
        for (s, e, v) in &self.entries {
            let (from, to) = (self.cut(*s), self.cut(*e));
            if from >= to {
                continue;
            }
            let mut test = json!({ "by": self.by, "salt": self.salt, "bucketing": "flagd",
                "range": [from as f64 / 1000.0, to as f64 / 1000.0] });
            if let Some(t) = self.total_field() {
                test["total"] = json!(t);
            }
            out.push((json!({ "bucket": test }), v.clone()));
        }
        merge(out)
    }

    /// A rollout serve over `names`, when every entry names a distinct one of them.
    pub(super) fn rollout(&self, names: &[String]) -> Option<Value> {
        let mut weights = Map::new();
        for (s, e, v) in &self.entries {
            let name = match v {
                V::Str(n) if names.contains(n) => n.clone(),
                V::Num(_) | V::Bool(_) => {
                    super::value::to_string(v).filter(|n| names.contains(n))?
                }
                _ => return None,
            };
            let share = (self.cut(*e) - self.cut(*s)) as f64 / 1000.0;
            if weights.insert(name, json!(share)).is_some() {
                return None;
            }
        }
        let mut r = json!({ "by": self.by, "salt": self.salt, "bucketing": "flagd",
            "weights": weights, "missing_unit": "fallthrough" });
        if let Some(t) = self.total_field() {
            r["total"] = json!(t);
        }
        Some(json!({ "rollout": r }))
    }
}

/// Where the bucketing key comes from, on part of the context space.
#[derive(Clone)]
enum Key {
    /// `salt + unit at by`, hashed at evaluation.
    Hash {
        by: String,
        salt: String,
    },
    /// A text known at import time.
    Fixed(String),
    /// No key: `null`.
    None,
    Error,
}

impl Cx<'_> {
    pub(super) fn fractional(&mut self, list: &[Value]) -> Part {
        let Some(first) = list.first() else {
            return everywhere(V::Null);
        };
        let (keys, buckets) = if first.is_array() {
            // flagd: `flagKey + targetingKey`, when the targeting key is truthy.
            let tk = "targetingKey";
            let keys = vec![
                (
                    all([is_string(tk), not(in_values(tk, vec![json!("")]))]),
                    Key::Hash {
                        by: tk.into(),
                        salt: self.key.into(),
                    },
                ),
                (
                    all([is_number(tk), not(in_values(tk, vec![json!(0)]))]),
                    Key::Hash {
                        by: tk.into(),
                        salt: self.key.into(),
                    },
                ),
                (
                    in_values(tk, vec![json!(true)]),
                    Key::Fixed(format!("{}true", self.key)),
                ),
                (
                    super::super::clauses::any([
                        not(exists(tk)),
                        in_values(tk, vec![json!(""), json!(0), json!(false)]),
                    ]),
                    Key::None,
                ),
            ];
            (keys, list)
        } else {
            let mut keys = Vec::new();
            for (c, v) in self.eval(first) {
                for (c2, k) in self.key_of(v) {
                    keys.push((all([c.clone(), c2]), k));
                }
            }
            (keys, &list[1..])
        };
        let Some(combos) = self.bucket_combos(buckets) else {
            return everywhere(V::Null);
        };
        let mut out = Vec::new();
        for (kc, key) in &keys {
            for (cc, entries) in &combos {
                let clause = all([kc.clone(), cc.clone()]);
                let value = match (key, entries) {
                    (Key::Error, _) | (_, Err(true)) => V::Error,
                    (Key::None, _) | (_, Err(false)) => V::Null,
                    (Key::Fixed(text), Ok(split)) => {
                        let h = u64::from(murmur3_x86_32(text.as_bytes(), 0));
                        let b = (h * split.total) >> 32;
                        split
                            .entries
                            .iter()
                            .find(|(_, e, _)| b < *e)
                            .map(|(_, _, v)| v.clone())
                            .unwrap_or(V::Null)
                    }
                    (Key::Hash { by, salt }, Ok(split)) => {
                        let mut s = split.clone();
                        s.by = by.clone();
                        s.salt = salt.clone();
                        if s.inexact() {
                            self.loss(format!("fractional weights sum to {}: finer than Vexil's bucket space, so units within 0.001 % of a boundary may land in the neighbouring bucket", s.total));
                        }
                        V::Split(Box::new(s))
                    }
                };
                out.push((clause, value));
            }
        }
        merge(out)
    }

    /// The bucketing key a `fractional`'s first argument gives, over the context.
    fn key_of(&mut self, v: V) -> Vec<(Value, Key)> {
        let nonempty = |p: &str| all([is_string(p), not(in_values(p, vec![json!("")]))]);
        match v {
            V::Str(s) => vec![(always(), Key::Fixed(s))],
            V::Error => vec![(always(), Key::Error)],
            // Only text is a key; anything else leaves flagd without one.
            V::Attr(p) => vec![
                (
                    nonempty(&p),
                    Key::Hash {
                        by: p.clone(),
                        salt: String::new(),
                    },
                ),
                (
                    all([is_string(&p), in_values(&p, vec![json!("")])]),
                    Key::Fixed(String::new()),
                ),
                (not(is_string(&p)), Key::None),
            ],
            V::Cat(prefix, p) => vec![
                (
                    any_unit(&p),
                    Key::Hash {
                        by: p.clone(),
                        salt: prefix.clone(),
                    },
                ),
                // json-logic-engine's `cat` writes a missing value as "null".
                (not(exists(&p)), Key::Fixed(format!("{prefix}null"))),
                (in_values(&p, vec![json!("")]), Key::Fixed(prefix.clone())),
                (
                    in_values(&p, vec![json!(true)]),
                    Key::Fixed(format!("{prefix}true")),
                ),
                (
                    in_values(&p, vec![json!(false)]),
                    Key::Fixed(format!("{prefix}false")),
                ),
            ],
            v if v.is_const() => vec![(always(), Key::None)],
            other => {
                self.loss(format!("fractional keyed on {other:?}"));
                vec![(always(), Key::None)]
            }
        }
    }

    /// Every combination of the buckets' variant and weight values: a split, or `Err`
    /// (`true`: it throws; `false`: flagd's `null`). `None` when the list is malformed.
    #[allow(clippy::type_complexity)]
    fn bucket_combos(&mut self, buckets: &[Value]) -> Option<Vec<(Value, Result<Split, bool>)>> {
        let mut combos: Vec<(Value, Vec<(V, V)>)> = vec![(always(), Vec::new())];
        for b in buckets {
            let entry = b.as_array().filter(|e| !e.is_empty() && e.len() <= 2)?;
            let variant = match &entry[0] {
                Value::Object(_) => {
                    let part = self.eval(&entry[0]);
                    let mut out = Vec::new();
                    for (c, v) in part {
                        match v {
                            // A value that names no variant only fails when served.
                            V::Attr(p) => out.extend(
                                super::ops::lookup_attr(&p, &self.names).into_iter().map(
                                    |(c2, v2)| {
                                        let v2 = if v2 == V::Error {
                                            V::Str(NOT_A_VARIANT.into())
                                        } else {
                                            v2
                                        };
                                        (all([c.clone(), c2]), v2)
                                    },
                                ),
                            ),
                            v => out.push((c, v)),
                        }
                    }
                    merge(out)
                }
                v => everywhere(V::literal(v).unwrap_or(V::Error)),
            };
            let weight = match entry.get(1) {
                None => everywhere(V::Num(1.0)),
                Some(w) => self.eval(w),
            };
            let mut next = Vec::new();
            for (c, acc) in &combos {
                for (vc, vv) in &variant {
                    for (wc, wv) in &weight {
                        let mut acc = acc.clone();
                        acc.push((vv.clone(), wv.clone()));
                        next.push((all([c.clone(), vc.clone(), wc.clone()]), acc));
                    }
                }
            }
            if next.len() > 64 {
                self.loss("fractional buckets with too many computed names and weights".into());
                return None;
            }
            combos = next;
        }
        Some(
            combos
                .into_iter()
                .map(|(c, acc)| (c, split_of(&acc)))
                .collect(),
        )
    }
}

/// Values that are a unit for Vexil and hash as flagd hashes their text.
fn any_unit(p: &str) -> Value {
    super::super::clauses::any([
        all([is_string(p), not(in_values(p, vec![json!("")]))]),
        is_number(p),
    ])
}

/// The split of concrete buckets, or flagd's `null` / a throw.
fn split_of(entries: &[(V, V)]) -> Result<Split, bool> {
    let mut out = Vec::new();
    let mut total: u64 = 0;
    for (variant, weight) in entries {
        if *variant == V::Error || *weight == V::Error {
            return Err(true);
        }
        let w = match weight {
            V::Num(n) if n.fract() == 0.0 && n.is_finite() => n.max(0.0) as u64,
            _ => return Err(false),
        };
        if !matches!(variant, V::Str(_) | V::Num(_) | V::Bool(_) | V::Null) {
            return Err(false);
        }
        out.push((total, total + w, variant.clone()));
        total += w;
    }
    if total == 0 || total > MAX_TOTAL {
        return Err(false);
    }
    Ok(Split {
        by: String::new(),
        salt: String::new(),
        total,
        entries: out,
    })
}
