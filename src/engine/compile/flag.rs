//! Flags and serves as written to their compiled form.

use super::{bucket, thousandths, Interner, Issues};
use crate::engine::bucket::{coarseness, hash_prefix, prefix};
use crate::engine::compiled::{
    ExclusionGroup, ExclusionRange, Flag, FlagId, Prereq, Rollout, Rule, Serve, ValueType, Variant,
    VariantId, MAX_VARIANTS,
};
use crate::engine::hash::{salt_prefix, HashPrefix, BUCKETS};
use crate::engine::model::{FlagDef, FlagsDocument, MissingUnit, Serve as ServeDef};
use crate::engine::time::parse_rfc3339_ms;
use fnv::FnvHashMap;
use std::fmt;
use std::sync::Arc;

pub(crate) fn compile_serve(
    serve: &ServeDef,
    def: &FlagDef,
    variants: &[Variant],
    env: &mut Interner<'_>,
    issues: &mut Issues,
    path: &dyn fmt::Display,
    is_fallthrough: bool,
) -> Option<Serve> {
    let find = |name: &str| {
        variants
            .binary_search_by(|v| (*v.name).cmp(name))
            .ok()
            .map(|i| i as VariantId)
    };
    if serve.caller_default {
        if serve.variant.is_some() || serve.rollout.is_some() {
            issues.push(
                path.to_string(),
                "a serve has one of `variant`, `rollout` or `caller_default`",
            );
            return None;
        }
        return Some(Serve::CallerDefault);
    }
    match (&serve.variant, &serve.rollout) {
        (Some(name), None) => match find(name) {
            Some(id) => Some(Serve::Fixed(id)),
            None => {
                issues.push(
                    format!("{path}.variant"),
                    format!("unknown variant `{name}`"),
                );
                None
            }
        },
        (None, Some(rollout)) => {
            let path = Join(path, ".rollout");
            let mut ok = true;
            for problem in bucket::by_problems(rollout.by.as_ref()) {
                issues.push(format!("{path}.by"), problem);
                ok = false;
            }
            if rollout.weights.0.is_empty() {
                issues.push(
                    format!("{path}.weights"),
                    "a rollout needs at least one weight",
                );
                return None;
            }
            let mut cuts = Vec::with_capacity(rollout.weights.0.len());
            let mut total: u32 = 0;
            for (name, percent) in &rollout.weights.0 {
                let Some(id) = find(name) else {
                    issues.push(
                        format!("{path}.weights.{name}"),
                        format!("unknown variant `{name}`"),
                    );
                    ok = false;
                    continue;
                };
                match thousandths(*percent) {
                    Ok(t) => {
                        total += t;
                        cuts.push((total, id));
                    }
                    Err(msg) => {
                        issues.push(format!("{path}.weights.{name}"), format!("weight {msg}"));
                        ok = false;
                    }
                }
            }
            if ok && total != BUCKETS {
                issues.push(
                    format!("{path}.weights"),
                    format!(
                        "weights sum to {}, they must sum to 100",
                        total as f64 / 1000.0
                    ),
                );
                ok = false;
            }
            if !ok {
                return None;
            }
            let units = bucket::unit_ids(rollout.by.as_ref(), env);
            let salt = rollout.salt.as_deref().unwrap_or(&def.key);
            let bucketing = rollout.bucketing.unwrap_or_default();
            let prefix = hash_prefix(bucketing, prefix(bucketing, salt));
            let total = match bucket::total(bucketing, rollout.total) {
                Ok(t) => t,
                Err(msg) => {
                    issues.push(format!("{path}.total"), msg);
                    return None;
                }
            };
            // With an explicit total, the cuts are the import's exact thresholds.
            if let (None, Some((step, what))) = (total, coarseness(bucketing)) {
                if cuts.iter().any(|(upper, _)| upper % step != 0) {
                    issues.push(
                        format!("{path}.weights"),
                        format!(
                            "{} bucketing places units in {what}; these weights are finer",
                            bucket::bucketing_name(bucketing)
                        ),
                    );
                    return None;
                }
            }
            let falls_through = rollout.missing_unit == Some(MissingUnit::Fallthrough);
            if falls_through && is_fallthrough {
                issues.push(
                    format!("{path}.missing_unit"),
                    "`\"missing_unit\": \"fallthrough\"` belongs on a rule's rollout; the fallthrough has nothing to fall through to",
                );
                return None;
            }
            Some(Serve::Rollout(Rollout {
                units,
                prefix,
                cuts: cuts.into_boxed_slice(),
                bucketing,
                falls_through,
                total,
            }))
        }
        (Some(_), Some(_)) => {
            issues.push(
                path.to_string(),
                "a serve has either `variant` or `rollout`, not both",
            );
            None
        }
        (None, None) => {
            issues.push(
                path.to_string(),
                "a serve needs `variant`, `rollout` or `caller_default`",
            );
            None
        }
    }
}

