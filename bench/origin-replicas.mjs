// The origin on its two back ends, side by side in one run: one `vexil serve` on
// SQLite, then two replicas of it on one PostgreSQL database (a throwaway server,
// bench/postgres.mjs), the load spread over both. Measures snapshot 200s and 304s,
// OFREP evaluations and metrics ingest per second, and how long a publish through one
// replica takes to reach a server-sent-events subscriber of the other; then estimates
// what 10,000 edge isolates polling every second cost the origin with and without a
// CDN in front, from the 304 rate measured.
//
// Usage: node bench/origin-replicas.mjs   (after `cargo build --release --bin vexil`;
// PostgreSQL from `make setup-test`). The client and every server share this machine's
// cores, so two replicas here measure what PostgreSQL costs per request, not what a
// second machine adds.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { startPostgres } from "./postgres.mjs";
import { api as originApi } from "../worker/test/origin.js";

/** The origin API at `base`, as the worker tests call it. */
const api = (base, ...rest) => originApi({ url: base }, ...rest);

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VEXIL = process.env.VEXIL_BIN ?? join(ROOT, "target/release/vexil");
const CONCURRENCY = 16;
const SECONDS = Number(process.env.SECONDS ?? 3);
const ENV = "production";
const FLAG = "new-checkout";
// On PostgreSQL the private keys are sealed in the database with a key-encryption key.
const ENV_VARS = { ...process.env, VEXIL_KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64") };

/** `vexil init` of a data directory (database `url`, or its own SQLite file). */
function init(url) {
  const data = join(mkdtempSync(join(tmpdir(), "vexil-bench-origin-")), "data");
  const args = ["init", "--data", data, "--json", ...(url ? ["--database", url] : [])];
  const out = JSON.parse(execFileSync(VEXIL, args, { encoding: "utf8", env: ENV_VARS }));
  // The OFREP rate limit (100/s per key by default) would measure the limiter.
  const toml = join(data, "vexil.toml");
  const text = readFileSync(toml, "utf8")
    .replace(/^requests_per_second = .*$/m, "requests_per_second = 1000000")
    .replace(/^burst = .*$/m, "burst = 1000000");
  writeFileSync(toml, text);
  return { data, admin: out.admin_token };
}

/** A `vexil serve` of `data` on a free port: `{url, child}`. */
async function serve(data, url) {
  const args = ["serve", "--data", data, "--listen", "127.0.0.1:0", ...(url ? ["--database", url] : [])];
  const child = spawn(VEXIL, args, { stdio: ["ignore", "pipe", "pipe"], env: ENV_VARS });
  const log = [];
  child.stderr.on("data", (d) => log.push(String(d)));
  const lines = createInterface({ input: child.stdout });
  const address = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`vexil serve exited with ${code}: ${log.join("")}`)));
    lines.once("line", (line) => resolve(line.replace("listening on ", "").trim()));
  });
  child.removeAllListeners("exit");
  lines.on("line", () => {});
  return { url: address, child };
}

/** Tokens and a flag, through the first replica. */
async function prepare(base, admin) {
  const editor = (await api(base, admin, "POST", "/tokens", { name: "bench", roles: ["editor"] })).token;
  const sdk = (await api(base, admin, "POST", "/sdk-keys", { name: "bench", environment: ENV })).token;
  await api(base, editor, "POST", `/environments/${ENV}/flags`, {
    flag: {
      key: FLAG, kind: "release", risk: "low", owner: "web", expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      enabled: true, variants: { on: true, off: false }, off_variant: "off",
      fallthrough: { rollout: { weights: { on: 50, off: 50 } } },
    },
  });
  return { editor, sdk };
}

/** Requests per second of `once(replica, i)`, CONCURRENCY loops spread over the replicas. */
async function throughput(replicas, once) {
  for (let i = 0; i < 40; i++) await once(replicas[i % replicas.length], i);
  let count = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      const replica = replicas[w % replicas.length];
      while (performance.now() < end) {
        await once(replica, w * 1e7 + count);
        count++;
      }
    }),
  );
  return Math.round(count / SECONDS);
}

/** Reads server-sent events from `url`, calling `onEvent(kind, data)`; returns a stop function. */
function subscribe(url, sdk, onEvent) {
  const controller = new AbortController();
  (async () => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${sdk}`, accept: "text/event-stream" }, signal: controller.signal });
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of r.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const kind = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (kind && data) onEvent(kind, JSON.parse(data));
      }
    }
  })().catch((e) => {
    if (e.name !== "AbortError") console.error(`# events: ${e.message}`);
  });
  return () => controller.abort();
}

/** Publish (kill / enable) through `writer`, timed until `reader`'s subscriber sees the version. */
async function publishToEvents(writer, reader, editor, sdk, rounds = 10) {
  let latest = 0;
  let waiting = null;
  const stop = subscribe(`${reader.url}/api/v1/environments/${ENV}/events`, sdk, (kind, e) => {
    if (kind === "snapshot" && e.version > latest) {
      latest = e.version;
      if (waiting && latest >= waiting.version) waiting.resolve();
    }
  });
  await until(() => latest > 0, "the first event");
  const ms = [];
  for (let i = 0; i < rounds; i++) {
    const action = i % 2 === 0 ? "kill" : "enable";
    const t0 = performance.now();
    const done = await api(writer.url, editor, "POST", `/environments/${ENV}/flags/${FLAG}/${action}`, { reason: "bench" });
    const version = done?.applied?.snapshot_version ?? latest + 1;
    await new Promise((resolve, reject) => {
      if (latest >= version) return resolve();
      waiting = { version, resolve };
      setTimeout(() => reject(new Error(`no event for version ${version} within 10 s`)), 10_000);
    });
    ms.push(performance.now() - t0);
  }
  stop();
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], max: ms.at(-1) };
}

