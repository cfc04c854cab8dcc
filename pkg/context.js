// Reads evaluation contexts straight from plain JS objects into the wasm engine.
//
// A snapshot knows every attribute path its rules and rollouts read (its attribute
// table). Instead of serialising the whole object to JSON and parsing it in wasm,
// the reader looks up only those paths and hands each value over typed: a handful
// of calls with numbers and short strings. Values are read the way JSON.stringify
// would write them (own enumerable properties, `toJSON()`, `undefined` and
// functions left out, non-finite numbers as null), so the result equals the JSON
// path's; a BigInt, which JSON cannot write, counts as present but comparable with
// nothing.

const enumerable = Object.prototype.propertyIsEnumerable;
/** A key JSON.stringify would leave out. */
const ABSENT = Symbol("absent");

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

export class ContextReader {
  #attrs;
  #dims;

  /**
   * @param {string[]} paths the snapshot's attribute table (ids are indices)
   * @param {string[]} dimensions the engine's metrics dimensions
   */
  constructor(paths, dimensions) {
    this.#attrs = paths.map((path) => ({ path, segs: path.split(".") }));
    this.#dims = dimensions.map((d) => d.split("."));
  }

  /**
   * Fills wasm context `handle` from plain object `ctx` for the loaded snapshot:
   * every attribute, or only the ids in `only` (what one flag reads).
   */
  fill(wasm, handle, ctx, only) {
    // One crossing: the records of Rust's `Engine::fill`.
    let out = "";
    const attrs = this.#attrs;
    const count = only === undefined ? attrs.length : only.length;
    for (let i = 0; i < count; i++) {
      const id = only === undefined ? i : only[i];
      const { segs, path } = attrs[id];
      const v = lookup(ctx, segs, path);
      if (v === ABSENT || v === null) continue;
      if (Array.isArray(v)) {
        out += `l${id}:`;
        for (const item of v) out += encode(id, jsonView(item), true);
      } else {
        out += encode(id, v, false);
      }
    }
    for (let i = 0; i < this.#dims.length; i++) {
      let v = ctx;
      for (const seg of this.#dims[i]) v = v === ABSENT ? v : member(v, seg);
      if (typeof v === "string") out += `d${i}:${v.length}:${v}`;
      else if (typeof v === "boolean") out += `d${i}:${v ? "4:true" : "5:false"}`;
      else if (typeof v === "number" && Number.isFinite(v)) out += `e${i}:${v};`;
    }
    wasm.fill(handle, out);
  }
}

/** One value as a record; `item` appends it to the attribute's list. */
function encode(id, v, item) {
  switch (typeof v) {
    case "string":
      return `${item ? "S" : "s"}${id}:${v.length}:${v}`;
    case "boolean":
      return `${v ? (item ? "T" : "t") : item ? "F" : "f"}${id}:`;
    case "number":
      // JSON writes NaN and Infinity as null: missing on its own, incomparable in a list.
      if (Number.isFinite(v)) return `${item ? "N" : "n"}${id}:${v};`;
      return item ? `O${id}:` : "";
    default:
      // Objects, nested lists, null or left-out values inside a list, BigInts.
      return `${item ? "O" : "o"}${id}:`;
  }
}
