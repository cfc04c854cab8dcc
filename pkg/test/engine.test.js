// The low-level Engine through the real wasm module under Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine, VexilError, createClient } from "../node.js";
import { encode, envelope, makeKey, payload, sampleFlags } from "./helpers.js";

const key = makeKey("k1");
const keys = { [key.id]: key.publicKey };

function loaded(options = {}, flags = sampleFlags()) {
  const engine = new Engine({ keys, environment: "production", ...options });
  engine.load(envelope(key, payload({ flags })));
  return engine;
}

test("typed evaluations return variant values and defaults", () => {
  const engine = loaded();
  assert.equal(engine.boolean("new-checkout", { targetingKey: "u1", plan: "beta" }, false), true);
  assert.equal(engine.boolean("new-checkout", { targetingKey: "u1", plan: "free" }, true), false);
  assert.equal(engine.string("banner-text", {}, "x"), "Welcome");
  assert.equal(engine.number("max-items", {}, 0), 50);
  assert.deepEqual(engine.json("theme", {}, {}), { bg: "#000", fg: "#fff" });
  assert.ok(Object.isFrozen(engine.json("theme", {}, {})), "shared JSON values are frozen");
  assert.equal(engine.boolean("killed", {}, true), false);
  assert.equal(engine.boolean("no-such-flag", {}, true), true);
  assert.equal(engine.string("new-checkout", {}, "fallback"), "fallback", "type mismatch gives the default");
});

test("details carry reason, variant, rule id, metadata and error codes", () => {
  const engine = loaded();
  const beta = engine.evaluate("new-checkout", { targetingKey: "u1", plan: "beta" }, false);
  assert.deepEqual(beta, {
    flagKey: "new-checkout", value: true, variant: "on", reason: "TARGETING_MATCH", ruleId: "beta",
    errorCode: undefined, errorMessage: undefined, flagMetadata: { team: "payments" },
  });
  assert.equal(engine.evaluate("new-checkout", { targetingKey: "u1" }, false).reason, "DEFAULT");
  assert.equal(engine.evaluate("banner-text", {}, "").reason, "STATIC");
  assert.equal(engine.evaluate("killed", {}, true).reason, "DISABLED");

  const split = engine.evaluate("new-checkout", { targetingKey: "u1", country: "DE" }, false);
  assert.equal(split.reason, "SPLIT");
  assert.equal(split.ruleId, "half");

  const missing = engine.evaluate("new-checkout", { country: "DE" }, "dflt");
  assert.equal(missing.value, "dflt");
  assert.equal(missing.reason, "ERROR");
  assert.equal(missing.errorCode, "TARGETING_KEY_MISSING");
  assert.match(missing.errorMessage, /rollout unit/);

  const notFound = engine.evaluate("nope", {}, 7);
  assert.equal(notFound.errorCode, "FLAG_NOT_FOUND");
  assert.equal(notFound.value, 7);

  const mismatch = engine.evaluate("max-items", {}, "x", "string");
  assert.equal(mismatch.errorCode, "TYPE_MISMATCH");
  assert.equal(mismatch.value, "x");

  for (const bad of ["a string", 42, [1, 2]]) {
    const d = engine.evaluate("banner-text", bad, "d");
    assert.equal(d.errorCode, "INVALID_CONTEXT", `context ${JSON.stringify(bad)}`);
    assert.equal(d.value, "d");
  }
  // Only the attributes the snapshot reads are looked at: a cycle elsewhere is fine.
  const cyclic = { targetingKey: "u1", plan: "beta" };
  cyclic.self = cyclic;
  assert.equal(engine.evaluate("new-checkout", cyclic, false).reason, "TARGETING_MATCH");
});

test("splits are deterministic per unit and a context handle equals a plain object", () => {
  const engine = loaded();
  let on = 0;
  for (let i = 0; i < 2000; i++) {
    const ctx = { targetingKey: `user-${i}`, country: "DE" };
    const plain = engine.boolean("new-checkout", ctx, false);
    const handle = engine.boolean("new-checkout", engine.context(ctx), false);
    assert.equal(plain, handle);
    if (plain) on++;
  }
  assert.ok(on > 900 && on < 1100, `50% split gave ${on}/2000`);
});

test("explicit context handles survive the plain-object cache's evictions", () => {
  const engine = loaded();
  const handle = engine.context({ targetingKey: "u1", plan: "beta" });
  for (let i = 0; i < 1000; i++) engine.boolean("new-checkout", { targetingKey: `u${i}` }, false);
  assert.equal(engine.boolean("new-checkout", handle, false), true);
  assert.equal(engine.evaluateAll(handle)["new-checkout"].ruleId, "beta");
  assert.equal(engine.context(handle), handle);
});

test("evaluateAll returns every flag in one call", () => {
  const engine = loaded();
  const all = engine.evaluateAll({ targetingKey: "u1", plan: "beta", provider: { authorized: true } });
  assert.deepEqual(Object.keys(all).sort(), ["banner-text", "killed", "max-items", "new-checkout", "phi-alerts", "theme"]);
  assert.equal(all["new-checkout"].value, true);
  assert.equal(all["new-checkout"].ruleId, "beta");
  assert.equal(all["killed"].reason, "DISABLED");
  assert.equal(all["phi-alerts"].reason, "DEFAULT");
});

