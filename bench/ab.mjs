// A/B of two builds of the package in one process (for trying changes; not part of
// `make bench`). Usage: node bench/ab.mjs DIR_A DIR_B [load|request|pairs|all]...
// where each DIR is a copy of pkg/ (e.g. `cp -r pkg /tmp/a` after `make wasm`).
//
// On a shared machine timings swing by 20 % or more, and the side measured second
// often runs slower (by up to 25 % per request on 2026-12-08): run both orders, A B
// then B A, and trust only a difference both show. With
// `--count DIR MODE N` the script runs MODE N times on one build after a warm-up, to
// be counted by callgrind twice at two N and subtracted (instructions per operation):
//   valgrind --tool=callgrind node --single-threaded --predictable --no-liftoff \
//     bench/ab.mjs --count DIR pairs 20000
// then the same with 60000: the difference of the two `Collected` counts / 40000.
// With V8's `--predictable` one build's count repeated within 0.1 % in some runs and
// not in others (pairs 1,041 and 2,721 for one build, an hour apart), and builds that
// differ only off the hot path differ by up to 5 %: count each build several times.
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { contexts, flagSpecs, pairs } from "./peers/workload.mjs";
import { vexil as vexilFormat } from "./peers/formats.mjs";
import { buildSnapshotsInTemp } from "./peers/vexil-snapshot.mjs";

const args = process.argv.slice(2);
const counting = args[0] === "--count";
const [dirA, dirB, ...modes] = args;
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
const plan = { load1k: 60, load10k: 8, request: 100000, pairs: 300000, all: 3000 };
/** Warm-up runs before a measurement of `n` operations. */
const warmUp = (n) => Math.max(2, n / 20);
if (counting) {
  const [, dir, mode, count] = args;
  const f = (await side(dir))[mode];
  if (f === undefined) throw new Error(`--count: MODE is one of ${Object.keys(plan).join(", ")}`);
  const n = Number(count);
  for (let i = 0; i < warmUp(plan[mode]); i++) f(i);
  for (let i = 0; i < n; i++) f(i);
  process.exit(0);
}
const a = await side(dirA);
const b = await side(dirB);
for (const mode of modes.length ? modes : ["load1k", "load10k", "request", "pairs", "all"]) {
  const n = plan[mode];
  const res = { a: [], b: [] };
  for (let round = 0; round < 5; round++) {
    for (const [name, s] of [["a", a], ["b", b]]) {
      const f = s[mode];
      for (let i = 0; i < warmUp(n); i++) f(i);
      const t = performance.now();
      for (let i = 0; i < n; i++) f(i);
      res[name].push(((performance.now() - t) * 1e6) / n);
    }
  }
  const med = (xs) => xs.sort((x, y) => x - y)[2];
  const fmt = (ns) => (ns > 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns > 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
  console.log(`${mode.padEnd(8)} A ${fmt(med(res.a)).padStart(10)}  B ${fmt(med(res.b)).padStart(10)}  B/A ${(med(res.b) / med(res.a)).toFixed(2)}`);
}
