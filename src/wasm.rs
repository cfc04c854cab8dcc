//! The wasm-bindgen surface: a thin adapter over [`crate::snapshot::Store`],
//! [`crate::engine`] and [`crate::metrics::Aggregator`].
//!
//! Designed around few boundary crossings. Cold paths (loading a snapshot, the flag
//! table, metrics batches) exchange JSON text; the hot path exchanges numbers only:
//! a flag index, a context handle and the evaluation time go in, one packed `u32`
//! comes out (see `pack`). The JS glue maps variant indices to values from the flag
//! table it fetched once per snapshot. A plain-object context crosses once, as the
//! few attributes the snapshot reads (see [`Engine::fill`]).

use crate::engine::context::{number_text, AttrValue, HostValue, TARGETING_KEY};
use crate::engine::model::AuditEvaluations;
use crate::engine::{ErrorCode, Outcome, Reason, ResolvedContext, Snapshot};
use crate::metrics::{self, Aggregator, BatchMeta, MetricsConfig};
use crate::snapshot::{Keyring, StalePolicy, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// Loading a snapshot makes tens of thousands of short-lived allocations; talc is
/// faster and smaller than the default dlmalloc.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Marks "no variant" (the caller's default) in a packed outcome.
const NO_VARIANT: u32 = 0xFFFF;

/// Packs an outcome: bits 0–15 variant index (`0xFFFF` = default), bits 16–19 the
/// reason's index in [`Reason::ALL`], bits 20–23 the error code's index in
/// [`ErrorCode::ALL`] plus one (0 = no error), bits 24–31 the rule index plus one
/// (0 = no rule, 255 = index too large: ask `lastRule()`).
fn pack(outcome: &Outcome) -> u32 {
    let variant = outcome.variant.map_or(NO_VARIANT, u32::from);
    // Discriminants follow the order of `Reason::ALL` and `ErrorCode::ALL`.
    let reason = outcome.reason as u32;
    let error = outcome.error.map_or(0, |e| e as u32 + 1);
    let rule = outcome.rule.map_or(0, |r| (r + 1).min(255));
    variant | (reason << 16) | (error << 20) | (rule << 24)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EngineOptions {
    keys: BTreeMap<String, String>,
    environment: String,
    #[serde(default)]
    stale_policy: Option<String>,
    #[serde(default)]
    dimensions: Vec<String>,
    #[serde(default)]
    audit_key: Option<String>,
    #[serde(default = "yes")]
    metrics: bool,
}

/// The data of a `track()` call.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TrackData {
    value: Option<f64>,
    latency_ms: Option<f64>,
    success: Option<bool>,
    flags: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

/// One flag of the table the JS glue caches per snapshot, serialised from borrowed
/// data (no intermediate JSON values).
#[derive(Serialize)]
struct FlagRow<'a> {
    key: &'a str,
    #[serde(rename = "type")]
    value_type: &'static str,
    variants: Vec<(&'a str, &'a Value)>,
    rules: Vec<&'a str>,
    metadata: &'a BTreeMap<String, Value>,
    /// The attribute ids one evaluation of the flag can read.
    attributes: Vec<u32>,
}

impl<'a> FlagRow<'a> {
    fn new(snapshot: &'a Snapshot, id: u32, flag: &'a crate::engine::Flag) -> Self {
        FlagRow {
            attributes: snapshot.flag_attributes(id),
            key: &flag.key,
            value_type: flag.value_type.name(),
            variants: flag.variants.iter().map(|v| (&*v.name, &v.value)).collect(),
            rules: (0..flag.rule_count() as u32)
                .filter_map(|i| flag.rule_id(i))
                .collect(),
            metadata: &flag.metadata,
        }
    }
}

/// An evaluation context converted once and reused across evaluations.
///
/// Holds the caller's context and its resolution against the current snapshot; when
/// a new snapshot is loaded the context is re-resolved on its next use.
#[wasm_bindgen]
pub struct Context {
    source: Value,
    resolved: Option<(u64, ResolvedContext)>,
    unit: UnitFacts,
    /// Set when the context is unusable (not an object): every evaluation errors.
    invalid: bool,
}

/// What metrics and audit events need to know about a context's unit.
#[derive(Default)]
struct UnitFacts {
    unit: Option<String>,
    hash: Option<u64>,
    /// Keyed pseudonym of the unit, computed on the first audited evaluation.
    pseudonym: Option<String>,
    dims: Vec<u16>,
}

/// The evaluation engine: keyring, last-known-good snapshot, metrics.
#[wasm_bindgen]
pub struct Engine {
    store: Store,
    metrics: Option<Aggregator>,
    dimensions: Vec<Vec<String>>,
    audit_key: Vec<u8>,
    last_rule: i32,
    window_start_ms: f64,
}

fn dimension_value<'a>(ctx: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = ctx;
    for segment in path {
        current = current.get(segment)?;
    }
    Some(current)
}

