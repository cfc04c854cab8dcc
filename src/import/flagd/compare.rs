//! JSONLogic's comparisons as flagd-core evaluates them (json-logic-engine 5, compiled:
//! `(prev = a) OP compareCheck(b, prev)`), for constants and for an attribute compared
//! with a constant: a missing attribute compares as `null` (0 for `<`), text and
//! numbers coerce as JavaScript does, and a comparison that cannot coerce throws
//! (flagd then answers the caller's default).

use super::super::clauses::{
    all, any, exists, in_values, is_number, is_string, not, number_test, test,
};
use super::value::{to_number, Part, V};
use serde_json::{json, Value};

/// Why a comparison cannot be translated.
pub(super) type Untranslatable = String;

fn strict(op: &str) -> bool {
    op == "===" || op == "!=="
}

/// JavaScript's `a == b` for constants.
fn loose_eq(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Null, _) | (_, V::Null) => false,
        (V::Str(x), V::Str(y)) => x == y,
        (V::Num(x), V::Num(y)) => x == y,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Bool(_), _) => loose_eq(&V::Num(to_number(a)), b),
        (_, V::Bool(_)) => loose_eq(a, &V::Num(to_number(b))),
        (V::Num(x), V::Str(_)) => *x == to_number(b),
        (V::Str(_), V::Num(y)) => to_number(a) == *y,
        _ => false,
    }
}

/// JavaScript's `a OP b` for constants.
fn js_op(op: &str, a: &V, b: &V) -> bool {
    match op {
        "==" => loose_eq(a, b),
        "!=" => !loose_eq(a, b),
        "===" => a == b && !matches!(a, V::Num(n) if n.is_nan()),
        "!==" => a != b || matches!(a, V::Num(n) if n.is_nan()),
        _ => {
            if let (V::Str(x), V::Str(y)) = (a, b) {
                // Code-unit order, as JavaScript compares strings.
                let (x, y): (Vec<u16>, Vec<u16>) =
                    (x.encode_utf16().collect(), y.encode_utf16().collect());
                return match op {
                    "<" => x < y,
                    "<=" => x <= y,
                    ">" => x > y,
                    _ => x >= y,
                };
            }
            let (x, y) = (to_number(a), to_number(b));
            match op {
                "<" => x < y,
                "<=" => x <= y,
                ">" => x > y,
                _ => x >= y,
            }
        }
    }
}

/// A comparison compiled with a `var` on the right (see [`Order::VarRight`]).
pub(super) fn plain(op: &str, a: &V, b: &V) -> bool {
    js_op(op, a, b)
}

fn str_or_null(v: &V) -> bool {
    matches!(v, V::Str(_) | V::Null)
}

/// `compareCheck(item, prev)`: the value `prev` is compared with, or `Err` when it
/// throws.
fn compare_check(item: &V, prev: &V, is_strict: bool) -> Result<V, ()> {
    if is_strict || (str_or_null(item) && str_or_null(prev)) {
        return Ok(item.clone());
    }
    if to_number(item).is_nan() && *prev != V::Null {
        return Err(());
    }
    if to_number(prev).is_nan() {
        return Err(());
    }
    if *prev == V::Null && !super::value::truthy(item) {
        return Ok(V::Null);
    }
    if *item == V::Null && !super::value::truthy(prev) {
        return Ok(V::Num(0.0));
    }
    Ok(item.clone())
}

/// A comparison chain of constants (`{"<": [a, b, c]}` included): `Ok(result)` or
/// `Err` when it throws.
pub(super) fn constant(op: &str, args: &[V]) -> Result<bool, ()> {
    let mut prev = args[0].clone();
    for item in &args[1..] {
        let checked = compare_check(item, &prev, strict(op))?;
        if !js_op(op, &prev, &checked) {
            return Ok(false);
        }
        prev = checked;
    }
    Ok(true)
}

