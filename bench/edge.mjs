// Edge and origin throughput on this machine: the worker on local workerd
// (miniflare), a real `vexil serve` (release build), and publish → edge latency.
// Usage: node bench/edge.mjs   (after `cargo build --release --bin vexil` and `make wasm`)
import { localWorker } from "../worker/local.js";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { availableParallelism } from "node:os";

// Set before origin.js loads: it reads VEXIL_BIN when imported (a static import would
// run first and fall back to the debug build).
process.env.VEXIL_BIN ??= join(fileURLToPath(new URL("..", import.meta.url)), "target/release/vexil");
const { startOrigin, stopOrigin, api, simpleFlag } = await import("../worker/test/origin.js");

const origin = await startOrigin();
const admin = origin.admin;
const editor = (await api(origin, admin, "POST", "/tokens", { name: "bench", roles: ["editor"] })).token;
const sdk = (await api(origin, admin, "POST", "/sdk-keys", { name: "bench", environment: "production" })).token;
const keyring = (await api(origin, admin, "GET", "/keys")).keyring;
await api(origin, editor, "POST", "/environments/production/flags", {
  flag: simpleFlag("new-checkout", { fallthrough: { rollout: { weights: { on: 50, off: 50 } } } }),
});

const mf = localWorker({
  ENVIRONMENT: "production",
  PUBLIC_KEYS: JSON.stringify(keyring),
  SNAPSHOT_URL: `${origin.url}/api/v1/environments/production/snapshot`,
  SDK_KEY: sdk,
  REFRESH_INTERVAL_MS: "1000",
  ROUTING_FLAG: "new-checkout",
});
const edge = (await mf.ready).toString().replace(/\/$/, "");

/** Requests per second with `concurrency` loops for `ms`. */
async function throughput(name, concurrency, ms, once) {
  for (let i = 0; i < 50; i++) await once(i); // warm up
  let count = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        await once(w * 1e6 + count);
        count++;
      }
    }),
  );
  const perSecond = Math.round(count / (ms / 1000));
  console.log(`${name.padEnd(52)} ${String(perSecond).padStart(7)} /s`);
  return perSecond;
}

console.log(`# edge and origin on ${availableParallelism()} cores (local loopback; client and servers share the machine)`);
await throughput("worker: OFREP single evaluation", 8, 3000, async (i) => {
  const r = await fetch(`${edge}/ofrep/v1/evaluate/flags/new-checkout`, {
    method: "POST",
    headers: { authorization: `Bearer ${sdk}`, "content-type": "application/json" },
    body: JSON.stringify({ context: { targetingKey: `u${i}` } }),
  });
  await r.arrayBuffer();
});
await throughput("worker: edge-routing example", 8, 3000, async (i) => {
  const r = await fetch(`${edge}/checkout`, { headers: { "x-user-id": `u${i}` } });
  await r.arrayBuffer();
});

const snapshotUrl = `${origin.url}/api/v1/environments/production/snapshot`;
const first = await fetch(snapshotUrl, { headers: { authorization: `Bearer ${sdk}` } });
const etag = first.headers.get("etag");
await first.arrayBuffer();
await throughput("origin: snapshot 200", 8, 3000, async () => {
  const r = await fetch(snapshotUrl, { headers: { authorization: `Bearer ${sdk}` } });
  await r.arrayBuffer();
});
await throughput("origin: snapshot 304 (If-None-Match)", 8, 3000, async () => {
  const r = await fetch(snapshotUrl, { headers: { authorization: `Bearer ${sdk}`, "if-none-match": etag } });
  await r.arrayBuffer();
});
let batchId = 0;
await throughput("origin: metrics ingest (batches of 1 flag x 2 variants)", 8, 3000, async () => {
  const now = Date.now();
  const batch = {
    schema: 1, batch_id: `bench-${batchId++}`, sdk: "bench", environment: "production", snapshot_version: 2,
    window: { start_ms: now - 1000, end_ms: now },
    flags: { "new-checkout": { variants: { on: { count: 50, reasons: { SPLIT: 50 } }, off: { count: 50, reasons: { SPLIT: 50 } } } } },
    events: {}, audit: [], dropped: { audit: 0, events: 0, unknown_flags: 0 },
  };
  const r = await fetch(`${origin.url}/api/v1/metrics`, {
    method: "POST",
    headers: { authorization: `Bearer ${sdk}`, "content-type": "application/json" },
    body: JSON.stringify(batch),
  });
  await r.arrayBuffer();
});

// Publish → edge serving, with the worker refreshing every second.
const evaluate = async () => {
  const r = await fetch(`${edge}/ofrep/v1/evaluate/flags/new-checkout`, {
    method: "POST",
    headers: { authorization: `Bearer ${sdk}`, "content-type": "application/json" },
    body: JSON.stringify({ context: { targetingKey: "probe" } }),
  });
  return (await r.json()).reason;
};
const latencies = [];
for (let i = 0; i < 6; i++) {
  const kill = i % 2 === 0;
  await api(origin, editor, "POST", `/environments/production/flags/new-checkout/${kill ? "kill" : "enable"}`, { reason: "bench" });
  const published = performance.now();
  const want = kill ? "DISABLED" : "SPLIT";
  while ((await evaluate()) !== want) await new Promise((r) => setTimeout(r, 10));
  latencies.push(performance.now() - published);
}
latencies.sort((a, b) => a - b);
console.log(`${"publish → edge serving (refresh every 1 s), median".padEnd(52)} ${String(Math.round(latencies[3])).padStart(7)} ms (max ${Math.round(latencies.at(-1))} ms)`);

await mf.dispose();
await stopOrigin(origin);
