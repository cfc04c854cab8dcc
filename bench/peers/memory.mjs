// Memory one system takes for a flag set, measured alone in this process:
//   node --expose-gc bench/peers/memory.mjs SYSTEM ARTIFACT_FILE KEYS_FILE
// Prints {"bytes": N, "how": "..."}: the growth of the JS heap plus external memory
// (which includes wasm memories) across the load, after gc. A wasm memory only grows,
// so for Vexil and Flipt it is the peak during loading; Vexil's share in wasm memory
// is read from its module's exports.
import { readFileSync } from "node:fs";
import { initSync } from "../../pkg/wasm/vexil.js";
import { allSystems } from "./systems.mjs";
import { flagSpecs } from "./workload.mjs";

const [name, file, keysFile] = process.argv.slice(2);
const keys = JSON.parse(readFileSync(keysFile, "utf8"));
const bytes = new Uint8Array(readFileSync(file));
const artifact = name === "Vexil" ? bytes : new TextDecoder().decode(bytes);
const specs = flagSpecs(10_000);
const system = allSystems(keys, {}).find((s) => s.name === name);

// One load of a one-flag set first, so code loading and wasm instantiation are not counted.
const warm = name === "Vexil" ? null : await system.open(system.format(specs.slice(0, 1)), specs.slice(0, 1));
const gc = () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
};
const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const wasmMemory = () => initSync({ module: new Uint8Array(0) }).memory.buffer.byteLength;

gc();
const before = used();
const wasmBefore = name === "Vexil" ? wasmMemory() : 0;
const { instance } = await system.open(artifact, specs);
gc();
const after = used();
const how = name === "Vexil"
  ? `JS heap + external after gc, of which wasm memory growth (peak while loading) ${((wasmMemory() - wasmBefore) / 1024 / 1024).toFixed(1)} MB`
  : `JS heap + external after gc${system.wasm ? ", its wasm memory's growth (peak while loading) included" : ""}`;
console.log(JSON.stringify({ bytes: after - before, how }));
instance.close();
warm?.instance?.close();
process.exit(0);
