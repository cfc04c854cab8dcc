// Vexil JS glue: the engine wrapper and the client, shared by every entry point.
// The entry points (node.js, worker.js, index.js) initialise the wasm module first.
import { Engine as WasmEngine, wasmMemory } from "./wasm/vexil.js";
import { ContextReader } from "./context.js";
import { Context, ContextCache, Handle } from "./handles.js";
import { ERROR_CODES, ERROR_SHIFT, NO_RULE, NO_VARIANT, REASONS, REASON_SHIFT, RULE_ASK, RULE_SHIFT } from "./tables.js";

export { ERROR_CODES, REASONS, Context };
const TYPE_MISMATCH = ERROR_CODES.indexOf("TYPE_MISMATCH");
const INVALID_CONTEXT = ERROR_CODES.indexOf("INVALID_CONTEXT");
/** Plain-object contexts that keep a filled slot of their own (the most recent ones). */
const CONTEXT_CACHE_SIZE = 256;
/** A slot number the engine never hands out. */
const NO_SLOT = 0xffffffff;
export const SDK_NAME = "vexil-js/0.1.0";

/** An error with a machine-readable `code` (snapshot rejections, bad options). */
export class VexilError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "VexilError";
    this.code = code;
  }
}

function deepFreeze(value) {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function toBytes(envelope) {
  if (envelope instanceof Uint8Array) return envelope;
  if (envelope instanceof ArrayBuffer) return new Uint8Array(envelope);
  if (typeof envelope === "string") return new TextEncoder().encode(envelope);
  if (envelope && typeof envelope === "object") return new TextEncoder().encode(JSON.stringify(envelope));
  throw new VexilError("BAD_FORMAT", "a snapshot envelope must be a string, bytes or an object");
}

function rethrow(error) {
  if (error instanceof VexilError) throw error;
  throw new VexilError(error?.code ?? "GENERAL", error?.message ?? String(error));
}

/**
 * The default clock: `Date.now()` read once per synchronous run of evaluations and
 * reused until the current task ends (reading the system clock costs more than an
 * evaluation). Workers freeze time within a request the same way.
 */
function taskClock() {
  let cached;
  const clear = () => {
    cached = undefined;
  };
  return () => {
    if (cached === undefined) {
      cached = Date.now();
      queueMicrotask(clear);
    }
    return cached;
  };
}

function randomKey() {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether attribute `path` is covered by a private-attribute pattern (`patient.*`, `ssn`). */
export function isPrivate(path, patterns) {
  return patterns.some((p) =>
    p.endsWith(".*") ? path === p.slice(0, -2) || path.startsWith(p.slice(0, -1)) : path === p || path.startsWith(p + "."));
}

/** Stands for a missing context: every attribute absent. */
const EMPTY = Object.freeze({});

/** The object a context is read from: EMPTY for none, null when it is not a plain object. */
function sourceOf(ctx) {
  if (ctx === undefined || ctx === null) return EMPTY;
  return typeof ctx === "object" && !Array.isArray(ctx) ? ctx : null;
}

/**
 * The low-level engine: verifies and loads signed snapshots, evaluates locally,
 * aggregates metrics. No I/O: see `createClient` for fetching and reporting.
 */
export class Engine {
  #wasm;
  #memory;
  #now;
  /** The `trace` option: called with (engine, key, ctx) before each single-flag evaluation. */
  #trace;
  /** Per flag index, its row (key, type, variant names and values...), fetched on first use. */
  #table = null;
  /** Flag key → its row (null for keys the snapshot lacks), filled on first use: one
   * Map lookup per evaluation. */
  #byKey = new Map();
  #complete = false;
  #contexts = new ContextCache(CONTEXT_CACHE_SIZE, () => this.#open(), (handle) => this.release(handle));
  /** Reads plain objects for the loaded snapshot; rebuilt after each load. */
  #reader = null;
  #dimensions;
  /** Counts loads: a handle filled for an earlier snapshot is filled again. */
  #generation = 0;
  /** The slot a plain object seen for the first time is read into, and which object it holds. */
  #scratch = -1;
  #scratchSource = null;
  #scratchGeneration = -1;
  /** Per attribute id, the scratch fill (epoch) that staged it. */
  #scratchFilled = new Uint32Array(0);
  #epoch = 0;
  /** Closes the slots of handles the garbage collector took (where the runtime has it). */
  #released = typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry((slot) => this.#close(slot))
    : { register() {}, unregister() {} };
  #freed = false;

  /**
   * @param {object} options
   * @param {Record<string,string>} options.keys key id → base64 Ed25519 public key
   * @param {string} options.environment the environment this engine serves
   * @param {"serve-stale"|"serve-defaults"} [options.stalePolicy]
   * @param {string[]} [options.dimensions] allow-listed low-cardinality attributes counted in metrics
   * @param {string[]} [options.privateAttributes] attributes that must never leave the process
   * @param {string} [options.auditKey] key of the pseudonyms in evaluation audit events
   * @param {boolean} [options.metrics] aggregate metrics (default true)
   * @param {() => number} [options.now] clock in epoch milliseconds (default: Date.now, read once per task)
   * @param {(engine: Engine, key: string, ctx: object) => void} [options.trace] a tracer from `vexil/trace`
   */
  constructor(options = {}) {
    const { keys, environment, stalePolicy = "serve-stale", dimensions = [], privateAttributes = [], auditKey, metrics = true, now = taskClock(), trace } = options;
    if (!keys || typeof keys !== "object" || Object.keys(keys).length === 0) {
      throw new VexilError("BAD_KEYS", "options.keys must map at least one key id to a base64 Ed25519 public key");
    }
    for (const [id, key] of Object.entries(keys)) {
      if (typeof key !== "string" || id === "" || id.includes("\n") || key.includes("\n")) {
        throw new VexilError("BAD_KEYS", `key \`${id}\`: a key id maps to a base64 Ed25519 public key (a string)`);
      }
    }
    if (typeof environment !== "string" || environment === "") {
      throw new VexilError("BAD_OPTIONS", "options.environment must name the environment to serve");
    }
    if (stalePolicy !== "serve-stale" && stalePolicy !== "serve-defaults") {
      throw new VexilError("BAD_OPTIONS", `stalePolicy must be "serve-stale" or "serve-defaults", got "${stalePolicy}"`);
    }
    if (!Array.isArray(dimensions) || dimensions.some((d) => typeof d !== "string" || d === "" || d.includes("\n"))) {
      throw new VexilError("BAD_OPTIONS", "options.dimensions must be a list of attribute paths");
    }
    const leaking = dimensions.filter((d) => isPrivate(d, privateAttributes));
    if (leaking.length > 0) {
      throw new VexilError("BAD_OPTIONS", `private attributes cannot be metrics dimensions: ${leaking.join(", ")}`);
    }
    this.#now = now;
    this.#trace = trace;
    this.#dimensions = dimensions;
    try {
      const keyLines = Object.entries(keys).flat().join("\n");
      this.#wasm = new WasmEngine(environment, keyLines, stalePolicy === "serve-defaults", dimensions.join("\n"),
        new TextEncoder().encode(auditKey ?? randomKey()), metrics);
    } catch (e) {
      rethrow(e);
    }
    this.#memory = wasmMemory();
  }

  /**
   * Verifies and loads a signed snapshot envelope (string, bytes or object).
   * Throws a `VexilError` with a `code` (BAD_SIGNATURE, VERSION_ROLLBACK, ...) when it
   * is rejected; the previous snapshot keeps serving.
   * @returns {{version:number, keyId:string, flags:number, issuedAt:number|null, expiresAt:number|null}}
   */
  load(envelope) {
    try {
      this.#wasm.load(toBytes(envelope), this.#now());
    } catch (e) {
      rethrow(e);
    }
    const [version, flags, issuedAt, expiresAt] = this.#wasm.info();
    this.#table = new Array(flags);
    this.#byKey = new Map();
    this.#complete = false;
    this.#reader = null;
    this.#generation++;
    const time = (t) => (Number.isNaN(t) ? null : t);
    return { version, keyId: this.#wasm.keyId(), flags, issuedAt: time(issuedAt), expiresAt: time(expiresAt) };
  }

  /** Version of the loaded snapshot, or null. */
  get version() {
    const v = this.#wasm.info()[0];
    return Number.isNaN(v) ? null : v;
  }
  /** True when the loaded snapshot is past its expiry. */
  get stale() {
    return this.#wasm.stale(this.#now());
  }
  /** True once a snapshot is loaded. */
  get ready() {
    return this.#table !== null;
  }
  /** Keys of the loaded flags. */
  get flagKeys() {
    return this.#table ? this.#rows().map((f) => f.key) : [];
  }
  /** @internal Per flag key, a digest of its definition (changes when the flag does). */
  get flagDigests() {
    return this.#table ? new Map(this.#rows().map((f) => [f.key, f.digest])) : new Map();
  }

  /** The row of flag `key` in the loaded snapshot, or null when it lacks the key. */
  #flag(key) {
    let flag = this.#byKey.get(key);
    if (flag === undefined) {
      const index = typeof key === "string" ? this.#wasm.flagIndex(key) : -1;
      flag = index < 0 ? null : this.#row(index);
      if (this.#byKey.size < 100_000) this.#byKey.set(key, flag);
    }
    return flag;
  }

  /** The row of flag `index`, fetched from wasm the first time. */
  #row(index) {
    return (this.#table[index] ??= toRow(JSON.parse(this.#wasm.flagRow(index)), index));
  }

  /** Every row (one crossing for the whole table, the first time). */
  #rows() {
    if (!this.#complete) {
      JSON.parse(this.#wasm.flagTable()).forEach((f, i) => {
        this.#table[i] ??= toRow(f, i);
      });
      this.#complete = true;
    }
    return this.#table;
  }

  #readerFor() {
    if (this.#reader === null) {
      this.#reader = new ContextReader(JSON.parse(this.#wasm.attributeTable()), this.#dimensions, this.#wasm, this.#memory);
      this.#scratchFilled = new Uint32Array(this.#reader.size);
    }
    return this.#reader;
  }

  #close(slot) {
    if (!this.#freed) this.#wasm.close(slot);
  }

  /** @internal Releases a handle's slot. */
  release(handle) {
    this.#released.unregister(handle);
    this.#close(handle.slot);
  }

  #open() {
    const handle = new Handle(this.#wasm.open());
    this.#released.register(handle, handle.slot, handle);
    return handle;
  }

  /**
   * Prepares a context once; pass the result to evaluations (the fast path). The
   * handle belongs to the caller: it is never evicted from the plain-object cache.
   */
  context(ctx) {
    if (ctx instanceof Context) return ctx;
    const source = sourceOf(ctx);
    if (source === null) return new Context(this, null, -1);
    const context = new Context(this, source, this.#wasm.open());
    this.#released.register(context, context.slot, context);
    return context;
  }

  /** `handle` filled from `source` for the loaded snapshot: its slot. */
  #filled(handle, source) {
    if (handle.generation !== this.#generation && this.#table !== null) {
      const reader = this.#readerFor();
      reader.begin();
      reader.all(source);
      reader.dimensions(source);
      this.#wasm.fill(handle.slot, true, reader.staged);
      handle.generation = this.#generation;
    }
    return handle.slot;
  }

  /**
   * Evaluates flag `index` for `ctx`, reading a plain object seen for the first time
   * only for `attributes` (the ids the flag reads; every attribute when omitted).
   * Returns a packed outcome, or -1 for a context that is not an object.
   */
  #eval(index, ctx, attributes) {
    if (ctx instanceof Context) {
      if (ctx.slot < 0) return -1;
      return this.#wasm.eval(index, this.#filled(ctx, Context.source(ctx)), this.#now());
    }
    const source = sourceOf(ctx);
    if (source === null) return -1;
    const kept = this.#keptSlot(source);
    if (kept >= 0) return this.#wasm.eval(index, kept, this.#now());
    const reset = this.#stageScratch(source, attributes);
    return this.#wasm.fillEval(index, this.#scratch, this.#now(), reset, this.#reader.staged);
  }

  /**
   * The filled slot the plain-object cache keeps for `source`, or -1 when it is read
   * into the scratch slot instead (held there now, or seen for the first time).
   */
  #keptSlot(source) {
    if (source === this.#scratchSource) return -1;
    const kept = this.#contexts.get(source);
    return kept === undefined ? -1 : this.#filled(kept, source);
  }

  /**
   * Stages what the scratch slot still lacks of `source` (`attributes`, or all):
   * everything when it holds another object. Returns whether the slot must be reset
   * first (the reader counts the records staged).
   */
  #stageScratch(source, attributes) {
    const reader = this.#readerFor();
    if (this.#scratch < 0) this.#scratch = this.#wasm.open();
    const reset = source !== this.#scratchSource || this.#scratchGeneration !== this.#generation;
    if (reset) {
      this.#scratchSource = source;
      this.#scratchGeneration = this.#generation;
      this.#epoch = (this.#epoch + 1) >>> 0 || 1;
    }
    const filled = this.#scratchFilled;
    const epoch = this.#epoch;
    reader.begin();
    if (reset) reader.dimensions(source);
    if (attributes === undefined) {
      for (let id = 0; id < filled.length; id++) {
        if (filled[id] !== epoch) {
          filled[id] = epoch;
          reader.attribute(source, id);
        }
      }
    } else {
      for (let i = 0; i < attributes.length; i++) {
        const id = attributes[i];
        if (filled[id] !== epoch) {
          filled[id] = epoch;
          reader.attribute(source, id);
        }
      }
    }
    return reset;
  }

  /** The slot `ctx` is evaluated in, filled with every attribute; -1 when it is not an object. */
  #slotFor(ctx) {
    if (ctx instanceof Context) {
      return ctx.slot < 0 ? -1 : this.#filled(ctx, Context.source(ctx));
    }
    const source = sourceOf(ctx);
    if (source === null) return -1;
    const kept = this.#keptSlot(source);
    if (kept >= 0) return kept;
    const reset = this.#stageScratch(source, undefined);
    this.#wasm.fill(this.#scratch, reset, this.#reader.staged);
    return this.#scratch;
  }

  /** Counts an evaluation answered with an error code here (type mismatch, invalid context). */
  #recordError(index, code) {
    if (this.#scratch < 0) this.#scratch = this.#wasm.open();
    this.#wasm.recordError(index, code, this.#scratch);
  }

  #value(key, ctx, defaultValue, type) {
    this.#trace?.(this, key, ctx);
    if (this.#table === null) return defaultValue;
    const flag = this.#flag(key);
    if (flag === null) {
      this.#wasm.recordUnknown(String(key));
      return defaultValue;
    }
    if (flag.type !== type) {
      this.#recordError(flag.index, TYPE_MISMATCH);
      return defaultValue;
    }
    const packed = this.#eval(flag.index, ctx, flag.attributes);
    if (packed < 0) {
      this.#recordError(flag.index, INVALID_CONTEXT);
      return defaultValue;
    }
    const variant = packed & NO_VARIANT;
    return variant === NO_VARIANT ? defaultValue : flag.values[variant];
  }

  /** The boolean value of `key` for `ctx`, or `defaultValue`. */
  boolean(key, ctx, defaultValue) {
    return this.#value(key, ctx, defaultValue, "boolean");
  }
  /** The string value of `key` for `ctx`, or `defaultValue`. */
  string(key, ctx, defaultValue) {
    return this.#value(key, ctx, defaultValue, "string");
  }
  /** The number value of `key` for `ctx`, or `defaultValue`. */
  number(key, ctx, defaultValue) {
    return this.#value(key, ctx, defaultValue, "number");
  }
  /** The JSON (object or array) value of `key` for `ctx`, or `defaultValue`. */
  json(key, ctx, defaultValue) {
    return this.#value(key, ctx, defaultValue, "object");
  }

  #details(flag, packed, rule, defaultValue) {
    const variant = packed & NO_VARIANT;
    const error = (packed >>> ERROR_SHIFT) & 0xf;
    const errorCode = error > 0 ? ERROR_CODES[error - 1] : undefined;
    // One object shape for every result keeps V8's property access monomorphic.
    return {
      flagKey: flag.key,
      value: variant === NO_VARIANT ? defaultValue : flag.values[variant],
      variant: variant === NO_VARIANT ? undefined : flag.names[variant],
      reason: REASONS[(packed >>> REASON_SHIFT) & 0xf],
      ruleId: rule !== NO_RULE && rule >= 0 ? flag.rules[rule] : undefined,
      errorCode,
      errorMessage: errorCode === undefined ? undefined : errorMessage(errorCode, flag, rule),
      flagMetadata: flag.metadata,
    };
  }

  /**
   * Full evaluation details of `key` for `ctx`: `{flagKey, value, variant?, reason,
   * ruleId?, errorCode?, errorMessage?, flagMetadata}`. With `type` ("boolean",
   * "string", "number", "object"), a flag of another type gives TYPE_MISMATCH.
   */
  evaluate(key, ctx, defaultValue, type) {
    this.#trace?.(this, key, ctx);
    if (this.#table === null) {
      return errorDetails(key, defaultValue, "PROVIDER_NOT_READY", "no snapshot has been loaded yet");
    }
    const flag = this.#flag(key);
    if (flag === null) {
      this.#wasm.recordUnknown(String(key));
      return errorDetails(key, defaultValue, "FLAG_NOT_FOUND", `flag \`${key}\` is not in snapshot version ${this.version}`);
    }
    if (type !== undefined && flag.type !== type) {
      this.#recordError(flag.index, TYPE_MISMATCH);
      return errorDetails(key, defaultValue, "TYPE_MISMATCH", `flag \`${key}\` is a ${flag.type} flag, but a ${type} was requested`, flag.metadata);
    }
    const packed = this.#eval(flag.index, ctx, flag.attributes);
    if (packed < 0) {
      this.#recordError(flag.index, INVALID_CONTEXT);
      return errorDetails(key, defaultValue, "INVALID_CONTEXT", "the evaluation context must be a plain object", flag.metadata);
    }
    const rule = packed >>> RULE_SHIFT;
    return this.#details(flag, packed, rule === RULE_ASK ? this.#wasm.lastRule() : rule - 1, defaultValue);
  }

  /**
   * @internal What `vexil/trace` reads: flag `key` evaluated for `ctx` without being
   * counted, `[step codes, now, details, row, wasm engine]`; undefined without a snapshot, for an
   * unknown flag or a context that is not an object.
   */
  traced(key, ctx) {
    const flag = this.#table ? this.#flag(key) : null;
    const slot = flag === null ? -1 : this.#slotFor(ctx);
    if (slot < 0) return;
    const now = this.#now();
    const at = this.#wasm.trace(flag.index, slot, now);
    const { buffer } = this.#memory;
    // The count of what follows, the packed outcome, its rule, three codes a step.
    const codes = new Uint32Array(buffer, at + 4, new Uint32Array(buffer, at, 1)[0]).slice();
    return [codes, now, this.#details(flag, codes[0], codes[1], null), flag, this.#wasm];
  }

  /** Evaluates every flag for `ctx` in one call: `{key: details}` (defaults are null). */
  evaluateAll(ctx) {
    const out = {};
    if (this.#table === null) return out;
    const rows = this.#rows();
    const slot = this.#slotFor(ctx);
    if (slot < 0) {
      for (let i = 0; i < rows.length; i++) {
        this.#recordError(i, INVALID_CONTEXT);
        put(out, rows[i].key, errorDetails(rows[i].key, null, "INVALID_CONTEXT", "the evaluation context must be a plain object", rows[i].metadata));
      }
      return out;
    }
    const at = this.#wasm.evalAll(slot, this.#now());
    const results = new Uint32Array(this.#memory.buffer, at, rows.length * 2);
    for (let i = 0; i < rows.length; i++) {
      put(out, rows[i].key, this.#details(rows[i], results[2 * i], results[2 * i + 1], null));
    }
    return out;
  }

  /**
   * The OFREP answer for `ctx`, shaped by the wasm module exactly as the origin
   * shapes it: of flag `key`, or of every flag (bulk) when `key` is undefined or
   * empty. Returns `{status, body}`, the HTTP status and the JSON text; the
   * evaluations are counted like any other.
   */
  ofrep(key, ctx) {
    const slot = this.#table === null ? -1 : this.#slotFor(ctx);
    // A slot that does not exist evaluates as INVALID_CONTEXT (PROVIDER_NOT_READY before a snapshot).
    const body = this.#wasm.ofrep(key === undefined ? "" : String(key), slot < 0 ? NO_SLOT : slot, this.#now());
    return { status: this.#wasm.ofrepStatus(), body };
  }

  /**
   * Records an outcome (`{value?, latencyMs?, success?, flags?}`), attributed to the
   * variants `ctx` is served by `flags`, or by the flags this engine served its unit.
   */
  track(event, ctx, data = {}) {
    if (typeof event !== "string" || event === "") throw new VexilError("BAD_ARGUMENT", "track: event name must be a non-empty string");
    const num = (v, name) => {
      if (v === undefined || v === null) return NaN;
      if (typeof v !== "number" || !Number.isFinite(v)) throw new VexilError("BAD_ARGUMENT", `track: ${name} must be a finite number`);
      return v;
    };
    if (data.flags !== undefined && !(Array.isArray(data.flags) && data.flags.every((f) => typeof f === "string" && !f.includes("\n")))) {
      throw new VexilError("BAD_ARGUMENT", "track: flags must be a list of flag keys");
    }
    const value = num(data.value, "value");
    const latency = num(data.latencyMs, "latencyMs");
    const success = data.success === undefined ? NaN : data.success ? 1 : 0;
    const slot = this.#table === null ? -1 : this.#slotFor(ctx);
    this.#wasm.track(event, slot < 0 ? NO_SLOT : slot, new Float64Array([value, latency, success, this.#now()]), data.flags?.join("\n"));
  }

  /** Drains aggregated metrics into a batch object (or null when there is nothing). */
  takeMetrics(batchId = randomKey().slice(0, 32)) {
    const text = this.#wasm.takeMetrics(batchId, SDK_NAME, this.#now());
    if (text === undefined) return null;
    // Floats arrive beside the text, which marks their places (Rust `take_metrics`).
    const floats = this.#wasm.metricsFloats();
    return JSON.parse(text.replace(/"\u0001(\d+)"/g, (_, i) => JSON.stringify(floats[i])));
  }

  /** Releases the wasm memory. */
  free() {
    this.#freed = true;
    this.#wasm.free();
  }
}

/**
 * Sets `out[key]` as an own, enumerable property for every flag key: assigning
 * `__proto__` would replace the object's prototype instead.
 */
function put(out, key, value) {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** Flag `index`'s table row as the glue keeps it: values frozen, since they are shared. */
function toRow(f, index) {
  return {
    index,
    key: f.key,
    type: f.type,
    names: f.variants.map(([name]) => name),
    values: f.variants.map(([, value]) => deepFreeze(value)),
    rules: f.rules,
    metadata: deepFreeze(f.metadata ?? {}),
    attributes: f.attributes,
    digest: f.digest,
  };
}

function errorDetails(key, value, code, message, flagMetadata = {}) {
  return { flagKey: key, value, variant: undefined, reason: "ERROR", ruleId: undefined, errorCode: code, errorMessage: message, flagMetadata };
}

function errorMessage(code, flag, rule) {
  switch (code) {
    case "TARGETING_KEY_MISSING":
      return `flag \`${flag.key}\` needs a rollout unit (targetingKey or its rollout's \`by\` attribute) that the context lacks`;
    case "INVALID_CONTEXT":
      return "the evaluation context must be a plain object";
    case "PROVIDER_NOT_READY":
      return "no snapshot has been loaded yet";
    case "GENERAL":
      return "the snapshot has expired and the stale policy serves defaults";
    default:
      return code;
  }
}