async function until(check, what) {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every measurement of one setup (its replicas sharing one database). */
async function measure(replicas, { editor, sdk }) {
  const snapshotPath = `/api/v1/environments/${ENV}/snapshot`;
  const first = await fetch(`${replicas[0].url}${snapshotPath}`, { headers: { authorization: `Bearer ${sdk}` } });
  const etag = first.headers.get("etag");
  await first.arrayBuffer();
  const get = (headers) => async (replica) => {
    const r = await fetch(`${replica.url}${snapshotPath}`, { headers });
    await r.arrayBuffer();
    if (r.status !== 200 && r.status !== 304) throw new Error(`snapshot: ${r.status}`);
  };
  const out = {};
  out.snapshot200 = await throughput(replicas, get({ authorization: `Bearer ${sdk}` }));
  out.snapshot304 = await throughput(replicas, get({ authorization: `Bearer ${sdk}`, "if-none-match": etag }));
  out.ofrep = await throughput(replicas, async (replica, i) => {
    const r = await fetch(`${replica.url}/ofrep/v1/evaluate/flags/${FLAG}`, {
      method: "POST",
      headers: { authorization: `Bearer ${sdk}`, "content-type": "application/json" },
      body: JSON.stringify({ context: { targetingKey: `u${i}` } }),
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`OFREP: ${r.status}`);
  });
  const run = Math.random().toString(36).slice(2);
  out.ingest = await throughput(replicas, async (replica, i) => {
    const now = Date.now();
    const batch = {
      schema: 1, batch_id: `bench-${run}-${i}`, sdk: "bench", environment: ENV, snapshot_version: 2,
      window: { start_ms: now - 1000, end_ms: now },
      flags: { [FLAG]: { variants: { on: { count: 50, reasons: { SPLIT: 50 } }, off: { count: 50, reasons: { SPLIT: 50 } } } } },
      events: {}, audit: [], dropped: { audit: 0, events: 0, unknown_flags: 0 },
    };
    const r = await fetch(`${replica.url}/api/v1/metrics`, {
      method: "POST",
      headers: { authorization: `Bearer ${sdk}`, "content-type": "application/json" },
      body: JSON.stringify(batch),
    });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`ingest: ${r.status}`);
  });
  out.events = await publishToEvents(replicas[0], replicas.at(-1), editor, sdk);
  return out;
}

console.log(`# the origin on ${availableParallelism()} cores: ${CONCURRENCY} client loops for ${SECONDS} s each, client and servers on one machine`);
const results = [];
{
  const { data, admin } = init(null);
  const server = await serve(data, null);
  const tokens = await prepare(server.url, admin);
  results.push(["1 replica, SQLite", await measure([server], tokens)]);
  server.child.kill("SIGTERM");
  rmSync(join(data, ".."), { recursive: true, force: true });
}
const pg = await startPostgres();
try {
  const { data, admin } = init(pg.url);
  // Both replicas read the same settings; the keys are in the database.
  const replicas = [await serve(data, pg.url), await serve(data, pg.url)];
  const tokens = await prepare(replicas[0].url, admin);
  results.push(["2 replicas, PostgreSQL", await measure(replicas, tokens)]);
  for (const r of replicas) r.child.kill("SIGTERM");
  rmSync(join(data, ".."), { recursive: true, force: true });
} finally {
  await pg.stop();
}

const rows = [
  ["snapshot 200 /s", (r) => r.snapshot200],
  ["snapshot 304 (If-None-Match) /s", (r) => r.snapshot304],
  ["OFREP single evaluation /s", (r) => r.ofrep],
  ["metrics ingest, batches /s", (r) => r.ingest],
  ["publish → SSE on the other replica, median ms", (r) => Math.round(r.events.median)],
  ["publish → SSE on the other replica, max ms", (r) => Math.round(r.events.max)],
];
console.log(`| | ${results.map(([name]) => name).join(" | ")} |`);
console.log(`|---|${results.map(() => "---:").join("|")}|`);
for (const [label, get] of rows) console.log(`| ${label} | ${results.map(([, r]) => get(r)).join(" | ")} |`);

// 10,000 isolates polling every second ask 10,000 times a second. A CDN caches public
// snapshots (`snapshots.public = true`: `max-age`, `stale-while-revalidate`), so the
// origin sees about one revalidation per point of presence per max-age.
const isolates = 10_000;
const pops = 300;
const maxAge = 10;
const per304 = Math.min(...results.map(([, r]) => r.snapshot304));
console.log(`\n# estimate: ${isolates} isolates polling every 1 s = ${isolates} requests/s, nearly all 304s.`);
console.log(`#   without a CDN: ${(isolates / per304).toFixed(1)}× the 304s this whole machine served above (${per304}/s, the lower rate, client included).`);
console.log(`#   with a CDN (${pops} points of presence, max-age ${maxAge} s): about ${pops / maxAge} revalidations/s reach the origin,`);
console.log(`#   ${((100 * pops) / maxAge / per304).toFixed(1)} % of that rate; a publish reaches edges within max-age + their poll interval.`);