/// Where in the document a flag is (`flags[key]`), written out only when an issue
/// is reported: compiling a valid snapshot formats no paths.
struct FlagPath<'a>(&'a str);

impl fmt::Display for FlagPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flags[{}]", self.0)
    }
}

/// A rule's location: `flags[key].rules[id]`, or its index when the id is empty.
struct RulePath<'a> {
    flag: &'a FlagPath<'a>,
    id: &'a str,
    index: usize,
}

impl fmt::Display for RulePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.id.is_empty() {
            write!(f, "{}.rules[{}]", self.flag, self.index)
        } else {
            write!(f, "{}.rules[{}]", self.flag, self.id)
        }
    }
}

/// A location followed by a field (`….serve`).
struct Join<'a>(&'a dyn fmt::Display, &'static str);

impl fmt::Display for Join<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

pub(crate) fn compile_flag(
    def: &FlagDef,
    doc: &FlagsDocument,
    index: &FnvHashMap<Arc<str>, FlagId>,
    groups: &[ExclusionGroup],
    env: &mut Interner<'_>,
    issues: &mut Issues,
) -> Option<Flag> {
    let base = FlagPath(&def.key);
    let before = issues.0.len();
    env.flag_key = Some(def.key.clone());

    if def.variants.is_empty() {
        issues.push(
            format!("{base}.variants"),
            "a flag needs at least one variant",
        );
    }
    if def.variants.len() > MAX_VARIANTS {
        issues.push(
            format!("{base}.variants"),
            format!(
                "{} variants; the limit is {MAX_VARIANTS}",
                def.variants.len()
            ),
        );
    }
    let mut value_type_seen = None;
    for (name, value) in &def.variants {
        if name.is_empty() {
            issues.push(format!("{base}.variants"), "variant name is empty");
        }
        match (ValueType::of(value), value_type_seen) {
            (None, _) => issues.push(
                format!("{base}.variants.{name}"),
                "variant value is null; use a boolean, string, number or JSON object",
            ),
            (Some(t), None) => value_type_seen = Some(t),
            (Some(t), Some(first)) if t != first => issues.push(
                format!("{base}.variants.{name}"),
                format!("variant is a {t} but the flag's other variants are {first}s; all variants of a flag share one type"),
            ),
            _ => {}
        }
    }
    // BTreeMap order: sorted by name, which `Flag::variant_id` relies on.
    let variants: Vec<Variant> = def
        .variants
        .iter()
        .map(|(name, value)| Variant {
            name: name.as_str().into(),
            value: value.to_string().into_boxed_str(),
        })
        .collect();
    let variant_of = |name: &str| {
        def.variants
            .keys()
            .position(|k| k == name)
            .map(|i| i as VariantId)
    };

    // Without an off variant the guard phases return the caller's default.
    let off_variant = def.off_variant.as_deref().map(variant_of);
    if let (Some(name), Some(None)) = (&def.off_variant, off_variant) {
        issues.push(
            format!("{base}.off_variant"),
            format!("unknown variant `{name}`"),
        );
    }
    if let Some(expires) = &def.expires_at {
        if parse_rfc3339_ms(expires).is_none() {
            issues.push(
                format!("{base}.expires_at"),
                format!("`{expires}` is not an RFC 3339 time"),
            );
        }
    }

    let mut prerequisites = Vec::with_capacity(def.prerequisites.len());
    for (i, p) in def.prerequisites.iter().enumerate() {
        let path = format!("{base}.prerequisites[{i}]");
        if p.flag == def.key {
            issues.push(path, "a flag cannot be its own prerequisite");
            continue;
        }
        let Some(&pid) = index.get(p.flag.as_str()) else {
            issues.push(format!("{path}.flag"), format!("unknown flag `{}`", p.flag));
            continue;
        };
        if p.variants.is_empty() {
            issues.push(format!("{path}.variants"), "list at least one variant");
            continue;
        }
        let pdef = &doc.flags[pid as usize];
        let mut ids = Vec::new();
        for v in &p.variants {
            match pdef.variants.keys().position(|k| k == v) {
                Some(id) => ids.push(id as VariantId),
                None => issues.push(
                    format!("{path}.variants"),
                    format!("flag `{}` has no variant `{v}`", p.flag),
                ),
            }
        }
        prerequisites.push(Prereq {
            flag: pid,
            variants: ids.into_boxed_slice(),
        });
    }

    let exclusion = def.exclusion.as_ref().and_then(|e| {
        let path = format!("{base}.exclusion");
        let [start, end] = e.range;
        let mut ok = true;
        if start >= end || end > BUCKETS {
            issues.push(
                format!("{path}.range"),
                format!("range [{start}, {end}) must satisfy start < end <= {BUCKETS}"),
            );
            ok = false;
        }
        match groups.iter().position(|g| *g.name == *e.group) {
            Some(group) if ok => Some(ExclusionRange {
                group: group as u32,
                prefix: HashPrefix::new(salt_prefix(&groups[group].salt), 0),
                start,
                end,
            }),
            Some(_) => None,
            None => {
                issues.push(
                    format!("{path}.group"),
                    format!(
                        "unknown exclusion group `{}` (declare it under `exclusion_groups`)",
                        e.group
                    ),
                );
                None
            }
        }
    });

    let access = def
        .access
        .as_ref()
        .and_then(|c| issues.clause(c, env, &|| format!("{base}.access")));

    let mut rules = Vec::with_capacity(def.rules.len());
    let mut seen_ids: Vec<&str> = Vec::new();
    for (i, rule) in def.rules.iter().enumerate() {
        let path = RulePath {
            flag: &base,
            id: &rule.id,
            index: i,
        };
        if rule.id.is_empty() {
            issues.push(format!("{path}.id"), "rule id is empty");
        } else if seen_ids.contains(&rule.id.as_str()) {
            issues.push(format!("{path}.id"), "rule id is used twice in this flag");
        }
        seen_ids.push(&rule.id);
        let when = issues.clause(&rule.when, env, &|| format!("{path}.when"));
        let serve = compile_serve(
            &rule.serve,
            def,
            &variants,
            env,
            issues,
            &Join(&path, ".serve"),
            false,
        );
        if let (Some(when), Some(serve)) = (when, serve) {
            rules.push(Rule {
                id: rule.id.as_str().into(),
                when,
                serve,
            });
        }
    }
    let fallthrough = compile_serve(
        &def.fallthrough,
        def,
        &variants,
        env,
        issues,
        &Join(&base, ".fallthrough"),
        true,
    );

    if issues.0.len() != before {
        return None;
    }
    let fallthrough = fallthrough?;
    Some(Flag {
        key: def.key.as_str().into(),
        value_type: value_type_seen?,
        variants: variants.into_boxed_slice(),
        off_variant: match off_variant {
            Some(id) => Some(id?),
            None => None,
        },
        enabled: def.enabled,
        audit_evaluations: def.audit_evaluations,
        private_attributes: def
            .private_attributes
            .iter()
            .map(|s| s.as_str().into())
            .collect(),
        metadata: serde_json::to_string(&def.metadata)
            .unwrap_or_else(|_| "{}".into())
            .into_boxed_str(),
        prerequisites: prerequisites.into_boxed_slice(),
        exclusion,
        access,
        rules: rules.into_boxed_slice(),
        fallthrough,
    })
}
