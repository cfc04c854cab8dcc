// Vexil JS glue: the engine wrapper and the client, shared by every entry point.
// The entry points (node.js, worker.js, index.js) initialise the wasm module first.
import { Engine as WasmEngine } from "./wasm/vexil.js";
import { ContextReader } from "./context.js";

/** Reasons, in the order of the packed outcome's reason field (Rust `Reason::ALL`). */
export const REASONS = Object.freeze([
  "STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED",
  "EXCLUDED", "DENIED", "PREREQUISITE_FAILED", "ERROR",
]);
/** Error codes, in the order of the packed outcome's error field minus one (Rust `ErrorCode::ALL`). */
export const ERROR_CODES = Object.freeze([
  "PROVIDER_NOT_READY", "FLAG_NOT_FOUND", "TYPE_MISMATCH", "PARSE_ERROR",
  "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL",
]);
const TYPE_MISMATCH = ERROR_CODES.indexOf("TYPE_MISMATCH");
const NO_VARIANT = 0xffff;
const NO_RULE = 0xffffffff;
/** Plain-object contexts whose converted handles are kept (most recent first out last). */
const CONTEXT_CACHE_SIZE = 256;
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

/** A wasm context handle, and which engine and snapshot it was filled for. */
class Filled {
  constructor(handle, invalid = false) {
    this.handle = handle;
    this.invalid = invalid;
    this.owner = null;
    this.generation = -1;
  }
}

/** How many recently seen plain objects are remembered to spot a second use. */
const RECENT = 8;

/**
 * Handles of reused plain-object contexts. An object seen for the first time is
 * read into a scratch handle (most contexts are built per request and used once);
 * when it comes back while still among the last few seen, it gets a handle of its
 * own. Bounded: the oldest handle is freed explicitly when a new one arrives, rather
 * than left to the garbage collector's finalizers.
 */
class ContextCache {
  #byObject = new WeakMap();
  #recent = new Array(RECENT);
  #nextRecent = 0;
  #ring;
  #next = 0;

  constructor(size) {
    this.#ring = new Array(size);
  }

  /** The kept entry of `ctx`, or undefined when it has not been seen lately. */
  get(ctx, create) {
    let entry = this.#byObject.get(ctx);
    if (entry !== undefined) return entry;
    if (!this.#recent.includes(ctx)) {
      this.#recent[this.#nextRecent] = ctx;
      this.#nextRecent = (this.#nextRecent + 1) % RECENT;
      return undefined;
    }
    entry = create();
    const evicted = this.#ring[this.#next];
    if (evicted !== undefined) {
      this.#byObject.delete(evicted.ctx);
      evicted.entry.handle.free();
    }
    this.#ring[this.#next] = { ctx, entry };
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#byObject.set(ctx, entry);
    return entry;
  }
}

/**
 * A context prepared for many evaluations. Create it with `engine.context(ctx)`;
 * don't mutate the object you built it from (it is read again only when a new
 * snapshot needs other attributes).
 */
