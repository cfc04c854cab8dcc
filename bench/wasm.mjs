// Benchmarks the wasm engine through the `vexil` package under Node and prints
// numbers (it asserts nothing). Run with `make bench` or `node bench/wasm.mjs`.
import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Engine } from "../pkg/node.js";
import { context, flag, flagsDocument } from "./flags.mjs";

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const keys = { bench: Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url").toString("base64") };

function signed(doc, version) {
  const now = Date.now();
  const payload = Buffer.from(JSON.stringify({
    ...doc, environment: "bench", version,
    issued_at: new Date(now).toISOString(), expires_at: new Date(now + 86_400_000).toISOString(),
  }));
  const signature = sign(null, Buffer.concat([Buffer.from("vexil-snapshot/1\n"), payload]), privateKey);
  const envelope = JSON.stringify({ format: "vexil-snapshot/1", key_id: "bench", payload: payload.toString("base64"), signature: signature.toString("base64") });
  return { payload, bytes: new TextEncoder().encode(envelope) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs `fn` in batches for about `ms` and returns nanoseconds per call. */
function nsPerOp(fn, ms = 400) {
  for (let i = 0; i < 20_000; i++) fn(i); // warm up
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10_000; i++) fn(i);
    calls += 10_000;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / calls;
}

function row(name, value) {
  console.log(`${name.padEnd(58)} ${value}`);
}

const wasm = readFileSync(new URL("../pkg/wasm/vexil_bg.wasm", import.meta.url));
console.log("vexil wasm benchmark (Node " + process.version + ")\n");
row("wasm size (raw)", `${(wasm.length / 1024).toFixed(1)} KB`);
row("wasm size (gzip -9)", `${(gzipSync(wasm, { level: 9 }).length / 1024).toFixed(1)} KB`);

for (const n of [1000, 10000]) {
  const doc = flagsDocument(n);
  const runs = n === 1000 ? 30 : 8;
  const loadTimes = [];
  const parseTimes = [];
  let size = 0;
  for (let r = 0; r < runs; r++) {
    const { payload, bytes } = signed(doc, r + 1);
    size = bytes.length;
    const engine = new Engine({ keys, environment: "bench", metrics: false });
    const t0 = performance.now();
    engine.load(bytes);
    loadTimes.push(performance.now() - t0);
    engine.free();
    const t1 = performance.now();
    JSON.parse(payload.toString());
    parseTimes.push(performance.now() - t1);
  }
  row(`load + verify ${n} flags (${(size / 1024).toFixed(0)} KB envelope), median`, `${median(loadTimes).toFixed(2)} ms`);
  row(`  reference: JSON.parse of the same payload in JS`, `${median(parseTimes).toFixed(2)} ms`);
}

const doc = flagsDocument(1000);
for (const metrics of [false, true]) {
  const engine = new Engine({ keys, environment: "bench", metrics });
  engine.load(signed(doc, 1).bytes);
  const label = metrics ? "metrics on" : "metrics off";
  const handle = engine.context(context);
  console.log(`\nsingle-flag evaluation (${label})`);
  const shapes = [["static", "flag-0"], ["attribute rule", "flag-1"], ["segment + 25% rollout", "flag-2"], ["all(in, semver) + 3-way split", "flag-3"], ["number compare, ends_with", "flag-4"]];
  for (const [shape, key] of shapes) {
    const type = typeof flag(Number(key.split("-")[1])).variants[Object.keys(flag(Number(key.split("-")[1])).variants)[0]];
    const method = type === "boolean" ? "boolean" : type === "number" ? "number" : "string";
    const ns = nsPerOp(() => engine[method](key, handle, null));
    row(`  ${shape}, context handle`, `${ns.toFixed(0)} ns  (${(1e3 / ns).toFixed(2)} M/s)`);
  }
  const plain = { ...context };
  const nsPlain = nsPerOp(() => engine.boolean("flag-2", plain, false));
  row(`  segment + rollout, same plain object (WeakMap-cached)`, `${nsPlain.toFixed(0)} ns  (${(1e3 / nsPlain).toFixed(2)} M/s)`);
  const nsFresh = nsPerOp(() => engine.boolean("flag-2", { ...context, targetingKey: "u" }, false), 300);
  row(`  segment + rollout, new plain object every call`, `${nsFresh.toFixed(0)} ns  (${(1e3 / nsFresh).toFixed(2)} M/s)`);
  const times = [];
  for (let r = 0; r < 300; r++) {
    const t0 = performance.now();
    engine.evaluateAll(handle);
    times.push(performance.now() - t0);
  }
  row(`  evaluateAll, 1000 flags, with details objects (median)`, `${(median(times) * 1000).toFixed(0)} µs`);
  engine.free();
}
