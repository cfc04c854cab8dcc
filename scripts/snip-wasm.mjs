// Takes the panic machinery's message formatting out of the wasm module, in place:
// `node scripts/snip-wasm.mjs MODULE.wasm`, on wasm-bindgen's output (which still has
// its function names), before wasm-opt.
//
// Why: built with `panic = "abort"`, a panic in wasm32-unknown-unknown formats its
// message, hands it to a hook with nowhere to write it, and traps. Stable Rust cannot
// build std without that formatting (`panic_immediate_abort` needs a nightly std), and
// it costs about 2.4 KB gzipped of a module issue 12 budgets at 80 KB. This pass gives
// the panic entry points and the `core::fmt` code a body of `unreachable`: a panic
// traps as before, without the message nobody could read, and wasm-opt then drops what
// only they used.
//
// That is sound only while nothing else formats: the engine's messages are built by
// concatenation or in JS from codes. The pass checks it: a direct call into the
// formatting code from any other function fails the build, naming the caller. (Code
// can only format through `core::fmt::write` or a `Formatter` method, both in the set.)
import binaryen from "binaryen";
import { readFileSync, writeFileSync } from "node:fs";

/** Where a panic starts; calling these from anywhere is fine (they trap). */
const PANIC = /::panicking::|^__rustc(\[[0-9a-f]+\])?::(rust_begin_unwind|__rust_start_panic|rust_panic)$/;
/** The formatting code: `core::fmt` itself and implementations of its traits. */
const FORMAT = /^<?core(\[[0-9a-f]+\])?::fmt::| as (core|alloc)(\[[0-9a-f]+\])?::fmt::[A-Za-z]+>::/;

/** Per defined function name, the names it calls directly (from Binaryen's text). */
function directCalls(text) {
  const calls = new Map();
  let current = null;
  const name = /\$("(?:[^"\\]|\\.)*"|[^\s()]+)/;
  const unquote = (n) => (n.startsWith('"') ? n.slice(1, -1).replace(/\\(.)/g, "$1") : n);
  for (const line of text.split("\n")) {
    if (line.startsWith(" (func ")) {
      current = new Set();
      calls.set(unquote(line.match(name)[1]), current);
    } else if (current !== null) {
      for (const m of line.matchAll(/\((?:return_)?call \$("(?:[^"\\]|\\.)*"|[^\s()]+)/g)) current.add(unquote(m[1]));
    }
  }
  return calls;
}

export function snip(bytes) {
  const module = binaryen.readBinary(bytes);
  try {
    const defined = [];
    for (let i = 0; i < module.getNumFunctions(); i++) {
      const f = module.getFunctionByIndex(i);
      const info = binaryen.getFunctionInfo(f);
      if (info.module === "") defined.push({ f, name: info.name });
    }
    const format = new Set(defined.filter((d) => FORMAT.test(d.name)).map((d) => d.name));
    const panic = new Set(defined.filter((d) => PANIC.test(d.name) && !format.has(d.name)).map((d) => d.name));
    if (![...panic].some((n) => /::panicking::panic_fmt$/.test(n))) {
      throw new Error("no `core::panicking::panic_fmt` by name: the module must keep its name section until wasm-opt");
    }
    const formatting = [];
    for (const [caller, callees] of directCalls(module.emitText())) {
      if (format.has(caller) || panic.has(caller)) continue;
      for (const callee of callees) if (format.has(callee)) formatting.push(`${caller} calls ${callee}`);
    }
    if (formatting.length > 0) {
      throw new Error(`code outside the panic path formats (build its message without fmt):\n  ${formatting.join("\n  ")}`);
    }
    for (const d of defined) {
      if (format.has(d.name) || panic.has(d.name)) binaryen.Function.setBody(d.f, module.unreachable());
    }
    // Names kept: wasm-opt strips them from what ships, `make wasm-names` keeps them.
    const debugInfo = binaryen.getDebugInfo();
    binaryen.setDebugInfo(true);
    try {
      return { bytes: module.emitBinary(), snipped: format.size + panic.size };
    } finally {
      binaryen.setDebugInfo(debugInfo);
    }
  } finally {
    module.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path] = process.argv.slice(2);
  try {
    const { bytes } = snip(readFileSync(path));
    writeFileSync(path, bytes);
  } catch (e) {
    console.error(`snip-wasm: ${path}: ${e.message}`);
    process.exit(1);
  }
}