#[wasm_bindgen]
impl Engine {
    /// Creates an engine from a JSON options object:
    /// `{keys, environment, stalePolicy?, dimensions?, auditKey?, metrics?}`.
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str) -> Result<Engine, JsValue> {
        let options: EngineOptions = serde_json::from_str(options_json)
            .map_err(|e| js_error("BAD_OPTIONS", &format!("invalid engine options: {e}")))?;
        let keyring = Keyring::from_base64_map(&options.keys)
            .map_err(|e| js_error("BAD_KEYS", &e.to_string()))?;
        let policy = match options.stale_policy.as_deref() {
            None | Some("serve-stale") => StalePolicy::ServeStale,
            Some("serve-defaults") => StalePolicy::ServeDefaults,
            Some(other) => {
                return Err(js_error(
                    "BAD_OPTIONS",
                    &format!(
                    "stalePolicy must be \"serve-stale\" or \"serve-defaults\", got \"{other}\""
                ),
                ))
            }
        };
        if options.environment.is_empty() {
            return Err(js_error("BAD_OPTIONS", "environment must not be empty"));
        }
        let metrics = options.metrics.then(|| {
            Aggregator::new(MetricsConfig {
                dimensions: options.dimensions.clone(),
                ..MetricsConfig::default()
            })
        });
        Ok(Engine {
            store: Store::new(keyring, options.environment, policy),
            metrics,
            dimensions: options
                .dimensions
                .iter()
                .map(|d| d.split('.').map(str::to_string).collect())
                .collect(),
            audit_key: options.audit_key.unwrap_or_default().into_bytes(),
            last_rule: -1,
            window_start_ms: 0.0,
        })
    }

    /// Verifies and loads a signed snapshot envelope. Returns load facts as JSON, or
    /// throws an `Error` whose `code` names the rejection; the previous snapshot
    /// keeps serving on any rejection.
    pub fn load(&mut self, envelope: &[u8], now_ms: f64) -> Result<String, JsValue> {
        let info = self
            .store
            .load(envelope, now_ms as i64)
            .map_err(|r| js_error(r.code.as_str(), &r.message))?;
        if let (Some(metrics), Some(snapshot)) = (self.metrics.as_mut(), self.store.snapshot()) {
            metrics.set_snapshot(snapshot);
        }
        // Nothing is counted before the first snapshot: the first window starts here.
        if self.window_start_ms == 0.0 {
            self.window_start_ms = now_ms;
        }
        Ok(json!({
            "version": info.version,
            "keyId": info.key_id,
            "flags": info.flags,
            "issuedAt": info.issued_at_ms,
            "expiresAt": info.expires_at_ms,
        })
        .to_string())
    }

    /// The loaded snapshot's version, if any.
    pub fn version(&self) -> Option<f64> {
        self.store.version().map(|v| v as f64)
    }

    /// Increments on every successful load: the JS glue refreshes its flag table.
    pub fn generation(&self) -> f64 {
        self.store.generation() as f64
    }

    /// Whether the loaded snapshot is past its expiry at `now_ms`.
    pub fn stale(&self, now_ms: f64) -> bool {
        self.store.is_stale(now_ms as i64)
    }

    /// The environment this engine serves.
    pub fn environment(&self) -> String {
        self.store.environment().to_string()
    }

    /// The flag table as JSON: `[{key, type, variants: [[name, value]...], metadata}]`
    /// in flag-index order (fetched once per snapshot by the JS glue).
    #[wasm_bindgen(js_name = flagTable)]
    pub fn flag_table(&self) -> String {
        let Some(snapshot) = self.store.snapshot() else {
            return "[]".into();
        };
        let table: Vec<FlagRow<'_>> = (0u32..)
            .zip(snapshot.flags())
            .map(|(id, f)| FlagRow::new(snapshot, id, f))
            .collect();
        serde_json::to_string(&table).unwrap_or_else(|_| "[]".into())
    }

    /// One row of the flag table as JSON (the glue fetches rows on first use), or
    /// `undefined` for an index out of range.
    #[wasm_bindgen(js_name = flagRow)]
    pub fn flag_row(&self, flag: u32) -> Option<String> {
        let snapshot = self.store.snapshot()?;
        let row = FlagRow::new(snapshot, flag, snapshot.flag(flag)?);
        serde_json::to_string(&row).ok()
    }

    /// Creates a context handle from the context's JSON text.
    pub fn context(&mut self, context_json: &str) -> Context {
        let (source, invalid) = match serde_json::from_str::<Value>(context_json) {
            Ok(v @ Value::Object(_)) => (v, false),
            Ok(v) => (v, true),
            Err(_) => (Value::Null, true),
        };
        let unit = source.get("targetingKey").and_then(|k| match k {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let mut dims = Vec::with_capacity(self.dimensions.len());
        for (i, path) in self.dimensions.iter().enumerate() {
            let id = match (dimension_value(&source, path), self.metrics.as_mut()) {
                (Some(Value::String(s)), Some(m)) => m.dimension_value(i, s),
                (Some(Value::Number(n)), Some(m)) => m.dimension_value(i, &n.to_string()),
                (Some(Value::Bool(b)), Some(m)) => {
                    m.dimension_value(i, if *b { "true" } else { "false" })
                }
                _ => u16::MAX,
            };
            dims.push(id);
        }
        Context {
            unit: UnitFacts {
                hash: unit.as_deref().map(metrics::unit_hash),
                unit,
                pseudonym: None,
                dims,
            },
            source,
            resolved: None,
            invalid,
        }
    }

    /// The attribute paths of the current snapshot as JSON (`["targetingKey",
    /// "user.tier", ...]`; ids are indices), for hosts that read contexts from their
    /// own objects and hand them over with [`Engine::fill`].
    #[wasm_bindgen(js_name = attributeTable)]
    pub fn attribute_table(&self) -> String {
        let paths: Vec<&str> = self
            .store
            .snapshot()
            .map(|s| s.attribute_paths().collect())
            .unwrap_or_default();
        serde_json::to_string(&paths).unwrap_or_else(|_| "[]".into())
    }

    /// An empty context handle, to fill with [`Engine::fill`].
    #[wasm_bindgen(js_name = newContext)]
    pub fn new_context(&self) -> Context {
        Context {
            source: Value::Null,
            resolved: None,
            unit: UnitFacts::default(),
            invalid: false,
        }
    }

    /// Fills `ctx` for the current snapshot from the attributes a host read from its
    /// own object (ids from [`Engine::attribute_table`]), in one crossing. The result
    /// equals [`Engine::context`] of the same object without building JSON. A filled
    /// context is tied to the snapshot: fill it again after a new one loads (else it
    /// evaluates as `INVALID_CONTEXT`).
    ///
    /// `encoded` is a sequence of records `KIND ID ':' PAYLOAD`: `s`/`S` a string
    /// (`LEN ':' TEXT`, LEN in UTF-16 units), `n`/`N` a number (`TEXT ';'`), `t`/`T`
    /// true, `f`/`F` false, `o`/`O` a value comparable with nothing, `l` an empty
    /// list; the capital letters append to the attribute's list. `d` (`LEN ':' TEXT`)
    /// and `e` (`TEXT ';'`) set metrics dimension ID to a string or a number. A
    /// malformed encoding leaves the context invalid.
    pub fn fill(&mut self, ctx: &mut Context, encoded: &str) {
        self.build(ctx);
        if self.fill_records(ctx, encoded).is_none() {
            ctx.invalid = true;
        }
    }

    /// Index of flag `key` in the current snapshot, or -1.
    #[wasm_bindgen(js_name = flagIndex)]
    pub fn flag_index(&self, key: &str) -> i32 {
        self.store
            .snapshot()
            .and_then(|s| s.flag_id(key))
            .map_or(-1, |id| id as i32)
    }

    /// Evaluates flag index `flag` for `ctx` at `now_ms`; returns a packed outcome.
    /// The matched rule's index is then available from `lastRule()`.
    pub fn eval(&mut self, flag: u32, ctx: &mut Context, now_ms: f64) -> u32 {
        let now = now_ms as i64;
        let blocked = self.prepare(ctx, now);
        let snapshot = self.store.snapshot();
        let outcome = evaluate(blocked, snapshot, ctx, flag, now);
        self.last_rule = outcome.rule.map_or(-1, |r| r as i32);
        if let Some(metrics) = self.metrics.as_mut() {
            record(
                metrics,
                snapshot,
                &self.audit_key,
                flag,
                &outcome,
                &mut ctx.unit,
                now,
            );
        }
        pack(&outcome)
    }

    /// The rule index of the last `eval`, or -1.
    #[wasm_bindgen(js_name = lastRule)]
    pub fn last_rule(&self) -> i32 {
        self.last_rule
    }

    /// Evaluates every flag: two numbers per flag, the packed outcome and the rule
    /// index (or `0xFFFFFFFF`), in flag-index order, in one crossing.
    #[wasm_bindgen(js_name = evalAll)]
    pub fn eval_all(&mut self, ctx: &mut Context, now_ms: f64) -> Vec<u32> {
        let now = now_ms as i64;
        let blocked = self.prepare(ctx, now);
        let snapshot = self.store.snapshot();
        let count = snapshot.map_or(0, |s| s.flags().len());
        let mut out = Vec::with_capacity(count * 2);
        for flag in 0..count as u32 {
            let outcome = evaluate(blocked, snapshot, ctx, flag, now);
            if let Some(metrics) = self.metrics.as_mut() {
                record(
                    metrics,
                    snapshot,
                    &self.audit_key,
                    flag,
                    &outcome,
                    &mut ctx.unit,
                    now,
                );
            }
            out.push(pack(&outcome));
            out.push(outcome.rule.unwrap_or(u32::MAX));
        }
        out
    }

    /// Counts an evaluation of a key the snapshot does not have.
    #[wasm_bindgen(js_name = recordUnknown)]
    pub fn record_unknown(&mut self, key: &str) {
        if let Some(m) = self.metrics.as_mut() {
            m.record_unknown(key);
        }
    }

    /// Counts an evaluation the JS glue answered itself (type mismatch).
    #[wasm_bindgen(js_name = recordError)]
    pub fn record_error(&mut self, flag: u32, code: u32, ctx: &Context) {
        if let (Some(m), Some(code)) = (self.metrics.as_mut(), ErrorCode::ALL.get(code as usize)) {
            m.record(
                flag,
                None,
                Reason::Error,
                Some(*code),
                ctx.unit.hash,
                &ctx.unit.dims,
            );
        }
    }

    /// Records a tracked outcome. `data_json` is `{value?, latencyMs?, success?,
    /// flags?}`; the outcome is attributed to the variants `ctx` is served by the
    /// flags listed in `flags`, or, without it, to the variants this engine served
    /// `ctx`'s unit by targeting or a rollout (unattributed when none).
    pub fn track(
        &mut self,
        event: &str,
        ctx: &mut Context,
        data_json: &str,
        now_ms: f64,
    ) -> Result<(), JsValue> {
        let data: TrackData = serde_json::from_str(data_json)
            .map_err(|e| js_error("BAD_ARGUMENT", &format!("track: invalid data: {e}")))?;
        let (value, latency_ms, success, only) =
            (data.value, data.latency_ms, data.success, data.flags);
        let Some(metrics) = self.metrics.as_mut() else {
            return Ok(());
        };
        let Some(keys) = only else {
            metrics.track_served(event, ctx.unit.hash, value, latency_ms, success);
            return Ok(());
        };
        let mut attributions = Vec::new();
        if let Some(snapshot) = self.store.snapshot() {
            if let Some(resolved) = resolve(&self.store, ctx) {
                for key in &keys {
                    if let Some(id) = snapshot.flag_id(key) {
                        let o = snapshot.evaluate(id, resolved, now_ms as i64);
                        if let Some(v) = o.variant {
                            attributions.push((id, v));
                        }
                    }
                }
            }
        }
        metrics.track(event, &attributions, value, latency_ms, success);
        Ok(())
    }

    /// Drains the metrics recorded since the last call into a batch (JSON text), or
    /// returns `undefined` when there is nothing to send.
    #[wasm_bindgen(js_name = takeMetrics)]
    pub fn take_metrics(&mut self, batch_id: String, sdk: String, now_ms: f64) -> Option<String> {
        let metrics = self.metrics.as_mut()?;
        let batch = metrics.take_batch(BatchMeta {
            batch_id,
            sdk,
            environment: self.store.environment().to_string(),
            snapshot_version: self.store.version(),
            window_start_ms: self.window_start_ms as i64,
            window_end_ms: now_ms as i64,
        });
        self.window_start_ms = now_ms;
        batch.and_then(|b| serde_json::to_string(&b).ok())
    }
}

impl Engine {
    /// Resets `ctx` for the current snapshot: every attribute missing.
    fn build(&self, ctx: &mut Context) {
        ctx.source = Value::Null;
        ctx.invalid = false;
        ctx.unit = UnitFacts {
            dims: vec![u16::MAX; self.dimensions.len()],
            ..UnitFacts::default()
        };
        let generation = self.store.generation();
        ctx.resolved = match (self.store.snapshot(), ctx.resolved.take()) {
            // Reuse the slots when the table is the same size (the common case).
            (Some(s), Some((_, mut r))) if r.values.len() == s.attributes().len() => {
                r.values.iter_mut().for_each(|v| *v = AttrValue::Missing);
                r.units.iter_mut().for_each(|u| *u = None);
                Some((generation, r))
            }
            (Some(s), _) => Some((generation, ResolvedContext::empty(s.attributes()))),
            (None, _) => None,
        };
    }

    /// Applies the records of [`Engine::fill`]; `None` at the first malformed one.
    fn fill_records(&mut self, ctx: &mut Context, mut rest: &str) -> Option<()> {
        let mut records =
            std::iter::from_fn(|| (!rest.is_empty()).then(|| Record::parse(&mut rest))).peekable();
        while let Some(record) = records.next() {
            let Record { kind, id, value } = record?;
            match (kind, value) {
                (b'd', HostValue::Str(text)) => self.set_dimension(ctx, id, text),
                (b'e', HostValue::Num(n)) => self.set_dimension(ctx, id, &number_text(n)?),
                (b'l', _) => {
                    // The list's items are the capital-letter records that follow.
                    let mut items = Vec::new();
                    while let Some(item) =
                        records.next_if(|r| r.as_ref().is_some_and(|r| r.kind.is_ascii_uppercase()))
                    {
                        items.push(item?.value);
                    }
                    if let (Some(snapshot), Some((_, r))) =
                        (self.store.snapshot(), ctx.resolved.as_mut())
                    {
                        r.set_list(snapshot.attributes(), id, items);
                    }
                }
                (kind, value) if kind.is_ascii_lowercase() => self.set(ctx, id, value),
                _ => return None,
            }
        }
        Some(())
    }

    fn set_dimension(&mut self, ctx: &mut Context, index: u32, value: &str) {
        if let (Some(m), Some(slot)) =
            (self.metrics.as_mut(), ctx.unit.dims.get_mut(index as usize))
        {
            *slot = m.dimension_value(index as usize, value);
        }
    }

    fn set(&self, ctx: &mut Context, attr: u32, value: HostValue<'_>) {
        let (Some(snapshot), Some((_, resolved))) = (self.store.snapshot(), ctx.resolved.as_mut())
        else {
            return;
        };
        resolved.set(snapshot.attributes(), attr, value);
        if attr == TARGETING_KEY {
            ctx.unit.unit = resolved.targeting_key().map(str::to_string);
            ctx.unit.hash = ctx.unit.unit.as_deref().map(metrics::unit_hash);
        }
    }

    /// Resolves `ctx` for the current snapshot; returns the error outcome when no
    /// evaluation can happen (unusable context, no snapshot, expired under the
    /// serve-defaults policy).
    fn prepare(&self, ctx: &mut Context, now: i64) -> Option<Outcome> {
        if ctx.invalid {
            return Some(Outcome::error(ErrorCode::InvalidContext));
        }
        if self.store.snapshot().is_none() {
            return Some(Outcome::error(ErrorCode::ProviderNotReady));
        }
        if self.store.serving_defaults(now) {
            return Some(Outcome::error(ErrorCode::General));
        }
        match resolve(&self.store, ctx) {
            Some(_) => None,
            None => Some(Outcome::error(ErrorCode::InvalidContext)),
        }
    }
}

/// Evaluates one flag once [`Engine::prepare`] has run.
#[inline]
fn evaluate(
    blocked: Option<Outcome>,
    snapshot: Option<&Snapshot>,
    ctx: &Context,
    flag: u32,
    now: i64,
) -> Outcome {
    match (blocked, snapshot, &ctx.resolved) {
        (None, Some(snapshot), Some((_, resolved))) => snapshot.evaluate(flag, resolved, now),
        (Some(outcome), _, _) => outcome,
        _ => Outcome::error(ErrorCode::InvalidContext),
    }
}

/// Counts an evaluation, and emits its audit event when the flag audits it.
fn record(
    metrics: &mut Aggregator,
    snapshot: Option<&Snapshot>,
    audit_key: &[u8],
    flag: u32,
    outcome: &Outcome,
    unit: &mut UnitFacts,
    now: i64,
) {
    metrics.record(
        flag,
        outcome.variant,
        outcome.reason,
        outcome.error,
        unit.hash,
        &unit.dims,
    );
    let audited = snapshot
        .and_then(|s| s.flag(flag))
        .is_some_and(|f| match f.audit_evaluations {
            AuditEvaluations::All => true,
            AuditEvaluations::Denied => outcome.reason == Reason::Denied,
            AuditEvaluations::None => false,
        });
    if audited {
        if unit.pseudonym.is_none() {
            unit.pseudonym = unit
                .unit
                .as_deref()
                .map(|u| metrics::pseudonym(audit_key, u));
        }
        metrics.audit(
            flag,
            outcome.variant,
            outcome.reason,
            unit.pseudonym.clone(),
            now,
        );
    }
}

/// One record of [`Engine::fill`]'s encoding: its kind letter, the attribute (or
/// dimension) id, and the value it carries (`Other` for `o`, `O` and `l`).
struct Record<'a> {
    kind: u8,
    id: u32,
    value: HostValue<'a>,
}

