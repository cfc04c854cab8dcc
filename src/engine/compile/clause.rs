//! Clauses as written (JSON values) to compiled [`Cond`]s, with every problem
//! reported where it is.

use crate::engine::clause::Cidr;
use crate::engine::clause::{
    build_test, check_shape, ClauseEnv, Cond, EqValue, Family, TestError, TestValues,
    MAX_CLAUSE_DEPTH, MAX_REGEX_LEN,
};
use crate::engine::dfa_build;
use crate::engine::kinds::Op;
use crate::engine::model::Clause;
use crate::engine::semver::Version;
use crate::engine::time::parse_rfc3339_ms;
use serde_json::Value;

/// A value for a message, shortened.
fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// The values of `clause` typed for `op`, or the message saying why they are not.
fn typed<'a>(
    op: Op,
    values: &'a [Value],
    ignore_case: bool,
    lenient: bool,
) -> Result<TestValues<'a>, String> {
    let each = |want: &str, f: &dyn Fn(&'a Value) -> Option<()>| -> Result<(), String> {
        for v in values {
            if f(v).is_none() {
                return Err(format!(
                    "operator `{}` {want}, got {}",
                    op.name(),
                    describe(v)
                ));
            }
        }
        Ok(())
    };
    Ok(match op.family() {
        Family::Scalars => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::String(s) => EqValue::Str(s),
                    Value::Number(n) => EqValue::Num(n.as_f64().ok_or("number out of range")?),
                    Value::Bool(b) => EqValue::Bool(*b),
                    other => {
                        return Err(format!(
                            "operator `{}` compares strings, numbers or booleans, got {}",
                            op.name(),
                            describe(other)
                        ))
                    }
                });
            }
            TestValues::Scalars(out)
        }
        Family::Strings if op == Op::Matches => {
            each("takes patterns", &|v| v.as_str().map(drop))?;
            let mut out = Vec::with_capacity(values.len());
            for pattern in values.iter().filter_map(Value::as_str) {
                if pattern.len() > MAX_REGEX_LEN {
                    return Err(format!(
                        "pattern is {} bytes long; the limit is {MAX_REGEX_LEN}",
                        pattern.len()
                    ));
                }
                let dfa = dfa_build::build(pattern, ignore_case).map_err(|message| {
                    format!(
                        "pattern {} does not compile: {message}",
                        describe(&Value::from(pattern))
                    )
                })?;
                out.push((pattern, dfa));
            }
            TestValues::Patterns(out)
        }
        Family::Strings => {
            each("takes strings", &|v| v.as_str().map(drop))?;
            TestValues::Strings(values.iter().filter_map(Value::as_str).collect())
        }
        Family::Numbers => {
            each("takes numbers", &|v| v.as_f64().map(drop))?;
            TestValues::Numbers(values.iter().filter_map(Value::as_f64).collect())
        }
        Family::Versions if lenient => {
            let parse = |v: &Value| match v {
                Value::String(s) => crate::engine::lenient::flagd_version(s),
                Value::Number(n) => crate::engine::lenient::flagd_version(&n.to_string()),
                _ => None,
            };
            each(
                "(lenient) takes versions such as \"1.2.3\", \"v1.2\" or 1",
                &|v| parse(v).map(drop),
            )?;
            TestValues::Versions(values.iter().filter_map(parse).collect())
        }
        Family::Versions => {
            let parse = |v: &Value| v.as_str().and_then(Version::parse);
            each("takes strict SemVer 2.0 versions such as \"1.2.3\"", &|v| {
                parse(v).map(drop)
            })?;
            TestValues::Versions(values.iter().filter_map(parse).collect())
        }
        Family::Times => {
            let parse = |v: &Value| match v {
                Value::String(s) => parse_rfc3339_ms(s),
                Value::Number(n) => n.as_i64(),
                _ => None,
            };
            each(
                "takes RFC 3339 times such as \"2027-01-31T00:00:00Z\" (or epoch milliseconds)",
                &|v| parse(v).map(drop),
            )?;
            TestValues::Times(values.iter().filter_map(parse).collect())
        }
        Family::Cidrs => {
            let parse = |v: &Value| v.as_str().and_then(Cidr::parse);
            each(
                "takes IP addresses or CIDR ranges such as \"10.0.0.0/8\" or \"2001:db8::/32\"",
                &|v| parse(v).map(drop),
            )?;
            TestValues::Cidrs(values.iter().filter_map(parse).collect())
        }
        Family::None => TestValues::None,
    })
}

