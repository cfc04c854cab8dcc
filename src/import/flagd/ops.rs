//! JSONLogic expressions (json-logic-engine 5 with flagd-core's operators) evaluated
//! over the context space into partitions: each operator keeps flagd's semantics for
//! every type the context can hold (missing attributes are `null`, operators that
//! cannot apply answer `null` or throw, as flagd-core's do).

use super::super::clauses::{
    all, always, any, exists, in_values, is_number, is_string, never, not, test,
};
use super::compare;
use super::value::{everywhere, flat_map, merge, to_string, truth, Part, V};
use super::Cx;
use crate::engine::lenient::flagd_version;
use serde_json::{json, Value};

/// Methods json-logic-engine knows (a targeting using another one does not parse).
const KNOWN: &[&str] = &[
    "+",
    "*",
    "/",
    "-",
    "%",
    "throw",
    "max",
    "min",
    "in",
    "preserve",
    "if",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "===",
    "!=",
    "!==",
    "or",
    "??",
    "try",
    "and",
    "substr",
    "length",
    "exists",
    "val",
    "map",
    "some",
    "all",
    "none",
    "merge",
    "filter",
    "reduce",
    "!",
    "!!",
    "cat",
    "keys",
    "pipe",
    "eachKey",
    "every",
    "?:",
    "not",
    "get",
    "var",
    "missing",
    "missing_some",
    "starts_with",
    "ends_with",
    "sem_ver",
    "fractional",
];

/// Most entries a partition may have before the import gives up on a flag.
const MAX_PART: usize = 256;

