//! Filling a context value by value, handing strings over by literal id, and
//! resolving its JSON give the same context; numbers hash as JavaScript writes them.

use super::*;
use serde_json::json;

/// Numbers hash as JavaScript writes them (`String(n)`, `JSON.stringify`).
#[test]
fn number_text_is_ecmascript_to_string() {
    for (n, text) in [
        (0.0, "0"),
        (-0.0, "0"),
        (12345.0, "12345"),
        (-3.0, "-3"),
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (2f64.powi(60), "1152921504606847000"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123456.789, "123456.789"),
        (1.5e300, "1.5e+300"),
        (-2.5e-9, "-2.5e-9"),
        (5e-324, "5e-324"),
        (0.1 + 0.2, "0.30000000000000004"),
    ] {
        assert_eq!(number_text(n).as_deref(), Some(text), "{n:e}");
    }
    assert_eq!(number_text(f64::NAN), None);
}

fn table() -> Vec<AttrSpec> {
    let all = Needs {
        text: true,
        lower: true,
        number: true,
        js_number: true,
        date: true,
        semver: true,
        ip: true,
        unit: true,
    };
    ["targetingKey", "tags", "n", "o", "plan"]
        .into_iter()
        .map(|path| {
            let mut spec = AttrSpec::new(path);
            spec.needs = all;
            spec.literals.intern("A");
            spec.literals.intern("2.0.0");
            spec.folded.intern("a");
            spec
        })
        .collect()
}

/// Filling a context value by value gives what resolving its JSON gives.
#[test]
fn set_equals_resolve() {
    let table = table();
    let ctx = json!({"targetingKey": 42, "tags": ["A", 1, true, null, {}], "n": "2.0.0-rc.1", "o": {"x": 1}, "plan": "A"});
    let mut built = ResolvedContext::empty(&table);
    built.set(&table, 4, HostValue::Str("A"));
    built.set(&table, 0, HostValue::Num(42.0, None));
    built.set_list(
        &table,
        1,
        [
            HostValue::Str("A"),
            HostValue::Num(1.0, None),
            HostValue::Bool(true),
            HostValue::Other,
            HostValue::Other,
        ],
    );
    built.set(&table, 2, HostValue::Str("2.0.0-rc.1"));
    built.set(&table, 3, HostValue::Other);
    let resolved = resolve(&table, &ctx).unwrap();
    assert_eq!(built, resolved);
    assert_eq!(resolved.targeting_key(), Some("42"));
    let Scalar::Str(plan) = resolved.scalars(&resolved.value(4))[0] else {
        panic!("a string")
    };
    assert_eq!((plan.lit, plan.folded), (0, 0));
    let Scalar::Str(n) = resolved.scalars(&resolved.value(2))[0] else {
        panic!("a string")
    };
    assert_eq!(resolved.version_of(&n), Some(([2, 0, 0], "rc.1")));
}

/// A host that looked strings up itself gives the same context as one that
/// handed the text over.
#[test]
fn known_strings_equal_looked_up_ones() {
    let mut table = table();
    table[4].needs = Needs::default();
    let mut a = ResolvedContext::empty(&table);
    a.set(&table, 4, HostValue::Str("A"));
    let mut b = ResolvedContext::empty(&table);
    b.set(
        &table,
        4,
        HostValue::Known {
            lit: 0,
            num: None,
            text: None,
            lower: None,
            js_num: None,
        },
    );
    assert_eq!(a, b);
    // An id past the table is no literal.
    b.set(
        &table,
        4,
        HostValue::Known {
            lit: 7,
            num: None,
            text: None,
            lower: None,
            js_num: None,
        },
    );
    let Scalar::Str(s) = b.scalars(&b.value(4))[0] else {
        panic!("a string")
    };
    assert_eq!(s.lit, NO_LITERAL);
}

/// The forms a host derives itself (lower case and its folded id, `Number(text)`)
/// give the context the engine derives from the text.
#[test]
fn host_derived_forms_equal_the_engines() {
    let table = table();
    for (text, lower, folded, js_num) in [
        ("A", "a", 0, None),
        (" 0x1F ", " 0x1f ", NO_LITERAL, Some(31.0)),
        ("ÀB", "àb", NO_LITERAL, None),
    ] {
        let mut a = ResolvedContext::empty(&table);
        a.set(&table, 4, HostValue::Str(text));
        let mut b = ResolvedContext::empty(&table);
        b.set(
            &table,
            4,
            HostValue::Known {
                lit: table[4].literals.id(text),
                num: finite_number(text),
                text: Some(text),
                lower: Some((lower, folded)),
                js_num,
            },
        );
        assert_eq!(a, b, "{text}");
    }
}
