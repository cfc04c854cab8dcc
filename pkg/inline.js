// Entry point with the wasm inlined (base64, made by `make wasm`): for bundlers that
// neither emit `new URL(..., import.meta.url)` assets nor keep import.meta (esbuild's
// default iife, Rollup without a wasm plugin, CommonJS). Nothing to serve beside the
// bundle; the module is compiled on the first `ready()` / `createClient()`.
import { lazyEntry } from "./lazy.js";
import wasmBase64 from "./wasm/vexil_inline.js";

export * from "./core.js";

function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

export const { ready, Engine, Client, createClient } = lazyEntry(() => decode(wasmBase64));
