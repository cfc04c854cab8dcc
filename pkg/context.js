// Reads evaluation contexts straight from plain JS objects into the wasm engine.
//
// A snapshot knows every attribute path its rules and rollouts read (its attribute
// table), and per attribute the string literals its equality operators compare with.
// The reader looks up only those paths and writes each value as a fixed-size record
// into memory the engine owns (Rust `session::records`): a string the snapshot only
// compares by equality crosses as the index of its literal (one Map lookup), text
// crosses only for operators that read it (prefixes, regexes, versions, units...).
// Values are read the way JSON.stringify would write them (own enumerable
// properties, `toJSON()`, `undefined` and functions left out, non-finite numbers as
// null); a BigInt, which JSON cannot write, counts as present but comparable with
// nothing.

const enumerable = Object.prototype.propertyIsEnumerable;
/** A key JSON.stringify would leave out. */
const ABSENT = Symbol("absent");
const NO_LITERAL = 0xffffffff;

// Record kinds (Rust `session::records::kind`).
const STR = 1, STR_TEXT = 2, NUM = 3, NUM_TEXT = 4, TRUE = 5, FALSE = 6, OTHER = 7, LIST = 8, DIMENSION = 9;
/** What Rust's `finite_number` accepts: plain decimal numerals. */
const NUMERAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const encoder = new TextEncoder();

/** `v` as JSON.stringify sees it: its `toJSON()` result, or ABSENT. */
function jsonView(v) {
  if (v !== null && typeof v === "object" && typeof v.toJSON === "function") v = v.toJSON();
  if (v === undefined || typeof v === "function" || typeof v === "symbol") return ABSENT;
  return v;
}

/** Own enumerable property `key` of a (non-array) object, as JSON sees it. */
function member(obj, key) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || !enumerable.call(obj, key)) return ABSENT;
  return jsonView(obj[key]);
}

/**
 * Attribute `segs` of `ctx`: nested objects first, then the whole dotted path as one
 * top-level key (as the engine's own resolution does).
 */
function lookup(ctx, segs, path) {
  let v = ctx;
  for (let i = 0; i < segs.length && v !== ABSENT; i++) v = member(v, segs[i]);
  return v === ABSENT && segs.length > 1 ? member(ctx, path) : v;
}

/** The numeric value of a string as the engine reads it, or NaN. */
function numeral(s) {
  if (!NUMERAL.test(s)) return NaN;
  const n = Number(s);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * The text a number hashes as when it is a rollout unit (Rust `number_text`):
 * ECMAScript's own `String(n)`, what JSON.stringify writes.
 */
export const numberText = String;

/**
 * The staging buffers inside wasm memory: records (as u32 and f64 views) and text.
 * Views are re-taken whenever memory grew (its buffer is replaced) or the buffers
 * were enlarged.
 */
class Stage {
  #wasm;
  #memory;
  #buffer = null;
  u32;
  f64;
  bytes;
  records = 0;
  textBytes = 0;
  n = 0;
  pos = 0;

  constructor(wasm, memory) {
    this.#wasm = wasm;
    this.#memory = memory;
    this.#grow(64, 1024);
  }

  #grow(records, textBytes) {
    this.records = Math.max(records, this.records);
    this.textBytes = Math.max(textBytes, this.textBytes);
    this.#wasm.staging(this.records, this.textBytes);
    this.#buffer = null;
    this.#views();
  }

  #views() {
    const buffer = this.#memory.buffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    const at = this.#wasm.staging(0, 0);
    this.u32 = new Uint32Array(buffer, at, this.records * 6);
    this.f64 = new Float64Array(buffer, at, this.records * 3);
    this.bytes = new Uint8Array(buffer, this.#wasm.stagingText(), this.textBytes);
  }

  /** Starts a batch of records. */
  begin() {
    this.#views();
    this.n = 0;
    this.pos = 0;
  }

  /** Appends a record; `text` (a string) when the value's text crosses. */
  push(attr, kind, lit, num, text) {
    if (this.n >= this.records) this.#grow(this.records * 2, this.textBytes);
    let len = 0;
    const offset = this.pos;
    if (text !== undefined) {
      if (this.pos + text.length * 3 > this.textBytes) this.#grow(this.records, (this.pos + text.length * 3) * 2);
      const bytes = this.bytes;
      let p = this.pos;
      let i = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[p++] = c;
      }
      if (i < text.length) p += encoder.encodeInto(text.slice(i), bytes.subarray(p)).written;
      len = p - offset;
      this.pos = p;
    }
    const at = this.n * 6;
    this.u32[at] = attr;
    this.u32[at + 1] = kind | (len << 8);
    this.u32[at + 2] = lit;
    this.u32[at + 3] = offset;
    this.f64[this.n * 3 + 2] = num;
    this.n++;
  }
}