export class Context {
  #source;
  #filled;
  constructor(source, filled) {
    this.#source = source;
    this.#filled = filled;
  }
  /** @internal */
  static parts(ctx) {
    return [ctx.#filled, ctx.#source];
  }
  /** Whether the context is usable (a plain object). */
  get valid() {
    return !this.#filled.invalid;
  }
  /** Releases the wasm memory now instead of at garbage collection. */
  free() {
    this.#filled.handle.free();
  }
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
  #now;
  /** Per flag index, its row (key, type, variant names and values...), fetched on first use. */
  #table = null;
  /** Flag key → index (-1 for keys the snapshot lacks), filled on first use. */
  #index = new Map();
  #complete = false;
  #contexts = new ContextCache(CONTEXT_CACHE_SIZE);
  /** Reads plain objects for the loaded snapshot; rebuilt after each load. */
  #reader = null;
  #dimensions;
  /** Counts loads: a filled handle from an earlier snapshot is filled again. */
  #generation = 0;
  /** The handle a plain object seen for the first time is read into. */
  #scratch = null;
  #empty = null;
  #invalid = null;

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
   */
  constructor(options = {}) {
    const { keys, environment, stalePolicy, dimensions = [], privateAttributes = [], auditKey, metrics = true, now = taskClock() } = options;
    if (!keys || typeof keys !== "object" || Object.keys(keys).length === 0) {
      throw new VexilError("BAD_KEYS", "options.keys must map at least one key id to a base64 Ed25519 public key");
    }
    if (typeof environment !== "string" || environment === "") {
      throw new VexilError("BAD_OPTIONS", "options.environment must name the environment to serve");
    }
    const leaking = dimensions.filter((d) => isPrivate(d, privateAttributes));
    if (leaking.length > 0) {
      throw new VexilError("BAD_OPTIONS", `private attributes cannot be metrics dimensions: ${leaking.join(", ")}`);
    }
    this.#now = now;
    this.#dimensions = dimensions;
    try {
      this.#wasm = new WasmEngine(JSON.stringify({
        keys, environment, dimensions, metrics,
        stalePolicy: stalePolicy ?? "serve-stale",
        auditKey: auditKey ?? randomKey(),
      }));
    } catch (e) {
      rethrow(e);
    }
  }

  /**
   * Verifies and loads a signed snapshot envelope (string, bytes or object).
   * Throws a `VexilError` with a `code` (BAD_SIGNATURE, VERSION_ROLLBACK, ...) when it
   * is rejected; the previous snapshot keeps serving.
   * @returns {{version:number, keyId:string, flags:number, issuedAt:number|null, expiresAt:number|null}}
   */
  load(envelope) {
    let info;
    try {
      info = JSON.parse(this.#wasm.load(toBytes(envelope), this.#now()));
    } catch (e) {
      rethrow(e);
    }
    this.#table = new Array(info.flags);
    this.#index = new Map();
    this.#complete = false;
    this.#reader = null;
    this.#generation++;
    return info;
  }

  /** Version of the loaded snapshot, or null. */
  get version() {
    return this.#wasm.version() ?? null;
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

  /** The index of `key` in the loaded snapshot, or -1. */
  #lookup(key) {
    let index = this.#index.get(key);
    if (index === undefined) {
      index = this.#wasm.flagIndex(key);
      if (this.#index.size < 100_000) this.#index.set(key, index);
    }
    return index;
  }

  /** The row of flag `index`, fetched from wasm the first time. */
  #row(index) {
    return (this.#table[index] ??= toRow(JSON.parse(this.#wasm.flagRow(index))));
  }

  /** Every row (one crossing for the whole table, the first time). */
  #rows() {
    if (!this.#complete) {
      JSON.parse(this.#wasm.flagTable()).forEach((f, i) => {
        this.#table[i] ??= toRow(f);
      });
      this.#complete = true;
    }
    return this.#table;
  }

  /**
   * Prepares a context once; pass the result to evaluations (the fast path). The
   * handle belongs to the caller: it is never evicted from the plain-object cache.
   */
  context(ctx) {
    if (ctx instanceof Context) return ctx;
    const source = sourceOf(ctx);
    if (source === null) return new Context(null, new Filled(this.#wasm.context("null"), true));
    return new Context(source, new Filled(this.#wasm.newContext()));
  }

  /**
   * The wasm handle to evaluate `ctx` with, filled for the loaded snapshot. A plain
   * object seen for the first time is read only for `attributes` (the ids one flag
   * reads) when given, else in full.
   */
  #handle(ctx, attributes) {
    if (ctx instanceof Context) return this.#fresh(...Context.parts(ctx));
    const source = sourceOf(ctx);
    if (source === null) return (this.#invalid ??= this.#wasm.context("null"));
    if (source === EMPTY) return this.#fresh((this.#empty ??= new Filled(this.#wasm.newContext())), EMPTY);
    const kept = this.#contexts.get(source, () => new Filled(this.#wasm.newContext()));
    if (kept !== undefined) return this.#fresh(kept, source);
    const scratch = (this.#scratch ??= this.#wasm.newContext());
    this.#read(scratch, source, attributes);
    return scratch;
  }

  /** `filled`'s handle, read again from `source` if it was filled for another snapshot or engine. */
  #fresh(filled, source) {
    if (!filled.invalid && (filled.generation !== this.#generation || filled.owner !== this)) {
      this.#read(filled.handle, source);
      filled.generation = this.#generation;
      filled.owner = this;
    }
    return filled.handle;
  }

  /** Reads `source` into wasm context `handle` (only `attributes` when given). */
  #read(handle, source, attributes) {
    if (this.#table === null) return;
    this.#reader ??= new ContextReader(JSON.parse(this.#wasm.attributeTable()), this.#dimensions);
    this.#reader.fill(this.#wasm, handle, source, attributes);
  }

  #value(key, ctx, defaultValue, type) {
    if (this.#table === null) return defaultValue;
    const index = this.#lookup(key);
    if (index < 0) {
      this.#wasm.recordUnknown(key);
      return defaultValue;
    }
    const flag = this.#row(index);
    const handle = this.#handle(ctx, flag.attributes);
    if (flag.type !== type) {
      this.#wasm.recordError(index, TYPE_MISMATCH, handle);
      return defaultValue;
    }
    const variant = this.#wasm.eval(index, handle, this.#now()) & 0xffff;
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

  #details(index, packed, rule, defaultValue) {
    const flag = this.#row(index);
    const variant = packed & 0xffff;
    const error = (packed >>> 20) & 0xf;
    const errorCode = error > 0 ? ERROR_CODES[error - 1] : undefined;
    // One object shape for every result keeps V8's property access monomorphic.
    return {
      flagKey: flag.key,
      value: variant === NO_VARIANT ? defaultValue : flag.values[variant],
      variant: variant === NO_VARIANT ? undefined : flag.names[variant],
      reason: REASONS[(packed >>> 16) & 0xf],
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
    if (this.#table === null) {
      return errorDetails(key, defaultValue, "PROVIDER_NOT_READY", "no snapshot has been loaded yet");
    }
    const index = this.#lookup(key);
    if (index < 0) {
      this.#wasm.recordUnknown(key);
      return errorDetails(key, defaultValue, "FLAG_NOT_FOUND", `flag \`${key}\` is not in snapshot version ${this.version}`);
    }
    const flag = this.#row(index);
    const handle = this.#handle(ctx, flag.attributes);
    if (type !== undefined && flag.type !== type) {
      this.#wasm.recordError(index, TYPE_MISMATCH, handle);
      return errorDetails(key, defaultValue, "TYPE_MISMATCH", `flag \`${key}\` is a ${flag.type} flag, but a ${type} was requested`, flag.metadata);
    }
    const packed = this.#wasm.eval(index, handle, this.#now());
    const rule = packed >>> 24;
    return this.#details(index, packed, rule === 255 ? this.#wasm.lastRule() : rule - 1, defaultValue);
  }

  /** Evaluates every flag for `ctx` in one call: `{key: details}` (defaults are null). */
  evaluateAll(ctx) {
    const out = {};
    if (this.#table === null) return out;
    const rows = this.#rows();
    const results = this.#wasm.evalAll(this.#handle(ctx), this.#now());
    for (let i = 0; i < rows.length; i++) {
      out[rows[i].key] = this.#details(i, results[2 * i], results[2 * i + 1], null);
    }
    return out;
  }

  /**
   * Records an outcome (`{value?, latencyMs?, success?, flags?}`), attributed to the
   * variants `ctx` is served by `flags`, or by the flags this engine served its unit.
   */
  track(event, ctx, data = {}) {
    if (typeof event !== "string" || event === "") throw new VexilError("BAD_ARGUMENT", "track: event name must be a non-empty string");
    const num = (v, name) => {
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v)) throw new VexilError("BAD_ARGUMENT", `track: ${name} must be a finite number`);
      return v;
    };
    if (data.flags !== undefined && !(Array.isArray(data.flags) && data.flags.every((f) => typeof f === "string"))) {
      throw new VexilError("BAD_ARGUMENT", "track: flags must be a list of flag keys");
    }
    const payload = JSON.stringify({
      value: num(data.value, "value"),
      latencyMs: num(data.latencyMs, "latencyMs"),
      success: data.success === undefined ? undefined : Boolean(data.success),
      flags: data.flags,
    });
    try {
      this.#wasm.track(event, this.#handle(ctx), payload, this.#now());
    } catch (e) {
      rethrow(e);
    }
  }

  /** Drains aggregated metrics into a batch object (or null when there is nothing). */
  takeMetrics(batchId = randomKey().slice(0, 32)) {
    const text = this.#wasm.takeMetrics(batchId, SDK_NAME, this.#now());
    return text === undefined ? null : JSON.parse(text);
  }

  /** Releases the wasm memory. */
  free() {
    this.#wasm.free();
  }
}

/** A flag-table row as the glue keeps it: values frozen, since they are shared. */
function toRow(f) {
  return {
    key: f.key,
    type: f.type,
    names: f.variants.map(([name]) => name),
    values: f.variants.map(([, value]) => deepFreeze(value)),
    rules: f.rules,
    metadata: deepFreeze(f.metadata ?? {}),
    attributes: f.attributes,
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
