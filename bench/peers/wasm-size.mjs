// Size report of a wasm module from its name section: sections, the biggest
// functions and totals by crate (no tools needed; `twiggy top`/`twiggy dominators`
// on the same file give retained sizes). The shipped module is stripped, so the
// report reads a copy with names kept (`make wasm-names`: the same wasm-bindgen
// output, optimised by the same `wasm-opt -Oz` with `-g` to keep the name section).

/** A cursor over wasm bytes. */
class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }
  byte() {
    return this.bytes[this.pos++];
  }
  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  }
  name() {
    const len = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return text;
  }
  limits() {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

const SECTION_NAMES = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount", "tag"];

/** Sections (`{id, name, start, end, size}`), function body sizes by index, and function names. */
export function parseWasm(bytes) {
  const r = new Reader(bytes, 8);
  const sections = [];
  let importedFunctions = 0;
  const bodies = [];
  const names = new Map();
  const exports = new Set();
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const body = r.pos;
    const end = body + size;
    const s = new Reader(bytes, body, end);
    let name = SECTION_NAMES[id] ?? `section ${id}`;
    if (id === 0) {
      name = `custom "${s.name()}"`;
      if (name === 'custom "name"') readNames(s, names);
    } else if (id === 2) {
      for (let n = s.u32(); n > 0; n--) {
        s.name();
        s.name();
        const kind = s.byte();
        if (kind === 0) {
          s.u32();
          importedFunctions++;
        } else if (kind === 1) {
          s.byte();
          s.limits();
        } else if (kind === 2) s.limits();
        else if (kind === 3) s.pos += 2;
        else if (kind === 4) {
          s.byte();
          s.u32();
        }
      }
    } else if (id === 7) {
      for (let n = s.u32(); n > 0; n--) {
        const exported = s.name();
        if (s.byte() === 0) exports.add(exported);
        s.u32();
      }
    } else if (id === 10) {
      for (let n = s.u32(), i = 0; i < n; i++) {
        const len = s.u32();
        bodies.push({ index: importedFunctions + i, size: len });
        s.pos += len;
      }
    }
    sections.push({ id, name, start, end, size: end - start });
    r.pos = end;
  }
  return { sections, bodies, names, exports };
}

function readNames(s, names) {
  while (s.pos < s.end) {
    const kind = s.byte();
    const size = s.u32();
    const next = s.pos + size;
    if (kind === 1) {
      for (let n = s.u32(); n > 0; n--) {
        const index = s.u32();
        names.set(index, s.name());
      }
    }
    s.pos = next;
  }
}

/** The module without its custom sections (names, producers, debug info): what a stripped build ships. */
export function stripCustom(bytes) {
  const { sections } = parseWasm(bytes);
  const parts = [bytes.subarray(0, 8), ...sections.filter((s) => s.id !== 0).map((s) => bytes.subarray(s.start, s.end))];
  return Buffer.concat(parts);
}

/** `core[c593...]::fmt::...::h0123` → `core::fmt::...` (no crate disambiguators or hashes). */
const clean = (name) => name.replace(/\[[0-9a-f]{16}\]/g, "").replace(/::h[0-9a-f]{16}$/, "");

const STD = new Set(["core", "alloc", "std"]);

/**
 * The crate a (demangled) Rust symbol is charged to: the first crate other than
 * core/alloc/std it names (so `core::ptr::drop_in_place<vexil::X>` and
 * `<PhantomData<T> as serde::de::DeserializeSeed>::deserialize`, generic code
 * instantiated for a crate, count for that crate), else core/alloc/std; `(other)`
 * for symbols without a path (exports, shims, libc).
 */
export function crateOf(name) {
  if (/^<(str|char|bool|f32|f64|[iu](8|16|32|64|128|size)|\[.*\])[ >]/.test(name)) return "core";
  let first = null;
  for (const m of name.matchAll(/(?<![\w:])([a-z_][a-z0-9_]*)::/g)) {
    if (!STD.has(m[1])) return m[1];
    first ??= m[1];
  }
  return first ?? "(other: exports, shims, libc)";
}

/** The report's lines: section sizes, top `top` functions, totals by crate and by module of vexil and its bindings. */
export function sizeReport(bytes, top = 20) {
  const { sections, bodies, names, exports } = parseWasm(bytes);
  const lines = [];
  const total = bytes.length;
  const pct = (x, of) => `${((100 * x) / of).toFixed(1).padStart(5)} %`;
  const bar = (label, size, of) => `  ${String(size).padStart(8)} B ${pct(size, of)}  ${label}`;
  lines.push(`sections (${total} B, names kept):`);
  for (const s of [...sections].sort((a, b) => b.size - a.size).slice(0, 6)) lines.push(bar(s.name, s.size, total));
  if (names.size === 0) {
    lines.push("  (no name section: build target/wasm-names/vexil_bg.wasm with `make wasm-names`)");
    return lines;
  }
  const code = bodies.reduce((sum, b) => sum + b.size, 0);
  // wasm-bindgen's export wrappers (`engine_load`, `engine_new multivalue shim`) hold
  // the Rust bodies inlined into them: they count for the bindings crate.
  const EXPORTS = "vexil_wasm (exports, with what is inlined into them)";
  const named = bodies.map((b) => {
    const name = clean(names.get(b.index) ?? `func[${b.index}]`);
    return { ...b, name, exported: exports.has(name.replace(/ multivalue shim$/, "")) };
  });
  lines.push(`top ${top} functions by body size (of ${bodies.length} functions, ${code} B of code):`);
  for (const f of [...named].sort((a, b) => b.size - a.size).slice(0, top)) {
    lines.push(bar(f.name.length > 110 ? f.name.slice(0, 107) + "..." : f.name, f.size, code));
  }
  const totals = (keyOf) => {
    const m = new Map();
    for (const f of named) {
      const k = keyOf(f);
      if (k !== null) m.set(k, (m.get(k) ?? 0) + f.size);
    }
    return [...m].sort((a, b) => b[1] - a[1]);
  };
  lines.push("code by crate (generic std code counted for the crate it is instantiated for):");
  for (const [crate, size] of totals((f) => (f.exported ? "vexil_wasm" : crateOf(f.name))).slice(0, 15)) lines.push(bar(crate, size, code));
  lines.push("vexil and vexil_wasm code by module:");
  const moduleOf = ({ name, exported }) => {
    if (exported) return EXPORTS;
    const crate = crateOf(name);
    if (crate === "vexil_wasm") return crate;
    if (crate !== "vexil") return null;
    const at = name.indexOf("vexil::");
    return name.slice(at).split("::").slice(0, 3).join("::").replace(/[<{> ].*$/, "");
  };
  for (const [mod, size] of totals(moduleOf).slice(0, 12)) lines.push(bar(mod, size, code));
  return lines;
}
