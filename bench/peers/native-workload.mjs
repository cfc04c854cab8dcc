// Writes the benchmark workload for the native benchmark (benches/engine.rs, group
// `workload`): CLI-built snapshots of the 1,000- and 10,000-flag sets, their keyring,
// and workload.json (flag keys, the 10,000 contexts, the random pairs and the
// requests' pairs), so native and wasm figures come from the same flags and contexts.
//   node bench/peers/native-workload.mjs [DIR]   (default target/bench-workload; make bench runs it)
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { contexts, flagSpecs, pairs } from "./workload.mjs";
import { vexil } from "./formats.mjs";
import { buildSnapshots } from "./vexil-snapshot.mjs";

const dir = resolve(process.argv[2] ?? fileURLToPath(new URL("../../target/bench-workload", import.meta.url)));
mkdirSync(dir, { recursive: true });
const specs = flagSpecs(1000);
buildSnapshots(dir, { "flags-1000": vexil(specs), "flags-10000": vexil(flagSpecs(10_000)) });
const raws = contexts(10_000);
const count = 1 << 16;
const random = pairs(count, specs.length, raws.length, 99);
const requests = pairs(count, specs.length, raws.length, 5);
writeFileSync(`${dir}/workload.json`, JSON.stringify({
  flag_keys: specs.map((s) => s.key),
  contexts: raws,
  pairs: { flag: [...random.flag], context: [...random.context] },
  requests: { flag: [...requests.flag], context: [...requests.context] },
}));
console.log(`workload for cargo bench written to ${dir}`);
