//! JSONLogic's `in` and flagd's `starts_with` / `ends_with` over the context space:
//! `in` is `(haystack || []).includes(needle)` (substring for text, membership for a
//! list, a throw for a number or `true`); the affix operators answer `null` unless
//! both arguments are text.

use super::super::clauses::{all, any, exists, in_values, is_number, is_string, not, test};
use super::value::{everywhere, flat_map, merge, to_string, truthy, Part, V};
use super::Cx;
use serde_json::{json, Value};

impl Cx<'_> {
    /// `in`: `(haystack || []).includes(needle)`.
    pub(super) fn contains(&mut self, list: &[Value]) -> Part {
        let (Some(needle), Some(hay)) = (list.first(), list.get(1)) else {
            return everywhere(V::Bool(false));
        };
        let needle = self.eval(needle);
        if let Value::Array(items) = hay {
            let items: Vec<V> = items.iter().filter_map(V::literal).collect();
            return flat_map(needle, |n| self.in_list(n, &items));
        }
        let hay = self.eval(hay);
        flat_map(needle, |n| {
            flat_map(hay.clone(), |h| self.includes(n.clone(), h))
        })
    }

    /// `list.includes(needle)` (SameValueZero) for a literal list.
    fn in_list(&mut self, needle: V, items: &[V]) -> Part {
        match needle {
            V::Attr(p) => {
                let mut holds = Vec::new();
                let strs: Vec<Value> = items
                    .iter()
                    .filter_map(|v| match v {
                        V::Str(s) => Some(json!(s)),
                        _ => None,
                    })
                    .collect();
                if !strs.is_empty() {
                    holds.push(all([is_string(&p), in_values(&p, strs)]));
                }
                let nums: Vec<Value> = items
                    .iter()
                    .filter_map(|v| match v {
                        V::Num(n) => Some(json!(n)),
                        _ => None,
                    })
                    .collect();
                if !nums.is_empty() {
                    holds.push(all([is_number(&p), in_values(&p, nums)]));
                }
                let bools: Vec<Value> = items
                    .iter()
                    .filter_map(|v| match v {
                        V::Bool(b) => Some(json!(b)),
                        _ => None,
                    })
                    .collect();
                if !bools.is_empty() {
                    holds.push(in_values(&p, bools));
                }
                if items.contains(&V::Null) {
                    holds.push(not(exists(&p)));
                }
                let holds = any(holds);
                merge(vec![
                    (holds.clone(), V::Bool(true)),
                    (not(holds), V::Bool(false)),
                ])
            }
            V::Error => everywhere(V::Error),
            v if v.is_const() => everywhere(V::Bool(items.contains(&v))),
            other => self.lose(format!("`in` looks up {other:?}")),
        }
    }

    /// `(hay || []).includes(needle)` where `hay` is text (substring), a falsy value
    /// (nothing), or anything else (a number or `true`: it throws).
    fn includes(&mut self, needle: V, hay: V) -> Part {
        match (needle, hay) {
            (V::Error, _) | (_, V::Error) => everywhere(V::Error),
            (n, h) if n.is_const() && h.is_const() => everywhere(match h {
                V::Str(s) if !s.is_empty() => {
                    V::Bool(to_string(&n).is_some_and(|t| s.contains(&t)))
                }
                h if !truthy(&h) => V::Bool(false),
                _ => V::Error,
            }),
            (n, V::Attr(p)) if n.is_const() => {
                let text = to_string(&n).unwrap_or_default();
                let nonempty = all([is_string(&p), not(in_values(&p, vec![json!("")]))]);
                let inside = all([nonempty.clone(), test(&p, "contains", vec![json!(text)])]);
                let throws = any([
                    all([is_number(&p), not(in_values(&p, vec![json!(0)]))]),
                    in_values(&p, vec![json!(true)]),
                ]);
                merge(vec![
                    (inside.clone(), V::Bool(true)),
                    (all([nonempty, not(inside)]), V::Bool(false)),
                    (throws.clone(), V::Error),
                    (all([not(throws), not(is_string(&p))]), V::Bool(false)),
                    (in_values(&p, vec![json!("")]), V::Bool(false)),
                ])
            }
            (V::Attr(p), V::Str(s)) if !s.is_empty() => {
                // The attribute's text is a substring of the literal: list them.
                if s.chars().count() > 64 {
                    return self.lose(format!("`in` of an attribute in the long text {s:?}"));
                }
                let chars: Vec<char> = s.chars().collect();
                let mut subs: Vec<String> = Vec::new();
                for i in 0..=chars.len() {
                    for j in i..=chars.len() {
                        let sub: String = chars[i..j].iter().collect();
                        if !subs.contains(&sub) {
                            subs.push(sub);
                        }
                    }
                }
                let mut holds = vec![all([
                    is_string(&p),
                    in_values(&p, subs.iter().map(|t| json!(t)).collect()),
                ])];
                for t in &subs {
                    if let Some(n) = crate::engine::lenient::js_number(t)
                        .filter(|n| super::value::number_string(*n) == *t)
                    {
                        holds.push(super::value::number_is(&p, n));
                    }
                }
                for (word, b) in [("true", true), ("false", false)] {
                    if s.contains(word) {
                        holds.push(in_values(&p, vec![json!(b)]));
                    }
                }
                if s.contains("null") {
                    holds.push(not(exists(&p)));
                }
                let holds = any(holds);
                merge(vec![
                    (holds.clone(), V::Bool(true)),
                    (not(holds), V::Bool(false)),
                ])
            }
            (V::Attr(_), h) if h.is_const() && !truthy(&h) => everywhere(V::Bool(false)),
            (n, h) => self.lose(format!("`in` of {n:?} in {h:?}")),
        }
    }

    /// flagd's `starts_with` / `ends_with`: both arguments must be text, else `null`.
    pub(super) fn affix(&mut self, starts: bool, list: &[Value]) -> Part {
        if list.len() != 2 {
            return everywhere(V::Null);
        }
        let (a, b) = (self.eval(&list[0]), self.eval(&list[1]));
        let op = if starts { "starts_with" } else { "ends_with" };
        flat_map(a, |x| {
            flat_map(b.clone(), |y| match (&x, &y) {
                (V::Error, _) | (_, V::Error) => everywhere(V::Error),
                (V::Str(s), V::Str(t)) => everywhere(V::Bool(if starts {
                    s.starts_with(t.as_str())
                } else {
                    s.ends_with(t.as_str())
                })),
                (a, b) if a.is_const() && b.is_const() => everywhere(V::Null),
                (V::Attr(p), V::Str(t)) => merge(vec![
                    (test(p, op, vec![json!(t)]), V::Bool(true)),
                    (
                        all([is_string(p), not(test(p, op, vec![json!(t)]))]),
                        V::Bool(false),
                    ),
                    (not(is_string(p)), V::Null),
                ]),
                (V::Str(s), V::Attr(p)) => {
                    // The attribute's text is a prefix (or suffix) of the literal.
                    let chars: Vec<char> = s.chars().collect();
                    let pieces: Vec<Value> = (0..=chars.len())
                        .map(|i| {
                            json!(if starts {
                                chars[..i].iter().collect::<String>()
                            } else {
                                chars[i..].iter().collect::<String>()
                            })
                        })
                        .collect();
                    let holds = all([is_string(p), in_values(p, pieces)]);
                    merge(vec![
                        (holds.clone(), V::Bool(true)),
                        (all([is_string(p), not(holds)]), V::Bool(false)),
                        (not(is_string(p)), V::Null),
                    ])
                }
                (a, _) if a.is_const() || matches!(a, V::Attr(_)) => everywhere(V::Null),
                _ => self.lose(format!("`{op}` of {x:?} and {y:?}")),
            })
        })
    }
}
