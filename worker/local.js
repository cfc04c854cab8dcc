// Runs the edge worker on local workerd through miniflare: for the tests, the demo
// and the benchmark. `bindings` are the worker's (see README § The edge worker);
// `options` go to Miniflare as they are (kvNamespaces, port, ...).
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";

export function localWorker(bindings, options = {}) {
  return new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL("./worker.js", import.meta.url)),
    modulesRoot: fileURLToPath(new URL("..", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    bindings,
    compatibilityDate: "2025-01-01",
    ...options,
  });
}
