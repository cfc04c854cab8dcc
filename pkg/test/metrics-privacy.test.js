// Metrics that must never leave the process, and outcomes attributed only where they
// belong (issue 11, items 3 and 9): unit ids and a flag's private attributes are never
// metrics dimensions, and `track()` counts an outcome only for the flags its unit was
// served.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine, createClient } from "../node.js";
import { envelope, makeKey, payload } from "./helpers.js";

const key = makeKey("k1");
const keys = { [key.id]: key.publicKey };

const split = (extra = {}) => ({
  variants: { on: true, off: false }, off_variant: "off",
  fallthrough: { rollout: { weights: { on: 50, off: 50 } } }, ...extra,
});

const flags = [
  { key: "checkout", ...split() },
  { key: "search", ...split() },
  { key: "phi-alerts", private_attributes: ["patient"], ...split() },
  { key: "per-account", ...split({ fallthrough: { rollout: { by: "account.id", weights: { on: 50, off: 50 } } } }) },
];

function loaded(options = {}) {
  const engine = new Engine({ keys, environment: "production", ...options });
  engine.load(envelope(key, payload({ flags })));
  return engine;
}

/** Every dimension name counted for `flag` in `batch`, over its variants. */
function dimensionsOf(batch, flag) {
  const names = new Set();
  for (const v of Object.values(batch.flags[flag]?.variants ?? {})) {
    for (const d of Object.keys(v.dimensions ?? {})) names.add(d);
  }
  return [...names].sort();
}

test("createClient refuses a unit id or a private attribute as a dimension, with a clear error", async () => {
  await assert.rejects(
    createClient({ keys, environment: "production", dimensions: ["targetingKey"] }),
    (e) => e.code === "BAD_OPTIONS" && /targetingKey/.test(e.message) && /unit id/.test(e.message),
  );
  await assert.rejects(
    createClient({ keys, environment: "production", dimensions: ["patient.population"], privateAttributes: ["patient.*"] }),
    (e) => e.code === "BAD_OPTIONS" && /patient\.population/.test(e.message),
  );
});

test("a dimension a flag declares private is never counted for that flag, nor a rollout's unit attribute for any", () => {
  const engine = loaded({ dimensions: ["patient.population", "account.id", "geo.country"] });
  for (let i = 0; i < 20; i++) {
    const ctx = { targetingKey: `u${i}`, patient: { population: "oncology" }, account: { id: `acct-secret-${i}` }, geo: { country: "DE" } };
    for (const f of ["checkout", "phi-alerts", "per-account"]) engine.boolean(f, ctx, false);
  }
  const batch = engine.takeMetrics();
  assert.deepEqual(dimensionsOf(batch, "checkout"), ["geo.country", "patient.population"]);
  assert.deepEqual(dimensionsOf(batch, "phi-alerts"), ["geo.country"], "private for phi-alerts");
  assert.deepEqual(dimensionsOf(batch, "per-account"), ["geo.country", "patient.population"]);
  const text = JSON.stringify(batch);
  assert.ok(!text.includes("acct-secret"), "a rollout unit id never leaves the process");
  assert.ok(!text.includes('"account.id"'), text);
});

test("track() without flags attributes an outcome only to the flags its unit was served", () => {
  const engine = loaded();
  // u1 is served `checkout` only; `search` is never evaluated for anyone.
  const u1 = { targetingKey: "u1" };
  const served = engine.evaluate("checkout", u1, false).variant;
  for (let i = 0; i < 5; i++) engine.track("request", u1, { success: false, latencyMs: 30 });
  // A unit that was never evaluated: counted, but attributed to no flag.
  engine.track("request", { targetingKey: "never-seen" }, { success: false });
  const batch = engine.takeMetrics();
  const request = batch.events.request;
  assert.equal(request.count, 6);
  assert.deepEqual(Object.keys(request.attributions), ["checkout"], JSON.stringify(request));
  assert.deepEqual(Object.keys(request.attributions.checkout), [served]);
  assert.equal(request.attributions.checkout[served].failure, 5);
  assert.equal(request.unattributed, 1);
});

test("the first batch's window starts when the first snapshot loads, not in 1970", () => {
  let now = 1_800_000_000_000;
  const engine = new Engine({ keys, environment: "production", now: () => now });
  engine.load(envelope(key, payload({ flags, now })));
  engine.boolean("checkout", { targetingKey: "u1" }, false);
  now += 60_000;
  const batch = engine.takeMetrics();
  assert.deepEqual(batch.window, { start_ms: 1_800_000_000_000, end_ms: 1_800_000_060_000 });
});
