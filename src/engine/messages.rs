//! What went wrong with an evaluation, for people: one wording for every adapter
//! (native details, the origin's and the edge's OFREP answers). Written without
//! `format!`, which the wasm module leaves out.

use super::compiled::{FlagId, Serve, Snapshot};
use super::eval::{ErrorCode, Outcome};
use crate::jsontext::push_u64;

impl Snapshot {
    /// Appends the explanation of an error outcome of flag `key` (`id` when the
    /// snapshot has it); nothing when the outcome is not an error.
    pub fn write_error_message(
        &self,
        out: &mut String,
        key: &str,
        id: Option<FlagId>,
        outcome: &Outcome,
    ) {
        let Some(code) = outcome.error else {
            return;
        };
        match code {
            ErrorCode::TargetingKeyMissing => {
                out.push_str("flag `");
                out.push_str(key);
                out.push_str("` rolls out by ");
                let flag = id.and_then(|id| self.flag(id));
                let serve = match (flag, outcome.rule) {
                    (Some(flag), Some(i)) => flag.rules.get(i as usize).map(|r| &r.serve),
                    (Some(flag), None) => Some(&flag.fallthrough),
                    _ => None,
                };
                let units = match serve {
                    Some(Serve::Rollout(r)) => &r.units[..],
                    _ => &[],
                };
                let mut paths = units
                    .iter()
                    .filter_map(|&u| self.attrs.get(u as usize))
                    .map(|a| &*a.path)
                    .peekable();
                if paths.peek().is_none() {
                    out.push_str("`targetingKey`");
                }
                for (i, path) in paths.enumerate() {
                    if i > 0 {
                        out.push_str(" or ");
                    }
                    out.push('`');
                    out.push_str(path);
                    out.push('`');
                }
                out.push_str(
                    ", which the context lacks (a non-empty string or a number is needed)",
                );
            }
            ErrorCode::FlagNotFound => {
                out.push_str("flag `");
                out.push_str(key);
                out.push_str("` is not in ");
                match self.meta.version {
                    Some(v) => {
                        out.push_str("snapshot version ");
                        push_u64(out, v);
                    }
                    None => out.push_str("the snapshot"),
                }
            }
            other => out.push_str(error_code_message(other)),
        }
    }
}

/// The explanation of an error that does not depend on a flag.
pub fn error_code_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ProviderNotReady => "no snapshot has been loaded yet",
        ErrorCode::InvalidContext => "the evaluation context must be a JSON object",
        ErrorCode::General => "the snapshot has expired and the stale policy serves defaults",
        other => other.as_str(),
    }
}
