// createClient against a local HTTP origin: ETag refresh, last-known-good, key
// rotation, origin down, metrics delivery with retry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "../node.js";
import { envelope, makeKey, payload, sampleFlags, startOrigin } from "./helpers.js";

const key = makeKey("k1");
const ctx = { targetingKey: "u1", plan: "beta" };

async function setup(t, clientOptions = {}) {
  const origin = await startOrigin();
  t.after(() => origin.close());
  origin.state.envelope = envelope(key, payload({ flags: sampleFlags(), version: 1 }));
  const client = await createClient({
    snapshotUrl: origin.snapshotUrl,
    metricsUrl: origin.metricsUrl,
    sdkKey: origin.sdkKey,
    keys: { [key.id]: key.publicKey },
    environment: "production",
    autoRefresh: false,
    autoFlush: false,
    ...clientOptions,
  });
  t.after(() => client.close());
  return { origin, client };
}

test("fetches and verifies the snapshot, then uses If-None-Match", async (t) => {
  const { origin, client } = await setup(t);
  assert.equal(client.ready, true);
  assert.equal(client.version, 1);
  assert.equal(client.boolean("new-checkout", ctx, false), true);
  await client.refresh();
  assert.equal(origin.state.snapshotRequests.length, 2);
  assert.equal(origin.state.snapshotRequests[0].ifNoneMatch, null);
  assert.ok(origin.state.snapshotRequests[1].ifNoneMatch, "second request is conditional");
  assert.equal(client.version, 1);
});

test("picks up a new version and emits update", async (t) => {
  const { origin, client } = await setup(t);
  const updates = [];
  client.on("update", (info) => updates.push(info.version));
  const flags = sampleFlags();
  flags[1].fallthrough = { variant: "a" };
  origin.state.envelope = envelope(key, payload({ flags, version: 2 }));
  await client.refresh();
  assert.equal(client.version, 2);
  assert.deepEqual(updates, [2]);
  assert.equal(client.string("banner-text", {}, ""), "Hello");
});

test("a bad signature is ignored and the last known good snapshot keeps serving", async (t) => {
  const { origin, client } = await setup(t);
  const errors = [];
  client.on("error", (e) => errors.push(e.code));
  const forged = envelope(key, payload({ flags: [], version: 2 }));
  forged.signature = envelope(key, payload({ flags: sampleFlags(), version: 9 })).signature;
  origin.state.envelope = forged;
  await client.refresh();
  assert.deepEqual(errors, ["BAD_SIGNATURE"]);
  assert.equal(client.version, 1);
  assert.equal(client.boolean("new-checkout", ctx, false), true);
  assert.equal(client.lastError.code, "BAD_SIGNATURE");
});

test("rotated keys: a snapshot signed by the new key is accepted when the keyring has both", async (t) => {
  const next = makeKey("k2");
  const { origin, client } = await setup(t, { keys: { [key.id]: key.publicKey, [next.id]: next.publicKey } });
  origin.state.envelope = envelope(next, payload({ flags: sampleFlags(), version: 2 }));
  await client.refresh();
  assert.equal(client.version, 2);
});

test("origin down or erroring: keeps serving and reports FETCH_FAILED", async (t) => {
  const { origin, client } = await setup(t);
  const errors = [];
  client.on("error", (e) => errors.push(e.code));
  origin.state.snapshotStatus = 503;
  await client.refresh();
  await origin.close();
  await client.refresh();
  assert.deepEqual(errors, ["FETCH_FAILED", "FETCH_FAILED"]);
  assert.equal(client.boolean("new-checkout", ctx, false), true);
});

test("a hung origin: the fetch in flight shows, times out as TIMEOUT, and a 304 afterwards clears it", async (t) => {
  let hung = false;
  // A connection that never answers: only the client's own timeout ends it.
  const fetch = (url, init) =>
    hung ? new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason))) : globalThis.fetch(url, init);
  const { client } = await setup(t, { fetch, requestTimeoutMs: 100 });
  assert.equal(client.refreshingSince, null);
  hung = true;
  const started = Date.now();
  const refresh = client.refresh();
  assert.ok(client.refreshingSince >= started - 5 && client.refreshingSince <= Date.now());
  await refresh;
  assert.ok(Date.now() - started >= 90);
  assert.equal(client.refreshingSince, null);
  assert.equal(client.lastError.code, "TIMEOUT");
  assert.match(client.lastError.message, /timed out after 100 ms/);
  assert.equal(client.boolean("new-checkout", ctx, false), true, "the last known good keeps serving");
  hung = false;
  await client.refresh(); // 304: unchanged
  assert.equal(client.lastError, null);
});

