// Entry point for Node.js (>= 20): loads the wasm module from disk at import.
import { readFileSync } from "node:fs";
import { initSync } from "./wasm/vexil.js";

initSync({ module: readFileSync(new URL("./wasm/vexil_bg.wasm", import.meta.url)) });

export * from "./core.js";
export { createClient, Client } from "./client.js";

/** Resolves at once: this entry loads the wasm at import (the same API as the browser entry). */
export const ready = () => Promise.resolve();
