//! Evaluation: the seed's phases, in order, over a compiled [`Snapshot`].
//!
//! Unknown flag → `FLAG_NOT_FOUND`; disabled → `DISABLED`; prerequisites →
//! `PREREQUISITE_FAILED`; exclusion group → `EXCLUDED`; access → `DENIED`; rules in
//! order (first match serves); fallthrough. [`Snapshot::evaluate`] returns a small
//! `Copy` [`Outcome`] and allocates nothing; [`Snapshot::details`] turns it into an
//! OpenFeature-shaped [`Details`] for adapters.

use super::compiled::{Flag, FlagId, Serve, Snapshot, VariantId};
use super::context::ResolvedContext;
use super::trace::{codes, note, Steps};
use std::fmt;

/// Why an evaluation returned what it did (OpenFeature reasons where they exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize),
    serde(rename_all = "SCREAMING_SNAKE_CASE")
)]
pub enum Reason {
    /// The flag has no targeting: its one fixed variant.
    Static,
    /// A rule matched and served a fixed variant.
    TargetingMatch,
    /// A percentage rollout chose the variant.
    Split,
    /// No rule matched: the fallthrough's fixed variant.
    Default,
    /// The kill switch is thrown.
    Disabled,
    /// Outside the flag's range of its mutual-exclusion group.
    Excluded,
    /// The `access` clauses refused the context.
    Denied,
    /// A prerequisite flag did not evaluate to a required variant.
    PrerequisiteFailed,
    /// The caller's default was returned because of an error.
    Error,
}

impl Reason {
    /// Every reason, in a fixed order (for metrics tables).
    pub const ALL: [Reason; 9] = [
        Reason::Static,
        Reason::TargetingMatch,
        Reason::Split,
        Reason::Default,
        Reason::Disabled,
        Reason::Excluded,
        Reason::Denied,
        Reason::PrerequisiteFailed,
        Reason::Error,
    ];

    /// The reason as written in results (`TARGETING_MATCH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Static => "STATIC",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Default => "DEFAULT",
            Reason::Disabled => "DISABLED",
            Reason::Excluded => "EXCLUDED",
            Reason::Denied => "DENIED",
            Reason::PrerequisiteFailed => "PREREQUISITE_FAILED",
            Reason::Error => "ERROR",
        }
    }

    /// Parses [`Reason::as_str`] output.
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the caller's default was returned (OpenFeature error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize),
    serde(rename_all = "SCREAMING_SNAKE_CASE")
)]
pub enum ErrorCode {
    /// No snapshot has been loaded yet.
    ProviderNotReady,
    /// The snapshot has no flag with this key.
    FlagNotFound,
    /// The flag's values are not of the requested type.
    TypeMismatch,
    /// The context could not be parsed.
    ParseError,
    /// A rollout needs a unit attribute the context lacks.
    TargetingKeyMissing,
    /// The context is not usable (not an object).
    InvalidContext,
    /// Anything else (for example an expired snapshot under the serve-defaults policy).
    General,
}

impl ErrorCode {
    /// Every error code, in a fixed order.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::ProviderNotReady,
        ErrorCode::FlagNotFound,
        ErrorCode::TypeMismatch,
        ErrorCode::ParseError,
        ErrorCode::TargetingKeyMissing,
        ErrorCode::InvalidContext,
        ErrorCode::General,
    ];

    /// The code as written in results (`FLAG_NOT_FOUND`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ProviderNotReady => "PROVIDER_NOT_READY",
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::TypeMismatch => "TYPE_MISMATCH",
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::General => "GENERAL",
        }
    }

    /// Parses [`ErrorCode::as_str`] output.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of evaluating one flag, without values: cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The variant served; `None` means the caller's default (because of an error,
    /// or because the flag serves it: no off variant, a `caller_default` serve).
    pub variant: Option<VariantId>,
    /// Why this variant (or the caller's default) was served.
    pub reason: Reason,
    /// Index of the rule that served (or whose serve failed).
    pub rule: Option<u32>,
    /// Set when the caller's default is returned because of an error.
    pub error: Option<ErrorCode>,
}

impl Outcome {
    pub(crate) const fn served(variant: VariantId, reason: Reason, rule: Option<u32>) -> Outcome {
        Outcome {
            variant: Some(variant),
            reason,
            rule,
            error: None,
        }
    }

    /// The flag's off variant, or the caller's default when it has none (no error).
    const fn off(variant: Option<VariantId>, reason: Reason) -> Outcome {
        Outcome {
            variant,
            reason,
            rule: None,
            error: None,
        }
    }

    /// An error outcome: the caller's default.
    pub const fn error(code: ErrorCode) -> Outcome {
        Outcome {
            variant: None,
            reason: Reason::Error,
            rule: None,
            error: Some(code),
        }
    }
}

impl Snapshot {
    /// Evaluates flag `id` for `ctx` at `now_ms` (epoch milliseconds).
    #[inline]
    pub fn evaluate(&self, id: FlagId, ctx: &ResolvedContext, now_ms: i64) -> Outcome {
        self.evaluate_steps(id, ctx, now_ms, &mut None)
    }

