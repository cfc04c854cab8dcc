// Vexil's load + verify alone, for profiling (node --cpu-prof): `node bench/prof-load.mjs [FLAGS] [RUNS]`.
// Each run loads the CLI-built signed envelope into a new Engine, as bench/peers.mjs does.
import { flagSpecs } from "./peers/workload.mjs";
import { vexil as vexilFormat } from "./peers/formats.mjs";
import { buildSnapshotsInTemp } from "./peers/vexil-snapshot.mjs";
import { vexil } from "./peers/systems.mjs";
const flags = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 200);
const specs = flagSpecs(flags);
const { keys, envelopes } = buildSnapshotsInTemp({ set: vexilFormat(specs) });
const system = vexil(keys, envelopes);
const times = [];
for (let i = 0; i < runs; i++) {
  const { ms, instance } = await system.open(envelopes.set, specs);
  instance.close();
  times.push(ms);
}
times.sort((a, b) => a - b);
console.log(`load + verify ${flags} flags: median ${times[runs >> 1].toFixed(3)} ms, min ${times[0].toFixed(3)} ms (${runs} runs)`);
