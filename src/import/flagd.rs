//! flagd → Vexil. Input: a flagd flag definition (`{flags: {key: {state, variants,
//! defaultVariant, targeting}}, $evaluators}`), targeting in JSONLogic.
//!
//! An `if` chain becomes ordered rules, its last branch the fallthrough; `fractional`
//! becomes a rollout with flagd's own hashing (`"bucketing": "flagd"`); `$evaluators`
//! become segments.

fn never(_: &str) -> Value {
    super::clauses::never()
}
use super::{loss, ImportError, Imported, Loss};
use serde_json::{json, Map, Value};

fn var_path(v: &Value) -> Option<String> {
    let name = match v.get("var")? {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.first()?.as_str()?.to_string(),
        _ => return None,
    };
    Some(match name.as_str() {
        "targetingKey" => "targetingKey".into(),
        "$flagd.timestamp" | "$flagd.flagKey" => return None,
        _ => name,
    })
}

struct Ctx<'a> {
    key: &'a str,
    lossy: &'a mut Vec<Loss>,
}

impl Ctx<'_> {
    fn lose(&mut self, message: String) -> Value {
        loss(self.lossy, self.key, message);
        never("targetingKey")
    }

    /// A JSONLogic condition as a clause.
    fn condition(&mut self, logic: &Value) -> Value {
        let Some((op, args)) = logic.as_object().and_then(|m| m.iter().next()) else {
            return self.lose(format!("condition {logic} is not JSONLogic"));
        };
        let args: Vec<Value> = match args {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let compare = |ctx: &mut Ctx<'_>, vexil: &str, flipped: &str| -> Value {
            match (
                args.first().and_then(var_path),
                args.get(1),
                args.get(1).and_then(var_path),
                args.first(),
            ) {
                (Some(path), Some(v), _, _) if v.get("var").is_none() => {
                    json!({ "attr": path, "op": vexil, "values": [v] })
                }
                (_, _, Some(path), Some(v)) if v.get("var").is_none() => {
                    json!({ "attr": path, "op": flipped, "values": [v] })
                }
                _ => ctx.lose(format!(
                    "`{op}` compares {logic}, which Vexil cannot express"
                )),
            }
        };
        match op.as_str() {
            "and" => json!({ "all": args.iter().map(|a| self.condition(a)).collect::<Vec<_>>() }),
            "or" => json!({ "any": args.iter().map(|a| self.condition(a)).collect::<Vec<_>>() }),
            "!" => json!({ "not": self.condition(&args[0]) }),
            "==" | "===" => compare(self, "eq", "eq"),
            "!=" | "!==" => compare(self, "neq", "neq"),
            "<" if args.len() == 3 => {
                json!({ "all": [ self.condition(&json!({ "<": [args[0], args[1]] })), self.condition(&json!({ "<": [args[1], args[2]] })) ] })
            }
            "<" => compare(self, "lt", "gt"),
            "<=" => compare(self, "lte", "gte"),
            ">" => compare(self, "gt", "lt"),
            ">=" => compare(self, "gte", "lte"),
            "starts_with" => compare(self, "starts_with", "starts_with"),
            "ends_with" => compare(self, "ends_with", "ends_with"),
            "in" => match (args.first(), args.get(1)) {
                (Some(Value::String(s)), Some(v)) if var_path(v).is_some() => {
                    json!({ "attr": var_path(v), "op": "contains", "values": [s] })
                }
                (Some(v), Some(Value::Array(list))) if var_path(v).is_some() => {
                    json!({ "attr": var_path(v), "op": "in", "values": list })
                }
                _ => self.lose(format!("`in` over {logic} cannot be expressed")),
            },
            "sem_ver" => {
                let path = args.first().and_then(var_path);
                let op = match args.get(1).and_then(Value::as_str) {
                    Some("=") => "semver_eq",
                    Some(">") => "semver_gt",
                    Some(">=") => "semver_gte",
                    Some("<") => "semver_lt",
                    Some("<=") => "semver_lte",
                    other => {
                        return self.lose(format!(
                        "sem_ver operator {other:?} (caret/tilde ranges) has no Vexil equivalent"
                    ))
                    }
                };
                match (path, args.get(2)) {
                    (Some(path), Some(v)) => json!({ "attr": path, "op": op, "values": [v] }),
                    _ => self.lose(format!("sem_ver {logic} cannot be expressed")),
                }
            }
            "$ref" => match args.first().and_then(Value::as_str) {
                Some(name) => json!({ "segment": format!("flagd-{name}") }),
                None => self.lose(format!("$ref {logic} names no evaluator")),
            },
            other => self.lose(format!(
                "JSONLogic `{other}` has no Vexil equivalent; the branch never matches"
            )),
        }
    }

    /// A branch's outcome (a variant name or `fractional`) as a serve.
    fn serve(&mut self, logic: &Value) -> Value {
        match logic {
            Value::String(variant) => json!({ "variant": variant }),
            Value::Object(m) if m.contains_key("fractional") => self.fractional(&m["fractional"]),
            other => {
                loss(
                    self.lossy,
                    self.key,
                    format!(
                        "branch result {other} is not a variant name; serves the default variant"
                    ),
                );
                Value::Null
            }
        }
    }

    fn fractional(&mut self, args: &Value) -> Value {
        let args = args.as_array().cloned().unwrap_or_default();
        let (bucket_by, buckets) = match args.first() {
            Some(Value::Array(_)) | None => (None, &args[..]),
            Some(first) => (Some(first.clone()), &args[1..]),
        };
        let (by, salt) = match bucket_by {
            None => ("targetingKey".to_string(), None),
            Some(v) if var_path(&v).is_some() => {
                (var_path(&v).unwrap_or_default(), Some(String::new()))
            }
            Some(v) => match v.get("cat").and_then(Value::as_array).map(Vec::as_slice) {
                Some([seed, var]) if var_path(var).is_some() => {
                    let salt = match seed {
                        Value::String(s) => Some(s.clone()),
                        s if s.get("var").and_then(Value::as_str) == Some("$flagd.flagKey") => None,
                        _ => {
                            return self
                                .serve_lost(format!("fractional seed {seed} is not a string"))
                        }
                    };
                    (var_path(var).unwrap_or_default(), salt)
                }
                _ => {
                    return self.serve_lost(format!("fractional bucketBy {v} cannot be expressed"))
                }
            },
        };
        let total: u64 = buckets
            .iter()
            .map(|b| b.get(1).and_then(Value::as_u64).unwrap_or(1))
            .sum();
        let mut weights = Map::new();
        for b in buckets {
            let Some(name) = b.get(0).and_then(Value::as_str) else {
                return self.serve_lost(format!("fractional bucket {b} has no variant"));
            };
            let w = b.get(1).and_then(Value::as_u64).unwrap_or(1);
            if (w * 100_000) % total.max(1) != 0 {
                loss(self.lossy, self.key, format!("fractional weight {w}/{total} is not a whole thousandth of a percent; some units may change variant"));
            }
            weights.insert(
                name.to_string(),
                json!(((w as f64 / total.max(1) as f64) * 100_000.0).round() / 1000.0),
            );
        }
        let mut rollout = json!({ "by": by, "bucketing": "flagd", "weights": weights });
        if let Some(salt) = salt {
            rollout["salt"] = json!(salt);
        }
        json!({ "rollout": rollout })
    }

    fn serve_lost(&mut self, message: String) -> Value {
        loss(self.lossy, self.key, message);
        Value::Null
    }
}