impl<'a> Record<'a> {
    /// Reads the record at the start of `rest` and advances past it.
    fn parse(rest: &mut &'a str) -> Option<Record<'a>> {
        let kind = rest.bytes().next()?;
        let (id, after) = rest.get(1..)?.split_once(':')?;
        let id: u32 = id.parse().ok()?;
        *rest = after;
        let value = match kind.to_ascii_lowercase() {
            b's' | b'd' => {
                let (len, after) = rest.split_once(':')?;
                let (text, after) = split_utf16(after, len.parse().ok()?)?;
                *rest = after;
                HostValue::Str(text)
            }
            b'n' | b'e' => {
                let (text, after) = rest.split_once(';')?;
                *rest = after;
                HostValue::Num(text.parse().ok().filter(|n: &f64| n.is_finite())?)
            }
            b't' => HostValue::Bool(true),
            b'f' => HostValue::Bool(false),
            b'o' | b'l' => HostValue::Other,
            _ => return None,
        };
        Some(Record { kind, id, value })
    }
}

/// Splits `text` after `units` UTF-16 code units (JS string lengths).
fn split_utf16(text: &str, units: usize) -> Option<(&str, &str)> {
    let mut seen = 0;
    for (i, c) in text.char_indices() {
        if seen == units {
            return Some(text.split_at(i));
        }
        seen += c.len_utf16();
    }
    (seen == units).then_some((text, ""))
}

/// Resolves `ctx` against the store's current snapshot, reusing the cached
/// resolution when the snapshot has not changed.
fn resolve<'c>(store: &Store, ctx: &'c mut Context) -> Option<&'c ResolvedContext> {
    let generation = store.generation();
    let fresh = matches!(&ctx.resolved, Some((g, _)) if *g == generation);
    if !fresh {
        // A built context (no JSON source) whose snapshot has gone fails here: its
        // host fills it again for the new snapshot.
        let resolved = store.snapshot()?.resolve_context(&ctx.source).ok()?;
        ctx.resolved = Some((generation, resolved));
    }
    ctx.resolved.as_ref().map(|(_, r)| r)
}

#[wasm_bindgen]
impl Context {
    /// Whether the context could be used (a JSON object).
    #[wasm_bindgen(getter)]
    pub fn valid(&self) -> bool {
        !self.invalid
    }
}
