// Runs the edge worker on local workerd through miniflare: for the tests, the demo
// and the benchmark. `bindings` are the worker's (see README § The edge worker);
// `options` go to Miniflare as they are (kvNamespaces, port, ...).
//
// The worker imports `vexil` by name, which workerd cannot resolve by itself: it is
// bundled first, as wrangler does (esbuild, the `workerd` export condition, the wasm
// kept as a module beside the bundle).
import { buildSync } from "esbuild";
import { Miniflare } from "miniflare";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const WASM = fileURLToPath(new URL("../pkg/wasm/vexil_bg.wasm", import.meta.url));
let bundleDir = null;

function bundle() {
  if (bundleDir) return bundleDir;
  const dir = mkdtempSync(join(tmpdir(), "vexil-worker-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  buildSync({
    entryPoints: [fileURLToPath(new URL("./worker.js", import.meta.url))],
    outfile: join(dir, "worker.js"),
    bundle: true,
    format: "esm",
    conditions: ["workerd", "worker", "browser"],
    // pkg/worker.js imports "./wasm/vexil_bg.wasm": kept as that path, next to the bundle.
    external: ["*.wasm"],
    logLevel: "error",
  });
  mkdirSync(join(dir, "wasm"));
  copyFileSync(WASM, join(dir, "wasm", "vexil_bg.wasm"));
  bundleDir = dir;
  return dir;
}

export function localWorker(bindings, options = {}) {
  const dir = bundle();
  return new Miniflare({
    modules: true,
    scriptPath: join(dir, "worker.js"),
    modulesRoot: dir,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    bindings,
    compatibilityDate: "2025-01-01",
    ...options,
  });
}

