// One Vexil workload of bench/peers.mjs alone, for profiling (node --cpu-prof):
// `node bench/prof-vexil.mjs MODE [N]`, MODE request | pairs | one | all | allmany;
// METRICS=0 turns metrics aggregation off.
import { contexts, flagSpecs, pairs } from "./peers/workload.mjs";
import { vexil as vexilFormat } from "./peers/formats.mjs";
import { buildSnapshotsInTemp } from "./peers/vexil-snapshot.mjs";
import { vexil } from "./peers/systems.mjs";
const specs = flagSpecs(1000); const raws = contexts(10000); const MASK = (1 << 16) - 1;
const requests = pairs(MASK + 1, specs.length, raws.length, 5);
const { keys, envelopes } = buildSnapshotsInTemp({ "flags-1000": vexilFormat(specs) });
const inst = (await vexil(keys, envelopes, { metrics: process.env.METRICS !== "0" }).open(envelopes["flags-1000"], specs)).instance;
const mode = process.argv[2] ?? "request";
const handles = raws.map(inst.prepare);
const f = mode === "request" ? (i) => { const j = i & MASK; const ctx = inst.fromRaw(raws[requests.context[j]]); for (let k = 0; k < 5; k++) inst.eval(requests.flag[(j * 5 + k) & MASK], ctx); }
  : mode === "pairs" ? (i) => { const j = i & MASK; inst.evalPrepared(requests.flag[j], handles[requests.context[j]]); }
  : mode === "one" ? (i) => { const j = i & MASK; inst.evalPrepared(requests.flag[j], handles[0]); }
  : mode === "all" ? () => inst.evalAll(handles[0])
  : (i) => inst.evalAll(handles[i % 10000]);
const n = Number(process.argv[3] ?? (mode === "all" ? 3000 : 300000));
for (let i = 0; i < n / 10; i++) f(i);
const t = performance.now(); for (let i = 0; i < n; i++) f(i); const ns = (performance.now() - t) * 1e6 / n;
console.log(mode, ns.toFixed(0), "ns per op");
