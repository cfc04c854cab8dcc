// scripts/snip-wasm.mjs: the panic path's formatting becomes a trap, everything else
// runs as before, and a module that formats outside the panic path is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import binaryen from "binaryen";
import { snip } from "../snip-wasm.mjs";

const PANIC_FMT = "core[0123abcd]::panicking::panic_fmt";
const FMT_WRITE = "core[0123abcd]::fmt::write";
const DISPLAY = "<u32 as core[0123abcd]::fmt::Display>::fmt";

/** A module named like rustc's output: `evaluate` (exported) and `panics`, plus `extra`. */
function module(extra = () => {}) {
  const m = new binaryen.Module();
  const { i32, none } = binaryen;
  // Before the pass these return normally, so a trap afterwards shows the snip.
  m.addFunction(PANIC_FMT, none, none, [], m.nop());
  m.addFunction(FMT_WRITE, none, i32, [], m.i32.const(7));
  m.addFunction(DISPLAY, none, i32, [], m.call(FMT_WRITE, [], i32));
  m.addFunction("vexil::engine::evaluate", none, i32, [], m.i32.const(42));
  m.addFunction("vexil::engine::fails", none, i32, [], m.block(null, [m.call(PANIC_FMT, [], none), m.i32.const(1)], i32));
  extra(m);
  m.addFunctionExport("vexil::engine::evaluate", "evaluate");
  m.addFunctionExport("vexil::engine::fails", "fails");
  m.addFunctionExport(DISPLAY, "display");
  binaryen.setDebugInfo(true);
  const bytes = m.emitBinary();
  binaryen.setDebugInfo(false);
  m.dispose();
  return bytes;
}

async function exportsOf(bytes) {
  return (await WebAssembly.instantiate(bytes)).instance.exports;
}

test("a panic still traps, formatting is gone, and the rest is untouched", async () => {
  const before = await exportsOf(module());
  assert.equal(before.fails(), 1);
  assert.equal(before.display(), 7);
  const { bytes, snipped } = snip(module());
  assert.equal(snipped, 3);
  const after = await exportsOf(bytes);
  assert.equal(after.evaluate(), 42);
  assert.throws(() => after.fails(), WebAssembly.RuntimeError);
  assert.throws(() => after.display(), WebAssembly.RuntimeError);
});

test("formatting outside the panic path fails the build, naming the caller", () => {
  const formats = module((m) =>
    m.addFunction("vexil::session::message", binaryen.none, binaryen.i32, [], m.call(FMT_WRITE, [], binaryen.i32)));
  assert.throws(() => snip(formats), /vexil::session::message calls core\[0123abcd\]::fmt::write/);
});

test("a module without function names is refused, not shipped unsnipped", () => {
  const m = new binaryen.Module();
  m.addFunction("f", binaryen.none, binaryen.none, [], m.nop());
  const bytes = m.emitBinary();
  m.dispose();
  assert.throws(() => snip(bytes), /name section/);
});