/// The JSONLogic operator's Vexil comparison, and with the operands swapped.
fn vexil_op(op: &str, attr_left: bool) -> &'static str {
    match (op, attr_left) {
        ("<", true) | (">", false) => "lt",
        ("<=", true) | (">=", false) => "lte",
        (">", true) | ("<", false) => "gt",
        (">=", true) | ("<=", false) => "gte",
        _ => "eq",
    }
}

/// `true`/`false` entries for the contexts of `class` where `holds` holds or not.
fn split(class: Value, holds: Value) -> Part {
    vec![
        (all([class.clone(), holds.clone()]), V::Bool(true)),
        (all([class, not(holds)]), V::Bool(false)),
    ]
}

/// What a context value JavaScript reads as a number satisfies `x <op> k`, as clauses
/// over numbers (`lenient`: over text read with `Number()`).
fn numeric(path: &str, op: &str, k: f64, attr_left: bool, lenient: bool) -> Value {
    match op {
        "==" => number_test(path, "eq", k, lenient),
        "!=" => not(number_test(path, "eq", k, lenient)),
        _ => number_test(path, vexil_op(op, attr_left), k, lenient),
    }
}

/// How an attribute is compared with a constant.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Order {
    /// `{op: [var, c]}`.
    AttrLeft,
    /// `{op: [c, var]}`: json-logic-engine's compiled `var` overwrites `prev` with the
    /// attribute's own value, so `compareCheck` compares it with itself and the
    /// comparison is plain JavaScript (it never throws for scalars).
    VarRight,
    /// `{op: [c, expr]}` where `expr` gives the attribute's value another way.
    AttrRight,
}

/// `path <op> c` (or `c <op> path`), over the types the value at `path` can have.
pub(super) fn attribute(op: &str, path: &str, c: &V, order: Order) -> Result<Part, Untranslatable> {
    let attr_left = order == Order::AttrLeft;
    let plain = order == Order::VarRight;
    let mut part = Vec::new();
    let concrete = |rep: V| {
        if plain {
            return V::Bool(js_op(op, c, &rep));
        }
        let args = if attr_left {
            [rep, c.clone()]
        } else {
            [c.clone(), rep]
        };
        match constant(op, &args) {
            Ok(b) => V::Bool(b),
            Err(()) => V::Error,
        }
    };
    part.push((not(exists(path)), concrete(V::Null)));
    part.push((in_values(path, vec![json!(true)]), concrete(V::Bool(true))));
    part.push((
        in_values(path, vec![json!(false)]),
        concrete(V::Bool(false)),
    ));
    let num = is_number(path);
    let text = is_string(path);
    if strict(op) {
        let holds = match c {
            V::Num(k) => test(path, "in", vec![json!(k)]),
            _ => super::super::clauses::never(),
        };
        part.extend(split(
            num,
            if op == "===" {
                holds.clone()
            } else {
                not(holds)
            },
        ));
        let holds = match c {
            V::Str(s) => in_values(path, vec![json!(s)]),
            _ => super::super::clauses::never(),
        };
        part.extend(split(
            text,
            if op == "===" {
                holds.clone()
            } else {
                not(holds)
            },
        ));
        return Ok(part);
    }
    // Numbers: compared with +c; text that is not a number throws (plain: is false).
    let k = to_number(c);
    if matches!(c, V::Str(_)) && k.is_nan() {
        let v = if plain { V::Bool(op == "!=") } else { V::Error };
        part.push((num, v));
    } else if plain && *c == V::Null {
        // JavaScript: `null == x` is false for numbers, `null < x` reads null as 0.
        match op {
            "==" => part.push((num, V::Bool(false))),
            "!=" => part.push((num, V::Bool(true))),
            _ => part.extend(split(num.clone(), numeric(path, op, 0.0, false, false))),
        }
    } else {
        part.extend(split(num.clone(), numeric(path, op, k, attr_left, false)));
    }
    // Text: against text (or null) directly; against a number or boolean read with Number().
    match c {
        V::Str(s) => match op {
            "==" | "!=" => {
                let eq = in_values(path, vec![json!(s)]);
                part.extend(split(text, if op == "==" { eq.clone() } else { not(eq) }));
            }
            _ => return Err(format!("`{op}` orders text against the text {s:?} (string order), which Vexil cannot express")),
        },
        V::Null => match op {
            "==" => part.push((text, V::Bool(false))),
            "!=" => part.push((text, V::Bool(true))),
            _ => part.extend(split(text, numeric(path, op, 0.0, attr_left, true))),
        },
        _ => {
            let is_numeric = any([
                number_test(path, "lt", 0.0, true),
                number_test(path, "gte", 0.0, true),
            ]);
            // Text that is not a number: NaN (plain: `!=` holds, the rest do not).
            let v = if plain { V::Bool(op == "!=") } else { V::Error };
            part.push((all([text.clone(), not(is_numeric.clone())]), v));
            part.extend(split(all([text, is_numeric]), numeric(path, op, k, attr_left, true)));
        }
    }
    Ok(part)
}

