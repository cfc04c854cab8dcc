// Vexil through OpenFeature, with the real SDKs from npm: every resolution type,
// every error path, provider events on snapshot change and expiry, hooks, and
// tracking reaching the metrics batch.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import { OpenFeature as WebOpenFeature, ProviderEvents as WebEvents } from "@openfeature/web-sdk";
import { VexilProvider } from "vexil/openfeature/server";
import { VexilWebProvider } from "vexil/openfeature/web";
import { envelope, makeKey, payload, sampleFlags, startOrigin } from "./helpers.js";

const key = makeKey("k1");
const keys = { [key.id]: key.publicKey };
const origin = await startOrigin();
origin.state.envelope = envelope(key, payload({ flags: sampleFlags(), version: 1 }));
const options = {
  environment: "production",
  keys,
  snapshotUrl: origin.snapshotUrl,
  sdkKey: origin.sdkKey,
  refreshIntervalMs: 50,
  metrics: true,
};

after(async () => {
  await OpenFeature.close();
  await WebOpenFeature.close();
  origin.close();
});

test("the server provider resolves every type, with Vexil's reasons, variants and metadata", async () => {
  await OpenFeature.setProviderAndWait("types", new VexilProvider(options));
  const client = OpenFeature.getClient("types");
  const b = await client.getBooleanDetails("new-checkout", false, { targetingKey: "u1", plan: "beta" });
  assert.deepEqual([b.value, b.variant, b.reason, b.flagMetadata.ruleId, b.flagMetadata.team], [true, "on", "TARGETING_MATCH", "beta", "payments"]);
  const s = await client.getStringDetails("banner-text", "?", { targetingKey: "u1" });
  assert.deepEqual([s.value, s.variant, s.reason], ["Welcome", "b", "STATIC"]);
  assert.equal(await client.getNumberValue("max-items", 0, { targetingKey: "u1" }), 50);
  assert.deepEqual(await client.getObjectValue("theme", {}, { targetingKey: "u1" }), { bg: "#000", fg: "#fff" });
  const killed = await client.getBooleanDetails("killed", true, { targetingKey: "u1" });
  assert.deepEqual([killed.value, killed.reason], [false, "DISABLED"]);
});

test("the server provider's resolve methods return Promises, as the server SDK's Provider type says", async () => {
  const provider = new VexilProvider(options);
  await provider.initialize();
  try {
    for (const [method, fallback] of [["resolveBooleanEvaluation", false], ["resolveStringEvaluation", "?"], ["resolveNumberEvaluation", 0], ["resolveObjectEvaluation", {}]]) {
      const pending = provider[method]("new-checkout", fallback, { targetingKey: "u1", plan: "beta" });
      assert.ok(pending instanceof Promise, method);
      assert.equal(typeof (await pending).reason, "string");
    }
  } finally {
    await provider.onClose();
  }
});

test("every error path gives the default with OpenFeature's error code", async () => {
  const client = OpenFeature.getClient("types");
  const missing = await client.getBooleanDetails("no-such-flag", true, { targetingKey: "u1" });
  assert.deepEqual([missing.value, missing.errorCode, missing.reason], [true, "FLAG_NOT_FOUND", "ERROR"]);
  const mismatch = await client.getNumberDetails("banner-text", 7, { targetingKey: "u1" });
  assert.deepEqual([mismatch.value, mismatch.errorCode], [7, "TYPE_MISMATCH"]);
  const noKey = await client.getBooleanDetails("new-checkout", false, { country: "DE" });
  assert.deepEqual([noKey.value, noKey.errorCode], [false, "TARGETING_KEY_MISSING"]);
  assert.ok(noKey.errorMessage.includes("rollout unit"));

  // A provider with nothing to serve fails to start: ERROR, and defaults everywhere.
  const errors = [];
  const broken = new VexilProvider({ ...options, snapshotUrl: "http://127.0.0.1:9/snapshot" });
  OpenFeature.addHandler(ProviderEvents.Error, (e) => e.domain === "broken" && errors.push(e));
  await OpenFeature.setProviderAndWait("broken", broken).catch(() => {});
  const r = await OpenFeature.getClient("broken").getBooleanDetails("new-checkout", true, { targetingKey: "u1" });
  assert.equal(r.value, true);
  assert.ok(["PROVIDER_NOT_READY", "PROVIDER_FATAL", "GENERAL"].includes(r.errorCode), r.errorCode);
  assert.equal(errors.length, 1);
});

