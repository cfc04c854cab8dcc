// The size budgets of issue 12, measured as the benchmark measures them
// (bench/peers/bundles.mjs: zlib level 9; esbuild --bundle --minify): a change that
// grows the module past them fails here, not months later in a benchmark run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ENTRIES, bundleSizes } from "../../bench/peers/bundles.mjs";

const KB = 1024;
const WASM_BUDGET = 80 * KB;
const BUNDLE_BUDGET = 90 * KB;

test("the .wasm and createClient's browser bundle stay within their gzipped budgets", async () => {
  const [vexil] = await bundleSizes(ENTRIES.filter((e) => e.name === "Vexil createClient"));
  assert.ok(vexil.wasmGzip > 10 * KB, "measured a real module");
  assert.ok(vexil.wasmGzip <= WASM_BUDGET, `.wasm is ${vexil.wasmGzip} B gzipped; the budget is ${WASM_BUDGET}`);
  assert.ok(vexil.total <= BUNDLE_BUDGET, `the bundle is ${vexil.total} B gzipped (JS ${vexil.jsGzip} + wasm ${vexil.wasmGzip}); the budget is ${BUNDLE_BUDGET}`);
});