/// Translates a flagd flag definition document.
pub fn translate(input: &Value) -> Result<Imported, ImportError> {
    let flags = input["flags"].as_object().ok_or_else(|| {
        ImportError::Format("not a flagd flag definition: no `flags` object".into())
    })?;
    let mut out = Imported::default();
    let mut segments = Map::new();
    for (name, logic) in input["$evaluators"].as_object().into_iter().flatten() {
        let seg = format!("flagd-{name}");
        let mut ctx = Ctx {
            key: &seg,
            lossy: &mut out.lossy,
        };
        segments.insert(seg.clone(), ctx.condition(logic));
    }
    let mut docs = Vec::new();
    for (key, f) in flags {
        let mut ctx = Ctx {
            key,
            lossy: &mut out.lossy,
        };
        let default = f["defaultVariant"].as_str().unwrap_or_default().to_string();
        let mut rules = Vec::new();
        let mut fallthrough = json!({ "variant": default });
        let targeting = f
            .get("targeting")
            .filter(|t| t.as_object().is_some_and(|m| !m.is_empty()));
        if let Some(t) = targeting {
            if let Some(branches) = t.get("if").and_then(Value::as_array) {
                let mut i = 0;
                while i + 1 < branches.len() {
                    let when = ctx.condition(&branches[i]);
                    let serve = ctx.serve(&branches[i + 1]);
                    if !serve.is_null() {
                        rules.push(json!({ "id": format!("rule-{}", rules.len() + 1), "when": when, "serve": serve }));
                    }
                    i += 2;
                }
                if i < branches.len() {
                    let last = ctx.serve(&branches[i]);
                    if !last.is_null() {
                        fallthrough = last;
                    }
                }
            } else {
                let serve = ctx.serve(t);
                if !serve.is_null() {
                    fallthrough = serve;
                }
            }
        }
        let enabled = f["state"].as_str() != Some("DISABLED");
        if !enabled {
            loss(ctx.lossy, key, "flagd answers a disabled flag with the caller's default; Vexil serves the default variant (reason DISABLED)");
        }
        let mut doc = json!({
            "key": key,
            "enabled": enabled,
            "variants": f["variants"],
            "off_variant": default,
            "rules": rules,
            "fallthrough": fallthrough,
        });
        if let Some(m) = f.get("metadata").filter(|m| m.is_object()) {
            doc["metadata"] = m.clone();
        }
        docs.push(doc);
    }
    out.document.insert("flags".into(), Value::Array(docs));
    out.document
        .insert("segments".into(), Value::Object(segments));
    Ok(out)
}
