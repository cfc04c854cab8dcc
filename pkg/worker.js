// Entry point for Cloudflare Workers (workerd): the wasm is imported as a module.
import wasmModule from "./wasm/vexil_bg.wasm";
import { initSync } from "./wasm/vexil.js";

initSync({ module: wasmModule });

export * from "./core.js";
export { createClient, Client } from "./client.js";

/** Resolves at once: this entry loads the wasm at import (the same API as the browser entry). */
export const ready = () => Promise.resolve();