test("a snapshot that does not parse: the provider reports the parse failure and serves defaults", async () => {
  const garbled = envelope(key, Buffer.from("{not json"));
  const errors = [];
  OpenFeature.addHandler(ProviderEvents.Error, (e) => e.domain === "garbled" && errors.push(e));
  await OpenFeature.setProviderAndWait("garbled", new VexilProvider({ environment: "production", keys, bootstrap: garbled })).catch(() => {});
  const r = await OpenFeature.getClient("garbled").getStringDetails("banner-text", "dflt", { targetingKey: "u1" });
  assert.equal(r.value, "dflt");
  assert.equal(r.reason, "ERROR");
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /BAD_PAYLOAD|malformed|not a format-2 snapshot payload/i);
});

test("hooks run, and tracking reaches the metrics batch attributed to the variant", async () => {
  const provider = new VexilProvider(options);
  await OpenFeature.setProviderAndWait("tracking", provider);
  const client = OpenFeature.getClient("tracking");
  const seen = [];
  client.addHooks({ before: (h) => seen.push(`before ${h.flagKey}`), after: (_h, d) => seen.push(`after ${d.variant}`) });
  const ctx = { targetingKey: "u1", plan: "beta" };
  await client.getBooleanValue("new-checkout", false, ctx);
  assert.deepEqual(seen, ["before new-checkout", "after on"]);
  client.track("checkout", ctx, { value: 30, success: true });
  const batch = provider.client.engine.takeMetrics();
  assert.equal(batch.events.checkout.attributions["new-checkout"].on.count, 1);
  assert.equal(batch.events.checkout.attributions["new-checkout"].on.value_sum, 30);
});

test("a new snapshot raises CONFIGURATION_CHANGED with the changed flags; an expired one STALE", async () => {
  const provider = new VexilProvider(options);
  await OpenFeature.setProviderAndWait("events", provider);
  const changed = new Promise((resolve) => provider.events.addHandler(ProviderEvents.ConfigurationChanged, resolve));
  const flags = sampleFlags();
  flags.find((f) => f.key === "banner-text").fallthrough = { variant: "a" };
  origin.state.envelope = envelope(key, payload({ flags, version: 2 }));
  const event = await changed;
  assert.deepEqual(event.flagsChanged, ["banner-text"]);
  assert.equal(await OpenFeature.getClient("events").getStringValue("banner-text", "?", { targetingKey: "u" }), "Hello");

  // A snapshot that expires while it is the newest: the provider turns STALE.
  const stale = new Promise((resolve) => provider.events.addHandler(ProviderEvents.Stale, resolve));
  origin.state.envelope = envelope(key, payload({ flags, version: 3, ttlMs: 300 }));
  await stale;
});

test("the web provider serves synchronously for the static context and follows changes", async () => {
  origin.state.envelope = envelope(key, payload({ flags: sampleFlags(), version: 10 }));
  const provider = new VexilWebProvider(options);
  await WebOpenFeature.setContext("web", { targetingKey: "u1", plan: "beta" });
  await WebOpenFeature.setProviderAndWait("web", provider);
  const client = WebOpenFeature.getClient("web");
  const d = client.getBooleanDetails("new-checkout", false);
  assert.deepEqual([d.value, d.variant, d.reason], [true, "on", "TARGETING_MATCH"]);
  assert.equal(client.getNumberDetails("banner-text", 1).errorCode, "TYPE_MISMATCH");
  assert.equal(client.getBooleanDetails("nope", false).errorCode, "FLAG_NOT_FOUND");
  for (const inherited of ["toString", "constructor", "__proto__"]) {
    assert.equal(client.getBooleanDetails(inherited, false).errorCode, "FLAG_NOT_FOUND", inherited);
  }
  await WebOpenFeature.setContext("web", { targetingKey: "u1", plan: "free" });
  assert.equal(client.getBooleanValue("new-checkout", true), false, "re-evaluated for the new context");

  const changed = new Promise((resolve) => client.addHandler(WebEvents.ConfigurationChanged, resolve));
  const flags = sampleFlags();
  flags.find((f) => f.key === "max-items").fallthrough = { variant: "low" };
  origin.state.envelope = envelope(key, payload({ flags, version: 11 }));
  const event = await changed;
  assert.deepEqual(event.flagsChanged, ["max-items"]);
  assert.equal(client.getNumberValue("max-items", 0), 10);
  client.track("signup", { value: 1 });
  assert.equal(provider.client.engine.takeMetrics().events.signup.count, 1);
});