impl Cx<'_> {
    /// Evaluates `logic` over the context space.
    pub(super) fn eval(&mut self, logic: &Value) -> Part {
        let part = self.eval_inner(logic);
        if part.len() > MAX_PART {
            return self.lose(format!(
                "{logic} is too intricate to translate ({} cases)",
                part.len()
            ));
        }
        part
    }

    fn eval_inner(&mut self, logic: &Value) -> Part {
        let Some(map) = logic.as_object() else {
            return match V::literal(logic) {
                Some(v) => everywhere(v),
                None => self.lose(format!("the list {logic} is used as a value")),
            };
        };
        let Some((op, args)) = map.iter().next().filter(|_| map.len() == 1) else {
            return self.lose(format!("{logic} is not one JSONLogic operation"));
        };
        if op == "$ref" {
            return self.reference(args);
        }
        if !KNOWN.contains(&op.as_str()) {
            self.parse_error(format!("unknown operator `{op}`"));
            return everywhere(V::Null);
        }
        let list: Vec<Value> = match args {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        match op.as_str() {
            "var" => self.var(&list),
            "if" | "?:" => self.if_chain(&list),
            "and" | "or" => self.and_or(op == "and", &list),
            "!" | "not" | "!!" => {
                let Some(first) = list.first() else {
                    return everywhere(V::Bool(op != "!!"));
                };
                let (t, f, e) = truth(&self.eval(first));
                let negate = op != "!!";
                merge(vec![
                    (t, V::Bool(!negate)),
                    (f, V::Bool(negate)),
                    (e, V::Error),
                ])
            }
            "==" | "!=" | "===" | "!==" | "<" | "<=" | ">" | ">=" => self.compare(op, &list),
            "in" => self.contains(&list),
            "starts_with" | "ends_with" => self.affix(op == "starts_with", &list),
            "sem_ver" => self.sem_ver(&list),
            "fractional" => self.fractional(&list),
            "cat" => self.cat(&list),
            other => self.lose(format!("JSONLogic `{other}` is not translated")),
        }
    }

    fn reference(&mut self, args: &Value) -> Part {
        let Some(name) = args.as_str() else {
            self.parse_error(format!("`$ref` to {args}"));
            return everywhere(V::Null);
        };
        let Some(logic) = self.evaluators.get(name).cloned() else {
            self.parse_error(format!(
                "`$ref` to the evaluator `{name}`, which does not exist"
            ));
            return everywhere(V::Null);
        };
        if self.refs.iter().any(|r| r == name) {
            return self.lose(format!("the evaluator `{name}` refers to itself"));
        }
        self.refs.push(name.to_string());
        let part = self.eval(&logic);
        self.refs.pop();
        part
    }

    fn var(&mut self, list: &[Value]) -> Part {
        let path = match list.first() {
            Some(Value::String(p)) => p.clone(),
            Some(Value::Number(n)) => n.to_string(),
            None | Some(Value::Null) => String::new(),
            Some(other) => return self.lose(format!("`var` of {other}")),
        };
        let value = match path.as_str() {
            "$flagd.flagKey" => return everywhere(V::Str(self.key.to_string())),
            "$flagd.timestamp" => return everywhere(V::Time),
            "" => return self.lose("`var` of the whole context".into()),
            p if p
                .split('.')
                .any(|s| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit())) =>
            {
                return self.lose(format!(
                    "`var` path `{p}` indexes lists or has empty segments"
                ))
            }
            p => V::Attr(p.to_string()),
        };
        match list.get(1) {
            None => everywhere(value),
            Some(d) => {
                let default = self.eval(d);
                let mut part = vec![(exists(&path), value)];
                for (c, v) in default {
                    part.push((all([not(exists(&path)), c]), v));
                }
                merge(part)
            }
        }
    }

    fn if_chain(&mut self, list: &[Value]) -> Part {
        match list.len() {
            0 => return everywhere(V::Null),
            1 => return self.eval(&list[0]),
            _ => {}
        }
        let mut list = list.to_vec();
        if list.len() % 2 == 0 {
            list.push(Value::Null);
        }
        let mut out = Vec::new();
        let mut reach = always();
        for pair in list[..list.len() - 1].chunks(2) {
            let (t, f, e) = truth(&self.eval(&pair[0]));
            out.push((all([reach.clone(), e]), V::Error));
            for (c, v) in self.eval(&pair[1]) {
                out.push((all([reach.clone(), t.clone(), c]), v));
            }
            reach = all([reach, f]);
        }
        for (c, v) in self.eval(&list[list.len() - 1]) {
            out.push((all([reach.clone(), c]), v));
        }
        merge(out)
    }

    /// `and` gives the first falsy value (or the last), `or` the first truthy one.
    fn and_or(&mut self, is_and: bool, list: &[Value]) -> Part {
        if list.is_empty() {
            return everywhere(V::Null);
        }
        let mut out = Vec::new();
        let mut reach = always();
        for (i, arg) in list.iter().enumerate() {
            let part = self.eval(arg);
            if i + 1 == list.len() {
                for (c, v) in part {
                    out.push((all([reach.clone(), c]), v));
                }
                break;
            }
            let (t, f, e) = truth(&part);
            out.push((all([reach.clone(), e]), V::Error));
            let (stop, go) = if is_and { (f, t) } else { (t, f) };
            for (c, v) in part {
                out.push((all([reach.clone(), stop.clone(), c]), v));
            }
            reach = all([reach, go]);
        }
        merge(out)
    }

    fn compare(&mut self, op: &str, list: &[Value]) -> Part {
        if list.len() < 2 {
            return everywhere(V::Error);
        }
        let parts: Vec<Part> = list.iter().map(|a| self.eval(a)).collect();
        if parts.len() == 3 {
            let (a, b, c) = (&parts[0], &parts[1], &parts[2]);
            if let ([(_, lo)], [(_, hi)]) = (a.as_slice(), c.as_slice()) {
                if lo.is_const() && hi.is_const() && matches!(op, "<" | "<=") {
                    let (lo, hi) = (lo.clone(), hi.clone());
                    return flat_map(b.clone(), |v| self.between(op, &lo, v, &hi));
                }
            }
            return self.lose(format!("a three-way `{op}` of {}", json!(list)));
        }
        if parts.len() > 3 {
            return self.lose(format!("a {}-way `{op}`", parts.len()));
        }
        let (a, b) = (parts[0].clone(), parts[1].clone());
        let right_var = list[1].get("var").is_some();
        flat_map(a, |x| {
            flat_map(b.clone(), |y| self.compare2(op, x.clone(), y, right_var))
        })
    }

    fn between(&mut self, op: &str, lo: &V, v: V, hi: &V) -> Part {
        match v {
            V::Attr(p) => compare::between(op, lo, &p, hi).unwrap_or_else(|m| self.lose(m)),
            v if v.is_const() => match compare::constant(op, &[lo.clone(), v, hi.clone()]) {
                Ok(b) => everywhere(V::Bool(b)),
                Err(()) => everywhere(V::Error),
            },
            V::Error => everywhere(V::Error),
            other => self.lose(format!("`{op}` between bounds of {other:?}")),
        }
    }

    fn compare2(&mut self, op: &str, x: V, y: V, right_var: bool) -> Part {
        use compare::Order;
        match (&x, &y) {
            (V::Error, _) | (_, V::Error) => everywhere(V::Error),
            (a, b) if a.is_const() && b.is_const() && right_var => {
                everywhere(V::Bool(compare::plain(op, a, b)))
            }
            (a, b) if a.is_const() && b.is_const() => match compare::constant(op, &[x, y]) {
                Ok(b) => everywhere(V::Bool(b)),
                Err(()) => everywhere(V::Error),
            },
            (V::Attr(p), c) if c.is_const() => {
                compare::attribute(op, p, c, Order::AttrLeft).unwrap_or_else(|m| self.lose(m))
            }
            (c, V::Attr(p)) if c.is_const() => {
                let order = if right_var {
                    Order::VarRight
                } else {
                    Order::AttrRight
                };
                compare::attribute(op, p, c, order).unwrap_or_else(|m| self.lose(m))
            }
            (V::Time, V::Num(k)) => self.timestamp(op, *k, true),
            (V::Num(k), V::Time) => self.timestamp(op, *k, false),
            _ => self.lose(format!("`{op}` compares {x:?} with {y:?}")),
        }
    }

    /// `$flagd.timestamp` (whole seconds) against a number, as the evaluation time.
    fn timestamp(&mut self, op: &str, k: f64, time_left: bool) -> Part {
        let op = match (op, time_left) {
            (o, true) => o.to_string(),
            ("<", false) => ">".into(),
            ("<=", false) => ">=".into(),
            (">", false) => "<".into(),
            (">=", false) => "<=".into(),
            (o, false) => o.to_string(),
        };
        let ms = |s: f64| json!((s * 1000.0) as i64);
        let before = |s: f64| test("$now", "before", vec![ms(s)]);
        let at_or_after = |s: f64| test("$now", "after", vec![json!((s * 1000.0) as i64 - 1)]);
        let holds = match op.as_str() {
            "<" => before(k.ceil()),
            "<=" => before(k.floor() + 1.0),
            ">" => at_or_after(k.floor() + 1.0),
            ">=" => at_or_after(k.ceil()),
            "==" | "===" if k.fract() == 0.0 => all([at_or_after(k), before(k + 1.0)]),
            "!=" | "!==" if k.fract() == 0.0 => not(all([at_or_after(k), before(k + 1.0)])),
            "==" | "===" => never(),
            _ => always(),
        };
        merge(vec![
            (holds.clone(), V::Bool(true)),
            (not(holds), V::Bool(false)),
        ])
    }

    /// flagd's `sem_ver`: `[version, operator, version]`, read leniently; `null` when
    /// either side is not a version or the operator is unknown.
    fn sem_ver(&mut self, list: &[Value]) -> Part {
        if list.len() != 3 {
            return everywhere(V::Null);
        }
        let op = match list[1].as_str() {
            Some(o) => o.to_string(),
            None => return self.lose(format!("`sem_ver` operator {}", list[1])),
        };
        if !["=", "!=", "<", "<=", ">", ">=", "^", "~"].contains(&op.as_str()) {
            return everywhere(V::Null);
        }
        let (a, b) = (self.eval(&list[0]), self.eval(&list[2]));
        flat_map(a, |x| {
            flat_map(b.clone(), |y| {
                // The importer reasons with the semver crate's fields (major, minor).
                let version = |v: &V| {
                    to_string(v)
                        .as_deref()
                        .and_then(flagd_version)
                        .and_then(|v| semver::Version::parse(&v.canonical()).ok())
                };
                match (&x, &y) {
                    (V::Error, _) | (_, V::Error) => everywhere(V::Error),
                    (a, b) if a.is_const() && b.is_const() => {
                        everywhere(match (version(a), version(b)) {
                            (Some(a), Some(b)) => V::Bool(semver_holds(&op, &a, &b)),
                            _ => V::Null,
                        })
                    }
                    (V::Attr(p), c) if c.is_const() => semver_attr(p, &op, version(c), true),
                    (c, V::Attr(p)) if c.is_const() => semver_attr(p, &op, version(c), false),
                    _ => self.lose(format!("`sem_ver` of {x:?} and {y:?}")),
                }
            })
        })
    }

    /// `cat`: text joined; a `var` last is kept as such (for `fractional`'s keys).
    fn cat(&mut self, list: &[Value]) -> Part {
        let mut prefix = String::new();
        for (i, arg) in list.iter().enumerate() {
            let part = self.eval(arg);
            match part.as_slice() {
                // json-logic-engine's `cat` writes null as "null".
                [(_, v)] if v.is_const() => prefix.push_str(&to_string(v).unwrap_or_default()),
                [(_, V::Attr(p))] if i + 1 == list.len() => {
                    return everywhere(V::Cat(prefix, p.clone()))
                }
                _ => return self.lose(format!("`cat` of {}", json!(list))),
            }
        }
        everywhere(V::Str(prefix))
    }
}

