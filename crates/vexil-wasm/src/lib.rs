//! The wasm-bindgen surface: bindings over [`vexil::session::Session`], nothing more.
//!
//! A crate of its own so that Cargo builds it for speed (`opt-level = 3` in the
//! workspace's `wasm` profile) while `vexil` stays size-optimised: the per-call work
//! of the bindings (borrowing the engine, converting arguments) is on every
//! evaluation, and at "z" it was larger as well as slower. A function of `vexil`
//! marked `#[inline]` and called from here is compiled here, at this level: the way
//! to move more of the hot path to speed when the size budget allows.
//!
//! Cold paths (loading, the flag and attribute tables, metrics batches) exchange
//! text; the hot path exchanges numbers: the host writes a context's values as
//! [`Record`]s into buffers this module owns (`staging`, `stagingText`), then one
//! call fills a slot and evaluates, returning a packed `u32` ([`session::pack`]).
//! Results of `evalAll` are read in place (`evalAll` returns their address).

#![cfg(target_arch = "wasm32")]

use std::mem::ManuallyDrop;
use vexil::engine::ErrorCode;
use vexil::session::records::Record;
use vexil::session::{self, rows, Session, SessionConfig, TrackData};
use vexil::snapshot::{Keyring, StalePolicy};
use wasm_bindgen::prelude::*;

/// Loading a snapshot makes thousands of short-lived allocations; talc is faster and
/// smaller than the default dlmalloc.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

/// The module's memory, for reading results and writing records in place.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// The evaluation engine: a session plus the buffers the host reads and writes.
#[wasm_bindgen]
pub struct Engine {
    /// Dropped through [`Session::discard`] (see `Drop`).
    session: ManuallyDrop<Session>,
    records: Vec<Record>,
    text: Vec<u8>,
    results: Vec<u32>,
    /// The floats of the last metrics batch (the batch text holds placeholders).
    floats: Vec<f64>,
    last_rule: i32,
    /// The HTTP status of the last `ofrep` answer.
    ofrep_status: u16,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Dropping a session here would compile its drop code (a whole snapshot and
        // its metrics) into this crate at its speed level, 3 KB of module for a call
        // made once; `discard` drops it where `vexil` is built for size.
        // SAFETY: `self.session` is taken once, as `self` is dropped, and never read again.
        unsafe { ManuallyDrop::take(&mut self.session) }.discard();
    }
}

fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    vexil::engine::split::fields(text, b'\n').filter(|l| !l.is_empty())
}

#[wasm_bindgen]
impl Engine {
    /// `keys` is `id\nbase64 key\nid\nbase64 key...`; `dimensions` one path per line.
    #[wasm_bindgen(constructor)]
    pub fn new(
        environment: String,
        keys: &str,
        serve_defaults: bool,
        dimensions: &str,
        audit_key: &[u8],
        metrics: bool,
    ) -> Result<Engine, JsValue> {
        if environment.is_empty() {
            return Err(js_error("BAD_OPTIONS", "environment must not be empty"));
        }
        let lines: Vec<&str> = vexil::engine::split::fields(keys, b'\n').collect();
        let keyring = Keyring::from_pairs(lines.chunks(2).filter_map(|pair| match pair {
            [id, key] => Some((*id, *key)),
            _ => None,
        }))
        .map_err(|e| js_error("BAD_KEYS", &e.message()))?;
        Ok(Engine {
            session: ManuallyDrop::new(Session::new(SessionConfig {
                environment,
                keyring,
                stale_policy: if serve_defaults {
                    StalePolicy::ServeDefaults
                } else {
                    StalePolicy::ServeStale
                },
                dimensions: split_lines(dimensions).map(str::to_string).collect(),
                audit_key: audit_key.to_vec(),
                metrics,
            })),
            records: Vec::new(),
            text: Vec::new(),
            results: Vec::new(),
            floats: Vec::new(),
            last_rule: -1,
            ofrep_status: 0,
        })
    }

    /// Verifies and loads a signed envelope; throws an `Error` whose `code` names the
    /// rejection (the previous snapshot keeps serving).
    pub fn load(&mut self, envelope: &[u8], now_ms: f64) -> Result<(), JsValue> {
        self.session
            .load(envelope, now_ms as i64)
            .map(drop)
            .map_err(|r| js_error(r.code.as_str(), &r.message))
    }