export class ContextReader {
  #attrs;
  #dims;
  #stage;

  /**
   * @param {{path:string,text:boolean,number:boolean,unit:boolean,literals:string[]}[]} table
   *   the snapshot's attribute table (ids are indices)
   * @param {string[]} dimensions the engine's metrics dimensions
   * @param {object} wasm the wasm engine
   * @param {WebAssembly.Memory} memory its memory
   */
  constructor(table, dimensions, wasm, memory) {
    this.#attrs = table.map((a) => ({
      path: a.path,
      segs: a.path.split("."),
      text: a.text,
      number: a.number,
      unit: a.unit,
      literals: a.literals.length > 0 ? new Map(a.literals.map((l, i) => [l, i])) : null,
    }));
    this.#dims = dimensions.map((d) => d.split("."));
    this.#stage = new Stage(wasm, memory);
  }

  /** How many attributes the table has. */
  get size() {
    return this.#attrs.length;
  }

  /** Starts staging a context's values. */
  begin() {
    this.#stage.begin();
  }

  /** How many records are staged. */
  get staged() {
    return this.#stage.n;
  }

  /** Stages attribute `id` of `ctx`. */
  attribute(ctx, id) {
    const a = this.#attrs[id];
    const v = lookup(ctx, a.segs, a.path);
    if (v === ABSENT || v === null) return;
    if (Array.isArray(v)) {
      this.#stage.push(id, LIST, v.length, 0, undefined);
      for (const item of v) this.#value(a, id, jsonView(item), true);
    } else {
      this.#value(a, id, v, false);
    }
  }

  /** Stages every attribute of `ctx`. */
  all(ctx) {
    for (let id = 0; id < this.#attrs.length; id++) this.attribute(ctx, id);
  }

  /** Stages the metrics dimension values of `ctx`. */
  dimensions(ctx) {
    for (let i = 0; i < this.#dims.length; i++) {
      let v = ctx;
      for (const seg of this.#dims[i]) v = v === ABSENT ? v : member(v, seg);
      if (typeof v === "string") this.#stage.push(i, DIMENSION, 0, 0, v);
      else if (typeof v === "boolean") this.#stage.push(i, DIMENSION, 0, 0, v ? "true" : "false");
      else if (typeof v === "number" && Number.isFinite(v)) this.#stage.push(i, DIMENSION, 0, 0, numberText(v));
    }
  }

  #value(a, id, v, item) {
    const stage = this.#stage;
    switch (typeof v) {
      case "string": {
        const lit = a.literals === null ? NO_LITERAL : a.literals.get(v) ?? NO_LITERAL;
        const num = a.number ? numeral(v) : NaN;
        if (a.text) stage.push(id, STR_TEXT, lit, num, v);
        else stage.push(id, STR, lit, num, undefined);
        return;
      }
      case "boolean":
        stage.push(id, v ? TRUE : FALSE, 0, 0, undefined);
        return;
      case "number":
        // JSON writes NaN and Infinity as null: missing on its own, incomparable in a list.
        if (Number.isFinite(v)) {
          if (a.text && !item) stage.push(id, NUM_TEXT, 0, v, numberText(v));
          else stage.push(id, NUM, 0, v, undefined);
        } else if (item) {
          stage.push(id, OTHER, 0, 0, undefined);
        }
        return;
      default:
        // Objects, nested lists, null or left-out values inside a list, BigInts.
        stage.push(id, OTHER, 0, 0, undefined);
    }
  }
}