/// `lo <op> var <op> hi` (JSONLogic's between) with number bounds, compiled as
/// `(prev = lo) OP (prev = var) && prev OP compareCheck(hi, prev)`: the first step is
/// plain JavaScript (see [`Order::VarRight`]), the second only runs when it holds.
pub(super) fn between(op: &str, lo: &V, path: &str, hi: &V) -> Result<Part, Untranslatable> {
    let (V::Num(a), V::Num(b)) = (lo, hi) else {
        return Err(format!("a `{op}` between non-number bounds"));
    };
    let concrete = |x: V| {
        if !js_op(op, lo, &x) {
            return V::Bool(false);
        }
        match compare_check(hi, &x, false) {
            Ok(h) => V::Bool(js_op(op, &x, &h)),
            Err(()) => V::Error,
        }
    };
    let mut part = vec![
        (not(exists(path)), concrete(V::Null)),
        (in_values(path, vec![json!(true)]), concrete(V::Bool(true))),
        (
            in_values(path, vec![json!(false)]),
            concrete(V::Bool(false)),
        ),
    ];
    let inside = |lenient: bool| {
        all([
            numeric(path, op, *a, false, lenient),
            numeric(path, op, *b, true, lenient),
        ])
    };
    part.extend(split(is_number(path), inside(false)));
    // Text: read with Number(); NaN fails the first step, so nothing throws.
    part.extend(split(is_string(path), inside(true)));
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expectations are what flagd-core 4 answers for `{"op": [a, b]}`.
    #[test]
    fn constants_compare_as_json_logic_engine() {
        let s = |t: &str| V::Str(t.into());
        assert_eq!(constant("==", &[V::Null, V::Num(0.0)]), Ok(true));
        assert_eq!(constant("==", &[V::Null, V::Null]), Ok(true));
        assert_eq!(constant("==", &[V::Num(0.0), V::Null]), Ok(true));
        assert_eq!(constant("==", &[s(""), V::Null]), Ok(false));
        assert_eq!(constant("==", &[V::Bool(false), V::Null]), Ok(true));
        assert_eq!(constant("<", &[V::Null, V::Num(30.0)]), Ok(true));
        assert_eq!(constant("<", &[V::Num(30.0), V::Null]), Ok(false));
        assert_eq!(constant("<", &[s("abc"), V::Num(30.0)]), Err(()));
        assert_eq!(constant("<", &[V::Num(30.0), s("abc")]), Err(()));
        // With a `var` on the right the comparison is plain JavaScript.
        assert!(!js_op("<", &V::Num(30.0), &s("abc")));
        assert_eq!(constant("==", &[V::Num(5.0), s("x")]), Err(()));
        assert_eq!(constant("<", &[s(" 25 "), V::Num(30.0)]), Ok(true));
        assert_eq!(
            constant("<=", &[V::Num(25.0), V::Num(82.0), V::Num(43.0)]),
            Ok(false)
        );
        assert_eq!(
            constant("<=", &[V::Num(25.0), s("30"), V::Num(43.0)]),
            Ok(true)
        );
        assert_eq!(constant("<", &[s("9"), s("10")]), Ok(false));
    }
}