    /// Evaluates the flag called `key`.
    pub fn evaluate_key(&self, key: &str, ctx: &ResolvedContext, now_ms: i64) -> Outcome {
        match self.flag_id(key) {
            Some(id) => self.evaluate(id, ctx, now_ms),
            None => Outcome::error(ErrorCode::FlagNotFound),
        }
    }

    /// Evaluates every flag, in document order.
    pub fn evaluate_all<'a>(
        &'a self,
        ctx: &'a ResolvedContext,
        now_ms: i64,
    ) -> impl Iterator<Item = (FlagId, Outcome)> + 'a {
        self.flags
            .iter()
            .enumerate()
            .map(move |(i, flag)| (i as FlagId, self.evaluate_flag(flag, ctx, now_ms)))
    }

    #[inline]
    fn evaluate_flag(&self, flag: &Flag, ctx: &ResolvedContext, now_ms: i64) -> Outcome {
        self.evaluate_observed(flag, ctx, now_ms, &mut None)
    }

    /// [`Snapshot::evaluate`] of `flag`, writing each step to `steps` while a trace
    /// records ([`super::trace`]; `None` on the hot path).
    pub(crate) fn evaluate_observed(
        &self,
        flag: &Flag,
        ctx: &ResolvedContext,
        now_ms: i64,
        steps: &mut Steps<'_>,
    ) -> Outcome {
        if !flag.enabled {
            return Outcome::off(flag.off_variant, Reason::Disabled);
        }
        for prereq in &flag.prerequisites {
            // Load rejects cycles and bounds chain depth, so this recursion terminates.
            let got = self.evaluate(prereq.flag, ctx, now_ms);
            let ok =
                got.error.is_none() && got.variant.is_some_and(|v| prereq.variants.contains(&v));
            note(steps, codes::PREREQUISITE, prereq.flag, u32::from(ok));
            if !ok {
                return Outcome::off(flag.off_variant, Reason::PrerequisiteFailed);
            }
        }
        if let Some(excl) = &flag.exclusion {
            let bucket = ctx
                .targeting_key()
                .map(|unit| excl.prefix.hash(unit.as_bytes()) % super::hash::BUCKETS);
            let inside = bucket.is_some_and(|b| excl.start <= b && b < excl.end);
            let at = bucket.unwrap_or(codes::NONE);
            note(steps, codes::EXCLUSION, at, u32::from(inside));
            if !inside {
                return Outcome::off(flag.off_variant, Reason::Excluded);
            }
        }
        if let Some(access) = &flag.access {
            let allowed = access.matches(ctx, &self.segments, now_ms);
            note(steps, codes::ACCESS, u32::from(allowed), 0);
            if !allowed {
                return Outcome::off(flag.off_variant, Reason::Denied);
            }
        }
        for (i, rule) in flag.rules.iter().enumerate() {
            let matched = rule.when.matches(ctx, &self.segments, now_ms);
            if steps.is_some() {
                let c = self.rule_code(rule, matched, ctx, now_ms);
                note(steps, codes::RULE, i as u32, c);
            }
            if matched {
                let at = Some(i as u32);
                if let Some(out) = serve(&rule.serve, ctx, Reason::TargetingMatch, at, steps) {
                    return out;
                }
                // A rollout without its unit that falls through: the fallthrough serves.
                break;
            }
        }
        let fixed = if flag.is_static() {
            Reason::Static
        } else {
            Reason::Default
        };
        // Load refuses a fallthrough that would fall through itself.
        serve(&flag.fallthrough, ctx, fixed, None, steps)
            .unwrap_or(Outcome::error(ErrorCode::TargetingKeyMissing))
    }
}

/// What `serve` gives `ctx`; `None` when it is a rollout without its unit that falls
/// through to the flag's fallthrough.
#[inline]
fn serve(
    serve: &Serve,
    ctx: &ResolvedContext,
    fixed: Reason,
    rule: Option<u32>,
    steps: &mut Steps<'_>,
) -> Option<Outcome> {
    Some(match serve {
        Serve::Fixed(v) => Outcome::served(*v, fixed, rule),
        Serve::CallerDefault => Outcome {
            variant: None,
            reason: fixed,
            rule,
            error: None,
        },
        Serve::Rollout(r) => {
            let unit = r.units.iter().find_map(|&u| ctx.unit(u).map(|t| (u, t)));
            let Some((attr, unit)) = unit else {
                if r.falls_through {
                    return None;
                }
                return Some(Outcome {
                    rule,
                    ..Outcome::error(ErrorCode::TargetingKeyMissing)
                });
            };
            let bucket = r.position(unit);
            note(steps, codes::ROLLOUT, attr, bucket);
            let variant = r
                .cuts
                .iter()
                .find(|(upper, _)| bucket < *upper)
                .map(|(_, v)| *v)
                // Weights sum to 100 000, so a bucket always falls in a range.
                .unwrap_or_else(|| r.cuts.last().map(|(_, v)| *v).unwrap_or(0));
            Outcome::served(variant, Reason::Split, rule)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adapters (the wasm packing, metrics tables) index by discriminant.
    #[test]
    fn discriminants_follow_the_all_lists() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
            assert_eq!(Reason::parse(r.as_str()), Some(*r));
        }
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
        }
    }
}
