// The package's Workers entry point (wasm imported as a module) on real workerd.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import { envelope, makeKey, payload, sampleFlags } from "./helpers.js";

const key = makeKey("k1");
const mf = new Miniflare({
  modules: true,
  scriptPath: fileURLToPath(new URL("./worker-app.js", import.meta.url)),
  modulesRoot: fileURLToPath(new URL("..", import.meta.url)),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  bindings: { PUBLIC_KEYS: JSON.stringify({ [key.id]: key.publicKey }) },
  compatibilityDate: "2025-01-01",
});
after(() => mf.dispose());

async function call(body) {
  const response = await mf.dispatchFetch("http://worker/", { method: "POST", body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

test("verifies and evaluates inside workerd", async () => {
  const { status, body } = await call({
    envelope: envelope(key, payload({ flags: sampleFlags(), version: 3 })),
    context: { targetingKey: "u1", plan: "beta" },
    flag: "new-checkout",
  });
  assert.equal(status, 200);
  assert.equal(body.version, 3);
  assert.equal(body.details.value, true);
  assert.equal(body.details.reason, "TARGETING_MATCH");
  assert.equal(body.details.ruleId, "beta");
  assert.equal(body.metrics.flags["new-checkout"].variants.on.count, 1);
});

test("rejects a tampered snapshot inside workerd", async () => {
  const env = envelope(key, payload({ flags: sampleFlags() }));
  env.signature = envelope(key, payload({ flags: [] })).signature;
  const { status, body } = await call({ envelope: env, context: {}, flag: "new-checkout" });
  assert.equal(status, 422);
  assert.equal(body.rejected, "BAD_SIGNATURE");
});