fn message(error: TestError, attr: &str, op: Op) -> String {
    match error {
        TestError::EmptyPath => format!("attribute path `{attr}` has an empty segment"),
        TestError::NoValues => format!("operator `{}` needs at least one value", op.name()),
        TestError::ValuesForExists => "operator `exists` takes no values".into(),
        TestError::WrongValues => format!("operator `{}` takes other values", op.name()),
        TestError::IgnoreCaseNotString => format!(
            "`ignore_case` applies to string operators, not `{}`",
            op.name()
        ),
        TestError::LenientNotNumeric => format!(
            "`lenient` applies to `lt`, `lte`, `gt`, `gte` and the semver operators, not `{}`",
            op.name()
        ),
        TestError::NowOperator => format!(
            "`$now` (the evaluation time) works with `before` and `after`, not `{}`",
            op.name()
        ),
        TestError::UnknownBuiltin => {
            format!("unknown built-in attribute `{attr}` (the only one is `$now`)")
        }
        TestError::RegexTooLong { len } => {
            format!("pattern is {len} bytes long; the limit is {MAX_REGEX_LEN}")
        }
    }
}

/// A string lower-cased (Unicode's full mapping, as JavaScript's `toLowerCase`).
fn fold_case(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.to_lowercase()),
        other => other.clone(),
    }
}

fn compile_test(clause: &Clause, env: &mut dyn ClauseEnv) -> Result<Cond, String> {
    let attr = clause
        .attr
        .as_deref()
        .ok_or("attribute test without `attr`")?;
    let op = clause.op.ok_or("attribute test without `op`")?;
    let values: &[Value] = clause.values.as_deref().unwrap_or(&[]);
    check_shape(attr, op, clause.ignore_case, clause.lenient, values.len())
        .map_err(|e| message(e, attr, op))?;
    // A case-insensitive test compares lower-cased text with lower-cased values; the
    // engine takes them folded (see `build_test`). A regex folds case itself.
    let folded: Vec<Value>;
    let given = if clause.ignore_case && op != Op::Matches {
        folded = values.iter().map(fold_case).collect();
        &folded[..]
    } else {
        values
    };
    let typed = typed(op, given, clause.ignore_case, clause.lenient)?;
    build_test(attr, op, clause.ignore_case, clause.lenient, typed, env)
        .map(Cond::Test)
        .map_err(|e| message(e, attr, op))
}

/// Compiles a clause. Errors are `(path, message)` pairs; `path` renders the clause's
/// location and is only called when there is an error to report.
pub(crate) fn compile(
    clause: &Clause,
    env: &mut dyn ClauseEnv,
    path: &dyn Fn() -> String,
    depth: usize,
    errors: &mut Vec<(String, String)>,
) -> Option<Cond> {
    if depth > MAX_CLAUSE_DEPTH {
        errors.push((
            path(),
            format!("clauses nest deeper than {MAX_CLAUSE_DEPTH} levels"),
        ));
        return None;
    }
    let forms = [
        clause.all.is_some(),
        clause.any.is_some(),
        clause.not.is_some(),
        clause.segment.is_some(),
        clause.attr.is_some() || clause.op.is_some() || clause.values.is_some(),
        clause.bucket.is_some(),
    ];
    let count = forms.iter().filter(|f| **f).count();
    if count != 1 {
        let msg = if count == 0 {
            "empty clause: use one of `all`, `any`, `not`, `segment`, `attr`/`op`/`values` or `bucket`"
        } else {
            "a clause must use exactly one of `all`, `any`, `not`, `segment`, `attr`/`op`/`values` or `bucket`"
        };
        errors.push((path(), msg.to_string()));
        return None;
    }
    if clause.ignore_case && clause.attr.is_none() {
        errors.push((
            path(),
            "`ignore_case` belongs on an attribute test".to_string(),
        ));
    }
    if clause.lenient && clause.attr.is_none() {
        errors.push((path(), "`lenient` belongs on an attribute test".to_string()));
    }
    let list = |items: &Vec<Clause>, name: &str, env: &mut dyn ClauseEnv, errors: &mut Vec<_>| {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, c) in items.iter().enumerate() {
            let child = || format!("{}.{name}[{i}]", path());
            match compile(c, env, &child, depth + 1, errors) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
        ok.then(|| out.into_boxed_slice())
    };
    if let Some(items) = &clause.all {
        return list(items, "all", env, errors).map(Cond::All);
    }
    if let Some(items) = &clause.any {
        return list(items, "any", env, errors).map(Cond::Any);
    }
    if let Some(inner) = &clause.not {
        return compile(inner, env, &|| format!("{}.not", path()), depth + 1, errors)
            .map(|c| Cond::Not(Box::new(c)));
    }
    if let Some(test) = &clause.bucket {
        return match super::bucket::compile(test, env) {
            Ok(b) => Some(Cond::Bucket(b)),
            Err(msg) => {
                errors.push((format!("{}.bucket", path()), msg));
                None
            }
        };
    }
    if let Some(name) = &clause.segment {
        return match env.segment(name) {
            Some(id) => Some(Cond::Segment(id)),
            None => {
                errors.push((path(), format!("unknown segment `{name}`")));
                None
            }
        };
    }
    match compile_test(clause, env) {
        Ok(test) => Some(test),
        Err(msg) => {
            errors.push((path(), msg));
            None
        }
    }
}
