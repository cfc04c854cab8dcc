// Vexil side by side with its peers (flagd-core, GrowthBook, Unleash, Flipt's wasm
// client) in one Node run, on one seeded workload (bench/peers/workload.mjs) written
// in each system's own format (bench/peers/formats.mjs). Prints every row with ratios
// against the fastest pure-JS peer, then a summary table. Asserts nothing.
//
// Usage: make bench, or `node bench/peers.mjs` after `make wasm` (and `make wasm-names`
// for the size report). BENCH_QUICK=1 shortens every measurement (for trying changes).
import { availableParallelism, cpus, tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { contexts, describe, flagSpecs, pairs, rulesOnly } from "./peers/workload.mjs";
import { vexil as vexilFormat } from "./peers/formats.mjs";
import { buildSnapshots } from "./peers/vexil-snapshot.mjs";
import { allSystems, growthbook, vexil } from "./peers/systems.mjs";
import { compareRates, compareTimes, duration, kilobytes, rate, size, times } from "./peers/measure.mjs";
import { checkEquivalence } from "./peers/equivalence.mjs";
import { bundleSizes, gzipSize } from "./peers/bundles.mjs";
import { sizeReport, stripCustom } from "./peers/wasm-size.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const QUICK = Boolean(process.env.BENCH_QUICK);
const ROUND_MS = QUICK ? 80 : 300;
const ROUNDS = QUICK ? 2 : 5;
const MASK = (1 << 16) - 1;

const specs = flagSpecs(1000);
const specs10k = flagSpecs(10_000);
const raws = contexts(10_000);
const pairsRandom = pairs(MASK + 1, specs.length, raws.length, 99);
const requests = pairs(MASK + 1, specs.length, raws.length, 5);

console.log(`# Vexil and peers, one run: Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? "?"}), ${new Date().toISOString().slice(0, 10)}`);
for (const line of describe(specs)) console.log(`# ${line}`);
console.log(`# ${raws.length.toLocaleString("en-US")} distinct contexts; seeded random (flag, context) pairs; each figure is the median of ${ROUNDS} rounds taken in turn`);
console.log("# ×N: speed relative to the fastest pure-JS peer (flagd-core, GrowthBook, Unleash) in the same row; higher is faster");

// Vexil's snapshots come from its CLI, as a user makes them.
const dir = mkdtempSync(join(tmpdir(), "vexil-peers-"));
const { keys, envelopes } = buildSnapshots(dir, {
  "flags-1000": vexilFormat(specs),
  "flags-10000": vexilFormat(specs10k),
  "rules-only": vexilFormat(rulesOnly(specs)),
});
const systems = allSystems(keys, envelopes);
console.log("# metrics, as each system counts them on its normal path:");
for (const s of systems) console.log(`#   ${s.name}: ${s.counts}`);

const artifact = (system, set, list) => system.format(list, set);
const open = async (system, set, list) => (await system.open(artifact(system, set, list), list)).instance;
const instances = [];
for (const s of systems) instances.push(await open(s, "flags-1000", specs));

// --- equivalence -------------------------------------------------------------
const rulesSpecs = rulesOnly(specs);
const rulesInstances = [];
for (const s of systems) rulesInstances.push(await open(s, "rules-only", rulesSpecs));
console.log("\n## equivalence (percentages bucket differently in each system; rule matches and variant sets must agree)");
for (const line of checkEquivalence(systems, instances, rulesInstances, specs, rulesSpecs, raws)) console.log(line);
for (const i of rulesInstances) i.close();

/** Prints one row of rates or times with ratios against the fastest JS peer; returns the entries. */
function printRow(title, entries, { higherIsBetter, format }) {
  const js = entries.filter((e) => e.js);
  const best = js.reduce((a, b) => ((higherIsBetter ? b.value > a.value : b.value < a.value) ? b : a), js[0]);
  console.log(`\n## ${title}`);
  for (const e of entries) {
    e.ratio = higherIsBetter ? e.value / best.value : best.value / e.value;
    console.log(`  ${e.name.padEnd(44)} ${format(e.value).padStart(12)}  ${times(e.ratio)}`);
  }
  return { entries, best };
}
const find = (row, name) => row.entries.find((e) => e.name === name);

// --- 1. per request -----------------------------------------------------------
const perRequest = (inst, fromRaw = inst.fromRaw, release) => (i) => {
  const j = i & MASK;
  const ctx = fromRaw(raws[requests.context[j]]);
  let value;
  for (let k = 0; k < 5; k++) value = inst.eval(requests.flag[(j * 5 + k) & MASK], ctx);
  if (release) release(ctx);
  return value;
};
const vexilInstance = instances[0];
const growthbookQuiet = await open(growthbook({ tracking: false }), "flags-1000", specs);
const requestContenders = [
  { name: "Vexil (a new plain object)", fn: perRequest(vexilInstance) },
  { name: "Vexil (a handle made per request)", fn: perRequest(vexilInstance, (raw) => vexilInstance.engine.context(vexilInstance.fromRaw(raw)), (h) => h.free()) },
  ...systems.slice(1).map((s, i) => ({ name: s.name, js: s.js, fn: perRequest(instances[i + 1]) })),
  // For comparison only (not a ratio base): without the callback experiments need for exposures.
  { name: "GrowthBook (no trackingCallback)", fn: perRequest(growthbookQuiet) },
];
const rowRequest = printRow(
  "1. per request: a new context object, then 5 flags (requests/s)",
  compareRates(requestContenders, { ms: ROUND_MS, rounds: ROUNDS }).map((value, i) => ({ ...requestContenders[i], value })),
  { higherIsBetter: true, format: (x) => `${rate(x)}/s` },
);

// --- 2. random pairs over prepared contexts ----------------------------------------
const prepared = instances.map((inst) => raws.map(inst.prepare));
instances.forEach((inst, s) => prepared[s].forEach((p) => inst.evalPrepared(0, p))); // fill handles before timing
const overPairs = (inst, ctxs, live = ctxs.length) => (i) => {
  const j = i & MASK;
  return inst.evalPrepared(pairsRandom.flag[j], ctxs[pairsRandom.context[j] % live]);
};
const pairContenders = systems.map((s, i) => ({ name: `${s.name}${i === 0 ? " (handles)" : ""}`, js: s.js, fn: overPairs(instances[i], prepared[i]) }));
const rowPairs = printRow(
  "2. random pairs over 10,000 live contexts, prepared beforehand (evaluations/s)",
  compareRates(pairContenders, { ms: ROUND_MS, rounds: ROUNDS }).map((value, i) => ({ ...pairContenders[i], value })),
  { higherIsBetter: true, format: (x) => `${rate(x)}/s` },
);
const LIVE = [1, 100, 10_000];
const liveContenders = LIVE.map((n) => ({ name: `${n}`, fn: overPairs(vexilInstance, prepared[0], n) }));
const liveNs = compareRates(liveContenders, { ms: ROUND_MS, rounds: ROUNDS }).map((r) => 1e9 / r);
console.log(`  Vexil per evaluation with ${LIVE.map((n) => n.toLocaleString("en-US")).join(" / ")} live contexts: ${liveNs.map((x) => x.toFixed(0)).join(" / ")} ns (10,000 vs 1: ${times(liveNs[2] / liveNs[0])})`);
{
  // What metrics aggregation costs: the same pairs on an engine with `metrics: false`.
  const quiet = await open(vexil(keys, envelopes, { metrics: false }), "flags-1000", specs);
  const handles = raws.map(quiet.prepare);
  handles.forEach((h) => quiet.evalPrepared(0, h));
  const [off, on] = compareRates([{ fn: overPairs(quiet, handles) }, { fn: overPairs(vexilInstance, prepared[0]) }], { ms: ROUND_MS, rounds: ROUNDS }).map((r) => 1e9 / r);
  console.log(`  Vexil per evaluation over 10,000 handles, metrics off / on: ${off.toFixed(0)} / ${on.toFixed(0)} ns`);
  quiet.close();
}

// --- 4. evaluate all flags ---------------------------------------------------------
const allContenders = systems.map((s, i) => ({ name: s.name, js: s.js, fn: () => instances[i].evalAll(prepared[i][0]) }));
const rowAll = printRow(
  "4. evaluate all 1,000 flags with details, one context (time per call)",
  compareRates(allContenders, { ms: ROUND_MS * 2, rounds: ROUNDS, warmupMs: 300, batch: 1 }).map((r, i) => ({ ...allContenders[i], value: 1000 / r })),
  { higherIsBetter: false, format: duration },
);
for (const inst of [...instances, growthbookQuiet]) inst.close();
prepared.length = 0;

// --- 3. load + verify, memory --------------------------------------------------------
const loadRow = async (set, list, runs) => {
  const contenders = systems.map((s) => {
    const art = artifact(s, set, list);
    return {
      name: s.name, js: s.js,
      once: async () => {
        const { ms, instance } = await s.open(art, list);
        instance.close();
        return ms;
      },
    };
  });
  await compareTimes(contenders, 1); // warm-up
  return (await compareTimes(contenders, runs)).map((value, i) => ({ ...contenders[i], value }));
};
const loadTitle = (n) => `3. load + verify ${n} flags (Vexil: engine.load of a signed envelope; peers: from their JSON)`;
const rowLoad1k = printRow(loadTitle("1,000"), await loadRow("flags-1000", specs, QUICK ? 3 : 15), { higherIsBetter: false, format: duration });
const rowLoad10k = printRow(loadTitle("10,000"), await loadRow("flags-10000", specs10k, QUICK ? 2 : 5), { higherIsBetter: false, format: duration });

console.log("\n## memory for 10,000 flags (each system alone in a child process, after gc)");
const memory = systems.map((s) => {
  const file = join(dir, `memory-${s.name}.artifact`);
  writeFileSync(file, artifact(s, "flags-10000", specs10k));
  const out = execFileSync(process.execPath, ["--expose-gc", fileURLToPath(new URL("./peers/memory.mjs", import.meta.url)), s.name, file, join(dir, "keys.json")], { encoding: "utf8" });
  const m = JSON.parse(out);
  console.log(`  ${s.name.padEnd(44)} ${size(m.bytes).padStart(12)}  (${m.how})`);
  return { name: s.name, js: s.js, value: m.bytes };
});

// --- 5. size ---------------------------------------------------------------------------
console.log("\n## 5. wasm size");
const vexilWasm = readFileSync(join(ROOT, "pkg/wasm/vexil_bg.wasm"));
const fliptWasm = readFileSync(join(ROOT, "node_modules/@flipt-io/flipt-client-js/dist/flipt_engine_wasm_js_bg.wasm"));
const sizes = {
  vexilRaw: vexilWasm.length,
  vexilGzip: gzipSize(vexilWasm),
  fliptRaw: fliptWasm.length,
  fliptGzip: gzipSize(fliptWasm),
  fliptStrippedGzip: gzipSize(stripCustom(fliptWasm)),
};
console.log(`  Vexil pkg/wasm/vexil_bg.wasm: ${kilobytes(sizes.vexilRaw)} raw, ${kilobytes(sizes.vexilGzip)} gzipped (-9)`);
console.log(`  Flipt engine wasm: ${kilobytes(sizes.fliptRaw)} raw, ${kilobytes(sizes.fliptGzip)} gzipped as shipped (with its name section; ${kilobytes(sizes.fliptStrippedGzip)} stripped)`);

// --- 6. browser bundles ------------------------------------------------------------
console.log("\n## 6. browser bundle, esbuild --bundle --minify, gzipped (-9)");
const bundles = await bundleSizes();
for (const b of bundles) {
  const parts = b.wasmGzip ? ` (JS ${kilobytes(b.jsGzip)} + wasm ${kilobytes(b.wasmGzip)})` : "";
  console.log(`  ${b.name.padEnd(44)} ${kilobytes(b.total).padStart(12)}${parts}`);
}

// --- summary ----------------------------------------------------------------------
const jsPeers = (row, format) =>
  row.entries.filter((e) => e.js).sort((a, b) => b.ratio - a.ratio).map((e) => `${e.name} ${format(e.value)}`).join(", ");
const cell = (e, format) => `${format(e.value)} (${times(e.ratio)})`;
const memoryBest = memory.filter((m) => m.js).sort((a, b) => a.value - b.value);
const vexilBundle = bundles[0];
const fliptBundle = bundles.at(-1);
const summary = [
  "| | Vexil wasm | JS peers (fastest first) | Flipt (wasm) |",
  "|---|---|---|---|",
  `| per request: a new context object, then 5 flags | ${cell(find(rowRequest, "Vexil (a new plain object)"), (x) => `${rate(x)} req/s`)} plain object; ${cell(find(rowRequest, "Vexil (a handle made per request)"), rate)} a handle per request | ${jsPeers(rowRequest, rate)} | ${rate(find(rowRequest, "Flipt").value)} |`,
  `| random pairs over 10,000 prepared contexts | ${cell(find(rowPairs, "Vexil (handles)"), (x) => `${rate(x)} evals/s`)}; ${liveNs.map((x) => x.toFixed(0)).join(" / ")} ns with 1 / 100 / 10,000 live (${times(liveNs[2] / liveNs[0])}) | ${jsPeers(rowPairs, rate)} | ${rate(find(rowPairs, "Flipt").value)} |`,
  `| load + verify 1,000 flags | ${cell(find(rowLoad1k, "Vexil"), duration)} | ${jsPeers(rowLoad1k, duration)} | ${duration(find(rowLoad1k, "Flipt").value)} |`,
  `| load + verify 10,000 flags | ${cell(find(rowLoad10k, "Vexil"), duration)} | ${jsPeers(rowLoad10k, duration)} | ${duration(find(rowLoad10k, "Flipt").value)} |`,
  `| memory for 10,000 flags | ${size(memory[0].value)} (wasm memory's peak) | ${memoryBest.map((m) => `${m.name} ${size(m.value)}`).join(", ")} | ${size(memory.at(-1).value)} |`,
  `| evaluate all 1,000 flags with details, one context | ${cell(find(rowAll, "Vexil"), duration)} | ${jsPeers(rowAll, duration)} | ${duration(find(rowAll, "Flipt").value)} |`,
  `| \`.wasm\` gzipped | ${kilobytes(sizes.vexilGzip)} (${kilobytes(sizes.vexilRaw)} raw) | – | ${kilobytes(sizes.fliptGzip)} (${kilobytes(sizes.fliptStrippedGzip)} stripped) |`,
  `| browser bundle, JS + wasm, gzipped (esbuild) | ${kilobytes(vexilBundle.total)} (JS ${kilobytes(vexilBundle.jsGzip)} + wasm ${kilobytes(vexilBundle.wasmGzip)}) | ${bundles.filter((b) => b.js).map((b) => `${b.short} ${kilobytes(b.total)}`).join("; ")} | ${kilobytes(fliptBundle.total)} |`,
];
console.log("\n## summary\n");
for (const line of summary) console.log(line);

// --- size report ------------------------------------------------------------------
const named = join(ROOT, "target/wasm-names/vexil_bg.wasm");
console.log("\n## Vexil wasm size report (biggest contributors)");
if (existsSync(named)) {
  for (const line of sizeReport(readFileSync(named))) console.log(`  ${line}`);
} else {
  console.log("  target/wasm-names/vexil_bg.wasm is missing: `make wasm-names` builds it (make bench does)");
}
rmSync(dir, { recursive: true, force: true });
