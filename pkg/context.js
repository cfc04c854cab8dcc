// Reads evaluation contexts straight from plain JS objects into the wasm engine.
//
// A snapshot knows every attribute path its rules and rollouts read (its attribute
// table), and per attribute the string literals its equality operators compare with.
// The reader looks up only those paths and writes each value as a fixed-size record
// into memory the engine owns (Rust `session::records`): a string the snapshot only
// compares by equality crosses as the index of its literal (one Map lookup), text
// crosses only for operators that read it (prefixes, regexes, versions, units...).
// What needs Unicode tables or float parsing is done here, where the runtime has
// them: a string's lower case (`toLowerCase`) and its `Number(text)` cross ready-made.
// Values are read the way JSON.stringify would write them (own enumerable
// properties, `toJSON()`, `undefined` and functions left out, non-finite numbers as
// null); a BigInt, which JSON cannot write, counts as present but comparable with
// nothing.
import { KIND, NO_LITERAL, NO_LOWER, RECORD_F64, RECORD_U32, SAME_LOWER } from "./tables.js";

const enumerable = Object.prototype.propertyIsEnumerable;
/** A key JSON.stringify would leave out. */
const ABSENT = Symbol("absent");
const { STR, STR_TEXT, NUM, NUM_TEXT, TRUE, FALSE, OTHER, LIST, DIMENSION } = KIND;
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
  u32 = null;
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
    this.u32 = null;
    this.#views();
  }

  #views() {
    // Growing wasm memory detaches its old buffer (views over it read as empty):
    // cheaper to test than reading `memory.buffer` on every batch.
    if (this.u32 !== null && this.u32.byteLength !== 0) return;
    const buffer = this.#memory.buffer;
    const at = this.#wasm.staging(0, 0);
    this.u32 = new Uint32Array(buffer, at, this.records * RECORD_U32);
    this.f64 = new Float64Array(buffer, at, this.records * RECORD_F64);
    this.bytes = new Uint8Array(buffer, this.#wasm.stagingText(), this.textBytes);
  }

  /** Starts a batch of records. */
  begin() {
    this.#views();
    this.n = 0;
    this.pos = 0;
  }

  /** Writes `text` as UTF-8 at the end of the text buffer; its byte length. */
  #text(text) {
    if (this.pos + text.length * 3 > this.textBytes) this.#grow(this.records, (this.pos + text.length * 3) * 2);
    const bytes = this.bytes;
    const start = this.pos;
    let p = start;
    let i = 0;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[p++] = c;
    }
    if (i < text.length) p += encoder.encodeInto(text.slice(i), bytes.subarray(p)).written;
    this.pos = p;
    return p - start;
  }

  /**
   * Appends a record; `text` (a string) when the value's text crosses, then its
   * lower case (`lower`, with its folded literal id) when asked for.
   */
  push(attr, kind, lit, num, text, lower, folded, jsNum) {
    if (this.n >= this.records) this.#grow(this.records * 2, this.textBytes);
    const offset = this.pos;
    const len = text === undefined ? 0 : this.#text(text);
    const lowerLen = lower === undefined ? NO_LOWER : lower === text ? SAME_LOWER : this.#text(lower);
    const at = this.n * RECORD_U32;
    const u32 = this.u32;
    u32[at] = attr;
    u32[at + 1] = kind | (len << 8);
    u32[at + 2] = lit;
    u32[at + 3] = offset;
    u32[at + 4] = folded;
    u32[at + 5] = lowerLen;
    const f = this.n * RECORD_F64;
    this.f64[f + 3] = num;
    this.f64[f + 4] = jsNum;
    this.n++;
  }
}

/** A literal list as a Map from text to id, or null when empty. */
function dictionary(literals) {
  return literals.length > 0 ? new Map(literals.map((l, i) => [l, i])) : null;
}

export class ContextReader {
  #attrs;
  #dims;
  #stage;

  /**
   * @param {{path:string,text:boolean,number:boolean,unit:boolean,lower:boolean,jsNumber:boolean,literals:string[],folded:string[]}[]} table
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
      lower: a.lower,
      jsNumber: a.jsNumber,
      literals: dictionary(a.literals),
      folded: dictionary(a.folded),
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
      this.#stage.push(id, LIST, v.length, 0, undefined, undefined, NO_LITERAL, NaN);
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
      const text = typeof v === "string" ? v
        : typeof v === "boolean" ? (v ? "true" : "false")
        : typeof v === "number" && Number.isFinite(v) ? numberText(v) : undefined;
      if (text !== undefined) this.#stage.push(i, DIMENSION, 0, 0, text, undefined, NO_LITERAL, NaN);
    }
  }

  #value(a, id, v, item) {
    const stage = this.#stage;
    switch (typeof v) {
      case "string": {
        const lit = a.literals === null ? NO_LITERAL : a.literals.get(v) ?? NO_LITERAL;
        const num = a.number ? numeral(v) : NaN;
        const jsNum = a.jsNumber ? Number(v) : NaN;
        if (!a.text) {
          stage.push(id, STR, lit, num, undefined, undefined, NO_LITERAL, jsNum);
        } else if (a.lower) {
          const lower = v.toLowerCase();
          const folded = a.folded === null ? NO_LITERAL : a.folded.get(lower) ?? NO_LITERAL;
          stage.push(id, STR_TEXT, lit, num, v, lower, folded, jsNum);
        } else {
          stage.push(id, STR_TEXT, lit, num, v, undefined, NO_LITERAL, jsNum);
        }
        return;
      }
      case "boolean":
        stage.push(id, v ? TRUE : FALSE, 0, 0, undefined, undefined, NO_LITERAL, NaN);
        return;
      case "number":
        // JSON writes NaN and Infinity as null: missing on its own, incomparable in a list.
        if (Number.isFinite(v)) {
          if (a.text && !item) stage.push(id, NUM_TEXT, 0, v, numberText(v), undefined, NO_LITERAL, NaN);
          else stage.push(id, NUM, 0, v, undefined, undefined, NO_LITERAL, NaN);
        } else if (item) {
          stage.push(id, OTHER, 0, 0, undefined, undefined, NO_LITERAL, NaN);
        }
        return;
      default:
        // Objects, nested lists, null or left-out values inside a list, BigInts.
        stage.push(id, OTHER, 0, 0, undefined, undefined, NO_LITERAL, NaN);
    }
  }
}
