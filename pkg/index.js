// Entry point for browsers and bundlers. The wasm is referenced as
// `new URL("./wasm/vexil_bg.wasm", import.meta.url)`, which Vite and webpack 5 emit as
// an asset and rewrite; it is fetched on the first `ready()` / `createClient()`.
// Bundlers that leave `import.meta.url` empty (esbuild's default iife) use `vexil/inline`.
import { VexilError } from "./core.js";
import { lazyEntry } from "./lazy.js";

export * from "./core.js";

export const { ready, Engine, Client, createClient } = lazyEntry(() => {
  if (!import.meta.url) {
    throw new VexilError("NO_WASM_URL", "this bundle has no import.meta.url to find vexil's wasm from (an iife or CommonJS build): import from \"vexil/inline\" instead, whose wasm is inlined");
  }
  return new URL("./wasm/vexil_bg.wasm", import.meta.url);
});
