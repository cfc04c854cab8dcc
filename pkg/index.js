// Entry point for browsers and bundlers: fetches the wasm next to this module.
import init from "./wasm/vexil.js";

await init({ module_or_path: new URL("./wasm/vexil_bg.wasm", import.meta.url) });

export * from "./core.js";
export { createClient, Client } from "./client.js";
