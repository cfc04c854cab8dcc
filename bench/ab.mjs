// A/B of two builds of the package in one process (for trying changes; not part of
// `make bench`). Usage: node bench/ab.mjs DIR_A DIR_B [load|request|pairs|all]...
// where each DIR is a copy of pkg/ (e.g. `cp -r pkg /tmp/a` after `make wasm`).
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { contexts, flagSpecs, pairs } from "./peers/workload.mjs";
import { vexil as vexilFormat } from "./peers/formats.mjs";
import { buildSnapshotsInTemp } from "./peers/vexil-snapshot.mjs";

const [dirA, dirB, ...modes] = process.argv.slice(2);
const specs = flagSpecs(1000);
const raws = contexts(10000);
const MASK = (1 << 16) - 1;
const requests = pairs(MASK + 1, specs.length, raws.length, 5);
const { keys, envelopes } = buildSnapshotsInTemp({ "flags-1000": vexilFormat(specs), "flags-10000": vexilFormat(flagSpecs(10000)) });
const flagKeys = specs.map((s) => s.key);
const strings = specs.map((s) => s.kind === "ab");

async function side(d) {
  const { Engine } = await import(pathToFileURL(join(resolve(d), "node.js")).href);
  const engine = new Engine({ keys, environment: "bench", metrics: true });
  engine.load(envelopes["flags-1000"]);
  const handles = raws.map((r) => engine.context({ ...r }));
  const ev = (i, ctx) => (strings[i] ? engine.string(flagKeys[i], ctx, "control") : engine.boolean(flagKeys[i], ctx, false));
  return {
    load1k: () => { const e = new Engine({ keys, environment: "bench" }); e.load(envelopes["flags-1000"]); e.free(); },
    load10k: () => { const e = new Engine({ keys, environment: "bench" }); e.load(envelopes["flags-10000"]); e.free(); },
    request: (i) => { const j = i & MASK; const ctx = { ...raws[requests.context[j]] }; for (let k = 0; k < 5; k++) ev(requests.flag[(j * 5 + k) & MASK], ctx); },
    pairs: (i) => { const j = i & MASK; ev(requests.flag[j], handles[requests.context[j]]); },
    all: (i) => engine.evaluateAll(handles[i % 10000]),
  };
}
const a = await side(dirA);
const b = await side(dirB);
const plan = { load1k: 60, load10k: 8, request: 100000, pairs: 300000, all: 3000 };
for (const mode of modes.length ? modes : ["load1k", "load10k", "request", "pairs", "all"]) {
  const n = plan[mode];
  const res = { a: [], b: [] };
  for (let round = 0; round < 5; round++) {
    for (const [name, s] of [["a", a], ["b", b]]) {
      const f = s[mode];
      for (let i = 0; i < Math.max(2, n / 20); i++) f(i);
      const t = performance.now();
      for (let i = 0; i < n; i++) f(i);
      res[name].push(((performance.now() - t) * 1e6) / n);
    }
  }
  const med = (xs) => xs.sort((x, y) => x - y)[2];
  const fmt = (ns) => (ns > 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns > 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
  console.log(`${mode.padEnd(8)} A ${fmt(med(res.a)).padStart(10)}  B ${fmt(med(res.b)).padStart(10)}  B/A ${(med(res.b) / med(res.a)).toFixed(2)}`);
}