fn semver_holds(op: &str, a: &semver::Version, b: &semver::Version) -> bool {
    let o = a.cmp_precedence(b);
    match op {
        "=" => o.is_eq(),
        "!=" => o.is_ne(),
        "<" => o.is_lt(),
        "<=" => o.is_le(),
        ">" => o.is_gt(),
        ">=" => o.is_ge(),
        "^" => a.major == b.major,
        _ => a.major == b.major && a.minor == b.minor,
    }
}

/// `sem_ver` of the attribute at `p` against `version` (`attr_left`: the attribute is
/// the first operand).
fn semver_attr(p: &str, op: &str, version: Option<semver::Version>, attr_left: bool) -> Part {
    let Some(v) = version else {
        return everywhere(V::Null);
    };
    let lenient = |o: &str, w: &semver::Version| {
        let mut t = test(p, o, vec![json!(w.to_string())]);
        t["lenient"] = json!(true);
        t
    };
    let valid = lenient(
        "semver_gte",
        &semver::Version::parse("0.0.0-0").expect("a version"),
    );
    let flip = |o: &'static str| -> &'static str {
        if attr_left {
            return o;
        }
        match o {
            "semver_lt" => "semver_gt",
            "semver_lte" => "semver_gte",
            "semver_gt" => "semver_lt",
            "semver_gte" => "semver_lte",
            o => o,
        }
    };
    let lowest = |major: u64, minor: u64| semver::Version {
        pre: semver::Prerelease::new("0").expect("a prerelease"),
        ..semver::Version::new(major, minor, 0)
    };
    let holds = match op {
        "=" => lenient("semver_eq", &v),
        "!=" => not(lenient("semver_eq", &v)),
        "<" => lenient(flip("semver_lt"), &v),
        "<=" => lenient(flip("semver_lte"), &v),
        ">" => lenient(flip("semver_gt"), &v),
        ">=" => lenient(flip("semver_gte"), &v),
        // Same major (and minor): between the lowest versions of two releases.
        "^" => all([
            lenient("semver_gte", &lowest(v.major, 0)),
            lenient("semver_lt", &lowest(v.major + 1, 0)),
        ]),
        _ => all([
            lenient("semver_gte", &lowest(v.major, v.minor)),
            lenient("semver_lt", &lowest(v.major, v.minor + 1)),
        ]),
    };
    merge(vec![
        (all([valid.clone(), holds.clone()]), V::Bool(true)),
        (all([valid.clone(), not(holds)]), V::Bool(false)),
        (not(valid), V::Null),
    ])
}

/// The lookup of a variant named by the value at `p` (its text), over `names`.
pub(super) fn lookup_attr(p: &str, names: &[String]) -> Part {
    let mut part = Vec::new();
    let mut named_strings = Vec::new();
    for n in names {
        part.push((
            all([is_string(p), in_values(p, vec![json!(n)])]),
            V::Str(n.clone()),
        ));
        named_strings.push(json!(n));
        if let Some(x) =
            crate::engine::lenient::js_number(n).filter(|x| super::value::number_string(*x) == *n)
        {
            part.push((super::value::number_is(p, x), V::Str(n.clone())));
        }
    }
    for (word, b) in [("true", true), ("false", false)] {
        let v = if names.iter().any(|n| n == word) {
            V::Str(word.into())
        } else {
            V::Error
        };
        part.push((in_values(p, vec![json!(b)]), v));
    }
    part.push((not(exists(p)), V::Null));
    // Any other text or number names no variant: flagd answers an error.
    let named = any(part.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>());
    part.push((
        all([any([is_string(p), is_number(p)]), not(named)]),
        V::Error,
    ));
    merge(part)
}
