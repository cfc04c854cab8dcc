//! OFREP answers from a session: the edge worker serves OFREP with the same shapes
//! and words as the origin ([`crate::ofrep`]), evaluations counted like any other.

use super::Session;
use crate::engine::{error_code_message, ErrorCode, FlagId, Outcome};
use crate::ofrep::{self, Bulk, Evaluation};

impl Session {
    /// Appends the OFREP answer of flag `key` for slot `id` at `now_ms` (evaluated
    /// and counted); returns its HTTP status.
    pub fn ofrep_single(&mut self, key: &str, id: u32, now_ms: i64, out: &mut String) -> u16 {
        let flag = self.store.snapshot().and_then(|s| s.flag_id(key));
        let outcome = match flag {
            Some(flag) => self.evaluate(flag, id, now_ms),
            None if self.store.snapshot().is_none() => Outcome::error(ErrorCode::ProviderNotReady),
            None => {
                self.record_unknown(key);
                Outcome::error(ErrorCode::FlagNotFound)
            }
        };
        let mut message = String::new();
        let e = self.evaluation(key, flag, &outcome, &mut message);
        ofrep::write_single(out, &e)
    }

    /// Appends the OFREP bulk answer of every flag for slot `id` at `now_ms` (each
    /// evaluated and counted); returns its HTTP status (500 before any snapshot).
    pub fn ofrep_bulk(&mut self, id: u32, now_ms: i64, out: &mut String) -> u16 {
        let count = match self.store.snapshot() {
            Some(s) => s.flags().len() as FlagId,
            None => {
                let details = error_code_message(ErrorCode::ProviderNotReady);
                ofrep::write_failure(out, None, None, details);
                return 500;
            }
        };
        let mut bulk = Bulk::new(out);
        let mut message = String::new();
        for flag in 0..count {
            let outcome = self.evaluate(flag, id, now_ms);
            let Some(f) = self.store.snapshot().and_then(|s| s.flag(flag)) else {
                continue;
            };
            message.clear();
            bulk.push(&self.evaluation(&f.key, Some(flag), &outcome, &mut message));
        }
        bulk.finish(self.store.version().unwrap_or(0), self.store.environment());
        200
    }

    /// What OFREP reports of `outcome` for flag `key` (`flag` in the snapshot); the
    /// error's explanation is written into `message`.
    fn evaluation<'a>(
        &'a self,
        key: &'a str,
        flag: Option<FlagId>,
        outcome: &Outcome,
        message: &'a mut String,
    ) -> Evaluation<'a> {
        let snapshot = self.store.snapshot();
        match snapshot {
            Some(s) => s.write_error_message(message, key, flag, outcome),
            None => message.push_str(outcome.error.map_or("", error_code_message)),
        }
        let f = snapshot.zip(flag).and_then(|(s, id)| s.flag(id));
        let variant = f
            .zip(outcome.variant)
            .and_then(|(f, v)| f.variants.get(usize::from(v)));
        Evaluation {
            key,
            value: variant.map_or("null", |v| &v.value),
            variant: variant.map(|v| &*v.name),
            reason: outcome.reason,
            rule_id: f.zip(outcome.rule).and_then(|(f, r)| f.rule_id(r)),
            metadata: f.map_or("{}", |f| &f.metadata),
            error: outcome.error.map(|c| (c, message.as_str())),
        }
    }
}