    /// `[version, flags, issuedAt, expiresAt, generation]`, NaN where unknown.
    pub fn info(&self) -> Vec<f64> {
        let store = self.session.store();
        let meta = store.snapshot().map(|s| &s.meta);
        let ms = |t: Option<i64>| t.map_or(f64::NAN, |t| t as f64);
        vec![
            store.version().map_or(f64::NAN, |v| v as f64),
            store.snapshot().map_or(0.0, |s| s.flags().len() as f64),
            ms(meta.and_then(|m| m.issued_at_ms)),
            ms(meta.and_then(|m| m.expires_at_ms)),
            store.generation() as f64,
        ]
    }

    /// The id of the key that signed the loaded snapshot.
    #[wasm_bindgen(js_name = keyId)]
    pub fn key_id(&self) -> Option<String> {
        self.session.store().key_id().map(str::to_string)
    }

    /// Whether the loaded snapshot is past its expiry at `now_ms`.
    pub fn stale(&self, now_ms: f64) -> bool {
        self.session.store().is_stale(now_ms as i64)
    }

    /// Index of flag `key`, or -1.
    #[wasm_bindgen(js_name = flagIndex)]
    pub fn flag_index(&self, key: &str) -> i32 {
        self.session
            .store()
            .snapshot()
            .and_then(|s| s.flag_id(key))
            .map_or(-1, |id| id as i32)
    }

    /// One flag's row as JSON ([`rows::flag_row`]).
    #[wasm_bindgen(js_name = flagRow)]
    pub fn flag_row(&self, flag: u32) -> Option<String> {
        let snapshot = self.session.store().snapshot()?;
        let mut out = String::new();
        rows::flag_row(snapshot, flag, snapshot.flag(flag)?, &mut out);
        Some(out)
    }

    /// Every flag's row as a JSON array.
    #[wasm_bindgen(js_name = flagTable)]
    pub fn flag_table(&self) -> String {
        self.session
            .store()
            .snapshot()
            .map_or_else(|| "[]".into(), rows::flag_table)
    }

    /// The attribute table as JSON ([`rows::attribute_table`]).
    #[wasm_bindgen(js_name = attributeTable)]
    pub fn attribute_table(&self) -> String {
        self.session
            .store()
            .snapshot()
            .map_or_else(|| "[]".into(), rows::attribute_table)
    }

    /// A new context slot.
    pub fn open(&mut self) -> u32 {
        self.session.open()
    }

    /// Releases a context slot.
    pub fn close(&mut self, id: u32) {
        self.session.close(id);
    }

    /// Makes room for `records` records and `bytes` bytes of text; returns where the
    /// records start (the text's address is `stagingText()`).
    pub fn staging(&mut self, records: u32, bytes: u32) -> u32 {
        if self.records.len() < records as usize {
            self.records.resize(records as usize, Record::default());
        }
        if self.text.len() < bytes as usize {
            self.text.resize(bytes as usize, 0);
        }
        self.records.as_ptr() as u32
    }

    /// Where staged text starts.
    #[wasm_bindgen(js_name = stagingText)]
    pub fn staging_text(&self) -> u32 {
        self.text.as_ptr() as u32
    }

    /// Fills slot `id` from the first `count` staged records (after clearing it with
    /// `reset`).
    pub fn fill(&mut self, id: u32, reset: bool, count: u32) {
        let n = (count as usize).min(self.records.len());
        self.session.fill(id, reset, &self.records[..n], &self.text);
    }

    /// Evaluates flag index `flag` for slot `id`; a packed outcome.
    pub fn eval(&mut self, flag: u32, id: u32, now_ms: f64) -> u32 {
        let outcome = self.session.evaluate(flag, id, now_ms as i64);
        self.last_rule = outcome.rule.map_or(-1, |r| r as i32);
        session::pack(&outcome)
    }

    /// [`Engine::fill`] then [`Engine::eval`], in one crossing.
    #[wasm_bindgen(js_name = fillEval)]
    pub fn fill_eval(&mut self, flag: u32, id: u32, now_ms: f64, reset: bool, count: u32) -> u32 {
        self.fill(id, reset, count);
        self.eval(flag, id, now_ms)
    }