test("first fetch failing: not ready, defaults with PROVIDER_NOT_READY", async (t) => {
  const origin = await startOrigin();
  origin.state.snapshotStatus = 500;
  t.after(() => origin.close());
  const client = await createClient({
    snapshotUrl: origin.snapshotUrl, sdkKey: origin.sdkKey, keys: { [key.id]: key.publicKey },
    environment: "production", autoRefresh: false,
  });
  t.after(() => client.close());
  assert.equal(client.ready, false);
  assert.equal(client.lastError.code, "FETCH_FAILED");
  assert.equal(client.boolean("new-checkout", ctx, true), true);
  assert.equal(client.details("new-checkout", ctx, true).errorCode, "PROVIDER_NOT_READY");
});

test("an evaluateAll bootstrap serves before the first snapshot", async (t) => {
  const origin = await startOrigin();
  origin.state.snapshotStatus = 500;
  t.after(() => origin.close());
  const client = await createClient({
    snapshotUrl: origin.snapshotUrl, sdkKey: origin.sdkKey, keys: { [key.id]: key.publicKey },
    environment: "production", autoRefresh: false,
    bootstrap: { "banner-text": { value: "Bootstrapped", variant: "b", reason: "STATIC" } },
  });
  t.after(() => client.close());
  assert.equal(client.string("banner-text", {}, "x"), "Bootstrapped");
  origin.state.snapshotStatus = 200;
  origin.state.envelope = envelope(key, payload({ flags: sampleFlags() }));
  await client.refresh();
  assert.equal(client.string("banner-text", {}, "x"), "Welcome");
});

test("metrics reach the origin with the SDK key and without unit ids", async (t) => {
  const { origin, client } = await setup(t);
  for (let i = 0; i < 20; i++) client.boolean("new-checkout", { targetingKey: `secret-user-${i}`, country: "DE" }, false);
  client.track("purchase", { targetingKey: "secret-user-3", country: "DE" }, { value: 10, success: true });
  await client.flush();
  assert.equal(origin.state.metrics.length, 1);
  const { raw, batch } = origin.state.metrics[0];
  assert.equal(batch.environment, "production");
  assert.equal(batch.snapshot_version, 1);
  const variants = batch.flags["new-checkout"].variants;
  assert.equal(Object.values(variants).reduce((n, v) => n + v.count, 0), 20);
  assert.equal(batch.events.purchase.count, 1);
  assert.ok(!raw.includes("secret-user"), "no unit ids in the batch");
});

test("a failed send is retried later with the same batch id; the queue is bounded", async (t) => {
  let now = Date.now();
  const { origin, client } = await setup(t, { now: () => now, maxQueuedBatches: 3 });
  origin.state.metricsStatus = 503;
  client.boolean("new-checkout", ctx, false);
  await client.flush();
  assert.equal(client.pendingBatches, 1);
  assert.equal(origin.state.metricsRequests, 1);
  await client.flush();
  assert.equal(origin.state.metricsRequests, 1, "backing off: no immediate retry");
  for (let i = 0; i < 5; i++) {
    client.boolean("new-checkout", ctx, false);
    await client.flush();
  }
  assert.equal(client.pendingBatches, 3, "queue bounded");
  assert.ok(client.droppedBatches >= 2);
  origin.state.metricsStatus = 202;
  now += 10 * 60_000;
  await client.flush();
  assert.equal(client.pendingBatches, 0);
  const ids = origin.state.metrics.map((m) => m.batch.batch_id);
  assert.equal(new Set(ids).size, ids.length, "distinct batches");
  assert.equal(ids.length, 3);
  assert.ok(!ids.includes(origin.state.attempts[0]), "the oldest batch was dropped from the full queue");

  // A batch that fails once is sent again later under the same id.
  origin.state.metricsStatus = 503;
  client.boolean("new-checkout", ctx, false);
  await client.flush();
  const failedId = origin.state.attempts.at(-1);
  origin.state.metricsStatus = 202;
  now += 10 * 60_000;
  await client.flush();
  assert.equal(origin.state.metrics.at(-1).batch.batch_id, failedId);
  assert.equal(client.pendingBatches, 0);
});