test("evaluateAll keeps flags whose keys are Object.prototype's names as its own properties", () => {
  const flag = (key) => ({ key, variants: { on: true, off: false }, off_variant: "off", fallthrough: { variant: "on" } });
  const engine = loaded({}, ["__proto__", "constructor", "toString"].map(flag));
  const all = engine.evaluateAll({ targetingKey: "u1" });
  assert.deepEqual(Object.keys(all), ["__proto__", "constructor", "toString"]);
  assert.equal(Object.getPrototypeOf(all), Object.prototype, "the result's prototype is untouched");
  assert.equal(Object.getOwnPropertyDescriptor(all, "__proto__").value.value, true);
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(all))), ["__proto__", "constructor", "toString"]);
  assert.equal(all.toString.reason, "STATIC");
});

/** A signed payload the origin would never write: its last flag's fallthrough (the
 * payload's last byte, docs/snapshot-format.md) names a variant the flag lacks. */
function unknownFallthroughVariant(p) {
  const bytes = encode(p);
  bytes[bytes.length - 1] = 9;
  return bytes;
}

test("rejected snapshots throw coded errors and the last good one keeps serving", () => {
  const engine = loaded();
  const ctx = { targetingKey: "u1", plan: "beta" };
  const other = makeKey("k2");
  const v2 = payload({ flags: sampleFlags(), version: 2 });
  const tampered = envelope(key, v2);
  tampered.payload = Buffer.from(JSON.stringify({ ...v2, version: 3 })).toString("base64");
  const expired = payload({ flags: sampleFlags(), version: 5, now: Date.now() - 7200_000, ttlMs: 3600_000 });
  const cases = [
    ["BAD_SIGNATURE", tampered],
    ["UNKNOWN_KEY", envelope(other, v2)],
    ["WRONG_ENVIRONMENT", envelope(key, payload({ flags: sampleFlags(), version: 2, environment: "staging" }))],
    ["VERSION_ROLLBACK", envelope(key, payload({ flags: sampleFlags(), version: 1 }))],
    ["EXPIRED", envelope(key, expired)],
    ["BAD_FORMAT", "{not json"],
    ["INVALID_FLAGS", envelope(key, unknownFallthroughVariant(payload({ version: 2, flags: [{ key: "x", variants: { on: true }, off_variant: "on", fallthrough: { variant: "on" } }] })))],
  ];
  for (const [code, env] of cases) {
    assert.throws(() => engine.load(env), (e) => e instanceof VexilError && e.code === code && e.message.length > 10, code);
    assert.equal(engine.version, 1, `still on version 1 after ${code}`);
    assert.equal(engine.boolean("new-checkout", ctx, false), true, `still serving after ${code}`);
  }
  assert.equal(engine.load(envelope(key, v2)).version, 2);
});

test("a context handle is re-resolved after a new snapshot loads", () => {
  const engine = loaded();
  const ctx = engine.context({ targetingKey: "u1", tier: "gold" });
  assert.equal(engine.boolean("new-checkout", ctx, false), false);
  const flags = sampleFlags();
  flags[0].rules.unshift({ id: "gold", when: { attr: "tier", op: "eq", values: ["gold"] }, serve: { variant: "on" } });
  engine.load(envelope(key, payload({ flags, version: 2 })));
  assert.equal(engine.evaluate("new-checkout", ctx, false).ruleId, "gold");
});

test("stale snapshots: serve-stale keeps values, serve-defaults returns defaults", () => {
  let now = Date.now();
  const clock = () => now;
  for (const [policy, expected] of [["serve-stale", "Welcome"], ["serve-defaults", "default"]]) {
    const engine = new Engine({ keys, environment: "production", stalePolicy: policy, now: clock });
    engine.load(envelope(key, payload({ flags: sampleFlags(), now, ttlMs: 1000 })));
    assert.equal(engine.stale, false);
    now += 5000;
    assert.equal(engine.stale, true);
    assert.equal(engine.string("banner-text", {}, "default"), expected, policy);
    now -= 5000;
  }
});

test("bad options are refused with clear errors", () => {
  assert.throws(() => new Engine({ environment: "production" }), /keys/);
  assert.throws(() => new Engine({ keys, environment: "" }), /environment/);
  // The wasm module builds this message without Rust's formatting (it has none).
  assert.throws(() => new Engine({ keys: { k1: "not base64!" }, environment: "p" }),
    (e) => e.code === "BAD_KEYS" && e.message === "key `k1`: public key is not base64 (padded, standard alphabet)");
  assert.throws(() => new Engine({ keys: { k1: "AAAA" }, environment: "p" }),
    (e) => e.code === "BAD_KEYS" && e.message === "key `k1`: public key is 3 bytes; Ed25519 keys are 32");
  assert.throws(() => new Engine({ keys, environment: "p", stalePolicy: "sometimes" }), /stalePolicy/);
  assert.throws(() => new Engine({ keys, environment: "p", dimensions: ["patient.ward"], privateAttributes: ["patient.*"] }), /private/);
  const engine = loaded();
  assert.throws(() => engine.track("", {}), /event name/);
  assert.throws(() => engine.track("buy", {}, { value: "12" }), /value/);
});