    /// The rule index of the last `eval`, or -1.
    #[wasm_bindgen(js_name = lastRule)]
    pub fn last_rule(&self) -> i32 {
        self.last_rule
    }

    /// Evaluates every flag for slot `id`: returns the address of two `u32`s per flag
    /// (packed outcome, rule index or `0xFFFFFFFF`), valid until the next call.
    #[wasm_bindgen(js_name = evalAll)]
    pub fn eval_all(&mut self, id: u32, now_ms: f64) -> u32 {
        self.results.clear();
        self.session
            .evaluate_all(id, now_ms as i64, &mut self.results);
        self.results.as_ptr() as u32
    }

    /// Traces flag index `flag` for slot `id` without counting it; returns the
    /// address of the `u32`s [`Session::trace`] writes (their count first), valid
    /// until the next call.
    pub fn trace(&mut self, flag: u32, id: u32, now_ms: f64) -> u32 {
        self.results.clear();
        self.session
            .trace(flag, id, now_ms as i64, &mut self.results);
        self.results.as_ptr() as u32
    }

    /// Counts an evaluation of a key the snapshot does not have.
    #[wasm_bindgen(js_name = recordUnknown)]
    pub fn record_unknown(&mut self, key: &str) {
        self.session.record_unknown(key);
    }

    /// Counts an evaluation the host answered itself (error index into
    /// `ErrorCode::ALL`).
    #[wasm_bindgen(js_name = recordError)]
    pub fn record_error(&mut self, flag: u32, code: u32, id: u32) {
        if let Some(code) = ErrorCode::ALL.get(code as usize) {
            self.session.record_error(flag, *code, id);
        }
    }

    /// Records a tracked outcome. `data` is `[value, latencyMs, success, nowMs]`,
    /// NaN where absent (success 1 or 0); `flags` one key per line, or `undefined`
    /// for the default attribution.
    pub fn track(&mut self, event: &str, id: u32, data: &[f64], flags: Option<String>) {
        let at = |i: usize| data.get(i).copied().filter(|v| !v.is_nan());
        let data_of = TrackData {
            value: at(0),
            latency_ms: at(1),
            success: at(2).map(|s| s != 0.0),
            flags: flags.as_deref().map(|f| split_lines(f).collect()),
        };
        self.session
            .track(event, id, &data_of, at(3).unwrap_or(0.0) as i64);
    }

    /// Drains the metrics recorded since the last call into a batch (JSON), or
    /// `undefined` when there is nothing to send. Floats are written as the string
    /// `"\u{1}N"` (a raw U+0001, which escaped text never holds), N indexing
    /// `metricsFloats()`: the host puts the numbers in (float formatting would cost
    /// the module kilobytes).
    #[wasm_bindgen(js_name = takeMetrics)]
    pub fn take_metrics(&mut self, batch_id: String, sdk: String, now_ms: f64) -> Option<String> {
        let floats = &mut self.floats;
        floats.clear();
        self.session
            .take_batch(batch_id, sdk, now_ms as i64, &mut |out, n| {
                out.push_str("\"\u{1}");
                vexil::jsontext::push_u64(out, floats.len() as u64);
                out.push('"');
                floats.push(n);
            })
    }

    /// The floats of the last `takeMetrics` batch, by placeholder index.
    #[wasm_bindgen(js_name = metricsFloats)]
    pub fn metrics_floats(&self) -> Vec<f64> {
        self.floats.clone()
    }

    /// The OFREP answer (JSON) of flag `key` for slot `id`, or with an empty `key`
    /// the bulk answer of every flag (flag keys are never empty); its HTTP status in
    /// `ofrepStatus`. One export for both: each costs the module its string glue.
    pub fn ofrep(&mut self, key: &str, id: u32, now_ms: f64) -> String {
        let mut out = String::new();
        let now = now_ms as i64;
        self.ofrep_status = if key.is_empty() {
            self.session.ofrep_bulk(id, now, &mut out)
        } else {
            self.session.ofrep_single(key, id, now, &mut out)
        };
        out
    }

    /// The HTTP status of the last `ofrep` answer.
    #[wasm_bindgen(js_name = ofrepStatus)]
    pub fn ofrep_status(&self) -> u16 {
        self.ofrep_status
    }
}
