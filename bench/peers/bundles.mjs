// Browser bundles, gzipped (zlib level 9, as `gzip -9`): each SDK's client bundled
// and minified by esbuild from a tiny entry file, plus the wasm it fetches.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const gzipSize = (bytes) => gzipSync(bytes, { level: 9 }).length;

export const ENTRIES = [
  // Vexil's browser entry fetches wasm/vexil_bg.wasm next to the module: counted apart.
  { name: "Vexil createClient", entry: 'export { createClient } from "./pkg/index.js";', wasm: "pkg/wasm/vexil_bg.wasm" },
  { name: "GrowthBook (browser GrowthBook class)", short: "GrowthBook", entry: 'export { GrowthBook } from "@growthbook/growthbook";', js: true },
  {
    name: "OpenFeature web SDK + OFREP web provider",
    short: "OpenFeature web SDK + OFREP provider",
    entry: 'export { OpenFeature } from "@openfeature/web-sdk"; export { OFREPWebProvider } from "@openfeature/ofrep-web-provider";',
    js: true,
  },
  { name: "Flipt (slim entry + its wasm)", entry: 'export { FliptClient } from "@flipt-io/flipt-client-js/slim";', wasm: "node_modules/@flipt-io/flipt-client-js/dist/flipt_engine_wasm_js_bg.wasm" },
];

/** `[{name, short, js, jsGzip, wasmGzip, total}]` for each SDK bundled. */
export async function bundleSizes(entries = ENTRIES) {
  const out = [];
  for (const e of entries) {
    const result = await build({
      stdin: { contents: e.entry, resolveDir: ROOT, sourcefile: "entry.js", loader: "js" },
      bundle: true, minify: true, format: "esm", platform: "browser", target: "es2022", write: false, logLevel: "silent",
    });
    const jsGzip = gzipSize(result.outputFiles[0].contents);
    const wasmGzip = e.wasm ? gzipSize(readFileSync(`${ROOT}/${e.wasm}`)) : 0;
    out.push({ name: e.name, short: e.short ?? e.name, js: e.js === true, jsGzip, wasmGzip, total: jsGzip + wasmGzip });
  }
  return out;
}