test("metrics batches count evaluations by variant and reason, without unit ids or private attributes", () => {
  const engine = loaded({ dimensions: ["geo.country"], auditKey: "audit-secret" });
  for (let i = 0; i < 100; i++) {
    const ctx = { targetingKey: `user-secret-${i}`, country: "DE", geo: { country: i % 2 ? "DE" : "FR" }, email: `p${i}@example.com` };
    engine.boolean("new-checkout", ctx, false);
  }
  engine.boolean("phi-alerts", { targetingKey: "provider-7", provider: { authorized: true }, patient: { unit: "icu", mrn: "MRN-991" } }, false);
  engine.boolean("phi-alerts", { targetingKey: "provider-8", provider: { authorized: false }, patient: { unit: "icu", mrn: "MRN-992" } }, false);
  engine.boolean("typo-flag", {}, false);
  engine.track("checkout", { targetingKey: "user-secret-1", country: "DE" }, { value: 30, latencyMs: 120, success: true });

  const batch = engine.takeMetrics();
  const text = JSON.stringify(batch);
  const checkout = batch.flags["new-checkout"].variants;
  assert.equal((checkout.on?.count ?? 0) + (checkout.off?.count ?? 0), 100);
  assert.equal((checkout.on?.reasons.SPLIT ?? 0) + (checkout.off?.reasons.SPLIT ?? 0), 100);
  assert.ok(checkout.on.units, "unique units sketched");
  assert.equal(batch.unknown_flags["typo-flag"], 1);
  const countries = { ...checkout.on.dimensions["geo.country"] };
  for (const [c, n] of Object.entries(checkout.off?.dimensions?.["geo.country"] ?? {})) countries[c] = (countries[c] ?? 0) + n;
  assert.deepEqual(countries, { DE: 50, FR: 50 });
  assert.equal(batch.events.checkout.count, 1);
  assert.equal(batch.audit.length, 2, "phi-alerts audits every evaluation");
  assert.deepEqual(batch.audit.map((a) => a.reason).sort(), ["DENIED", "TARGETING_MATCH"]);
  assert.ok(batch.audit.every((a) => typeof a.unit === "string" && a.unit.length === 32), "pseudonymised units");
  for (const secret of ["user-secret", "provider-7", "provider-8", "MRN-99", "example.com"]) {
    assert.ok(!text.includes(secret), `batch must not contain ${secret}`);
  }
  assert.equal(engine.takeMetrics(), null, "drained");
});

test("createClient without a snapshot URL serves a bootstrap envelope", async () => {
  const client = await createClient({ keys, environment: "production", bootstrap: envelope(key, payload({ flags: sampleFlags() })) });
  assert.equal(client.ready, true);
  assert.equal(client.number("max-items", {}, 0), 50);
  client.close();
});

test("ofrep answers single and bulk evaluations as the origin shapes them", () => {
  const engine = new Engine({ keys, environment: "production" });
  const early = engine.ofrep("new-checkout", {});
  assert.deepEqual([early.status, JSON.parse(early.body)], [500, { errorDetails: "no snapshot has been loaded yet" }]);
  engine.load(envelope(key, payload({ flags: sampleFlags() })));
  const beta = engine.ofrep("new-checkout", { targetingKey: "u1", plan: "beta" });
  assert.equal(beta.status, 200);
  assert.deepEqual(JSON.parse(beta.body), {
    key: "new-checkout", value: true, reason: "TARGETING_MATCH", variant: "on", metadata: { team: "payments", ruleId: "beta" },
  });
  const missing = engine.ofrep("nope", {});
  assert.deepEqual([missing.status, JSON.parse(missing.body).errorCode], [404, "FLAG_NOT_FOUND"]);
  assert.match(JSON.parse(missing.body).errorDetails, /`nope` is not in the snapshot/);
  const noUnit = engine.ofrep("new-checkout", { country: "DE" });
  assert.deepEqual([noUnit.status, JSON.parse(noUnit.body).errorCode], [400, "TARGETING_KEY_MISSING"]);
  assert.equal(engine.ofrep("banner-text", "not an object").status, 400);
  const bulk = JSON.parse(engine.ofrep(undefined, { targetingKey: "u1" }).body);
  assert.deepEqual(bulk.metadata, { version: "1", environment: "production" });
  assert.deepEqual(bulk.flags.map((f) => f.key).sort(), engine.flagKeys.slice().sort());
  assert.deepEqual(bulk.flags.find((f) => f.key === "theme").value, { bg: "#000", fg: "#fff" });
  const counted = engine.takeMetrics();
  assert.ok(counted.flags["new-checkout"], "OFREP evaluations are counted");
});
