// Plain-object contexts are read straight from the object (pkg/context.js) instead of
// going through JSON. This checks the two paths agree: every flag's variant, reason
// and error, and the metrics batch (units, dimensions, audit pseudonyms), for
// hand-picked edge cases and a thousand generated contexts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../node.js";
import { Engine as WasmEngine } from "../wasm/vexil.js";
import { envelope, makeKey, payload } from "./helpers.js";

const key = makeKey("k1");
const keys = { [key.id]: key.publicKey };
const dimensions = ["country", "geo.region"];
const auditKey = "a".repeat(64);
const NOW = Date.parse("2026-06-01T00:00:00Z");

const rule = (id, when, variant = "on") => ({ id, when, serve: { variant } });
const flag = (key, rules, extra = {}) => ({ key, variants: { on: true, off: false }, off_variant: "off", rules, fallthrough: { variant: "off" }, ...extra });
const flags = [
  flag("plan", [rule("beta", { attr: "plan", op: "in", values: ["beta", 12, true] })]),
  flag("not-plan", [rule("x", { attr: "plan", op: "not_in", values: ["beta"] })]),
  flag("nested", [rule("gold", { attr: "user.account.tier", op: "eq", values: ["gold"] })]),
  flag("flat", [rule("de", { attr: "geo.country", op: "in", values: ["DE"] })]),
  flag("groups", [rule("staff", { attr: "groups", op: "contains", values: ["staff", 3] })]),
  flag("has-email", [rule("e", { attr: "email", op: "exists" })]),
  flag("mail", [rule("corp", { attr: "email", op: "ends_with", values: ["@corp.example"], ignore_case: true })]),
  flag("version", [rule("new", { attr: "app.version", op: "semver_gte", values: ["2.0.0"] })]),
  flag("signup", [rule("early", { attr: "signup", op: "before", values: ["2026-01-01T00:00:00Z"] })]),
  flag("seats", [rule("big", { attr: "seats", op: "gte", values: [100] })]),
  flag("office", [rule("net", { attr: "ip", op: "in_cidr", values: ["10.0.0.0/8"] })]),
  flag("label", [rule("re", { attr: "label", op: "matches", values: ["^a.*:;"] })]),
  flag("by-account", [], { fallthrough: { rollout: { by: "account", weights: { on: 50, off: 50 } } } }),
  flag("by-key", [], { fallthrough: { rollout: { weights: { on: 50, off: 50 } } }, audit_evaluations: "all" }),
  // Attributes reached through segments, prerequisites and access.
  flag("segmented", [rule("s", { segment: "big-beta" })]),
  flag("needs-plan", [rule("r", { attr: "email", op: "exists" })], { prerequisites: [{ flag: "plan", variants: ["on"] }] }),
  flag("gated", [], { access: { attr: "groups", op: "contains", values: ["staff"] }, fallthrough: { variant: "on" } }),
];
const segments = {
  big: { attr: "seats", op: "gte", values: [100] },
  "big-beta": { all: [{ segment: "big" }, { attr: "user.account.tier", op: "in", values: ["gold"] }] },
};

function engines() {
  const signed = envelope(key, payload({ flags, segments, now: NOW }));
  const ours = new Engine({ keys, environment: "production", dimensions, auditKey, now: () => NOW });
  ours.load(signed);
  const json = new WasmEngine(JSON.stringify({ keys, environment: "production", dimensions, auditKey, metrics: true }));
  json.load(new TextEncoder().encode(JSON.stringify(signed)), NOW);
  const names = JSON.parse(json.flagTable()).map((row) => row.variants.map(([name]) => name));
  return { ours, json, names };
}

/** Every flag's (variant, reason, error) through the JSON path (a BigInt, which
 * JSON cannot write, stands for a value comparable with nothing, as `{}` does). */
function viaJson({ json, names }, ctx) {
  const handle = json.context(JSON.stringify(ctx, (_, v) => (typeof v === "bigint" ? {} : v)));
  const packed = json.evalAll(handle, NOW);
  handle.free();
  return flags.map((f, i) => {
    const p = packed[2 * i];
    const variant = p & 0xffff;
    return [f.key, variant === 0xffff ? undefined : names[i][variant], (p >>> 16) & 0xf, (p >>> 20) & 0xf];
  });
}

const REASONS = ["STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED", "EXCLUDED", "DENIED", "PREREQUISITE_FAILED", "ERROR"];
const ERRORS = ["PROVIDER_NOT_READY", "FLAG_NOT_FOUND", "TYPE_MISMATCH", "PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL"];

/** Every flag through the object reader: all at once, or (`single`) flag by flag,
 * each time with a fresh copy, which is read only for the attributes that flag uses. */
function viaObject({ ours }, ctx, single = false) {
  const all = single ? null : ours.evaluateAll(ctx);
  return flags.map((f) => {
    const d = single ? ours.evaluate(f.key, { ...ctx }, null) : all[f.key];
    return [f.key, d.variant, REASONS.indexOf(d.reason), d.errorCode ? ERRORS.indexOf(d.errorCode) + 1 : 0];
  });
}

const edgeCases = [
  {},
  { targetingKey: "u1", plan: "beta" },
  { targetingKey: 12345, plan: 12, account: 1.5 },
  { targetingKey: -3, account: 1e21, plan: "12" },
  { targetingKey: "", plan: true },
  { targetingKey: "u", user: { account: { tier: "gold" } } },
  { targetingKey: "u", "user.account.tier": "gold" },
  { targetingKey: "u", user: { account: { tier: null } }, "user.account.tier": "gold" },
  { targetingKey: "u", user: { account: "gold" } },
  { targetingKey: "u", user: { account: [{ tier: "gold" }] } },
  { targetingKey: "u", geo: { country: "DE", region: "BY" }, country: "FR" },
  { targetingKey: "u", "geo.country": "DE", country: 49, geo: { region: true } },
  { targetingKey: "u", groups: ["staff", 3, null, undefined, () => 1, NaN, [1], { a: 1 }] },
  { targetingKey: "u", groups: [] },
  { targetingKey: "u", email: undefined, plan: NaN, seats: Infinity },
  { targetingKey: "u", email: null },
  { targetingKey: "u", email: "Ann@CORP.example", seats: "150" },
  { targetingKey: "u", email: "" },
  { targetingKey: "u", app: { version: "2.3.1" }, signup: new Date("2025-05-05T00:00:00Z") },
  { targetingKey: "u", app: { version: "v2.3.1" }, signup: "2025-05-05T00:00:00Z" },
  { targetingKey: "u", signup: 1700000000000, ip: "10.1.2.3" },
  { targetingKey: "u", ip: "::ffff:10.0.0.1", label: "a:1;b" },
  { targetingKey: "🚩 ünïcødé", label: "a😀:;", plan: "beta", country: "日本" },
  { targetingKey: "u", label: "a\u0000:;", email: "x@corp.example\u0000" },
  { targetingKey: "u", plan: { toJSON: () => "beta" } },
  { targetingKey: "u", plan: 10n },
  Object.create({ targetingKey: "inherited", plan: "beta" }),
  Object.defineProperty({ targetingKey: "u" }, "plan", { value: "beta", enumerable: false }),
];

/** A deterministic generator of messy contexts. */
function* generated(count) {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const scalars = ["beta", "free", "", "12", 12, 0, -1, 2.5, true, false, null, undefined, "gold", "staff", "DE", "10.3.4.5", "2.1.0", "1.0.0-rc.1", "2024-12-31T23:59:59Z", "Ann@corp.example", "ü"];
  const value = () => (rand() < 0.2 ? [pick(scalars), pick(scalars)] : rand() < 0.1 ? { tier: pick(scalars) } : pick(scalars));
  for (let i = 0; i < count; i++) {
    const ctx = {};
    if (rand() < 0.9) ctx.targetingKey = rand() < 0.8 ? `user-${i}` : pick([i, i + 0.5, "", null]);
    for (const attr of ["plan", "groups", "email", "seats", "signup", "ip", "label", "account", "country"]) {
      if (rand() < 0.5) ctx[attr] = value();
    }
    if (rand() < 0.4) ctx.user = { account: rand() < 0.7 ? { tier: pick(scalars) } : pick(scalars) };
    if (rand() < 0.3) ctx["user.account.tier"] = pick(scalars);
    if (rand() < 0.4) ctx.geo = { country: pick(scalars), region: pick(scalars) };
    if (rand() < 0.2) ctx["geo.country"] = pick(scalars);
    if (rand() < 0.3) ctx.app = { version: pick(scalars) };
    yield ctx;
  }
}

test("reading an object directly evaluates exactly as its JSON does", () => {
  const e = engines();
  for (const ctx of [...edgeCases, ...generated(1000)]) {
    const expected = viaJson(e, ctx);
    const what = `context ${JSON.stringify(ctx, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`;
    assert.deepEqual(viaObject(e, ctx), expected, what);
    assert.deepEqual(viaObject(e, ctx, true), expected, `${what}, flag by flag`);
  }
});

test("and counts the same units, dimensions and audit pseudonyms", () => {
  const e = engines();
  for (const ctx of [...edgeCases, ...generated(300)]) {
    viaObject(e, ctx, true);
    viaJson(e, ctx);
  }
  const ours = e.ours.takeMetrics("b1");
  const json = JSON.parse(e.json.takeMetrics("b1", ours.sdk, ours.window_end_ms ?? NOW));
  assert.ok(Object.keys(ours.flags).length > 0);
  assert.deepEqual(ours.flags, json.flags);
  assert.deepEqual(ours.audit ?? null, json.audit ?? null);
});

test("a kept context is read again when a new snapshot needs other attributes", () => {
  const e = engines();
  const ctx = { targetingKey: "u", plan: "beta", email: "a@corp.example" };
  assert.equal(e.ours.evaluate("plan", ctx, false).value, true);
  assert.equal(e.ours.evaluate("plan", ctx, false).value, true); // now kept
  const handle = e.ours.context(ctx);
  const v2 = [flag("mail-only", [rule("corp", { attr: "email", op: "ends_with", values: ["@corp.example"] })])];
  e.ours.load(envelope(key, payload({ flags: v2, version: 2, now: NOW })));
  assert.equal(e.ours.evaluate("mail-only", ctx, false).value, true);
  assert.equal(e.ours.evaluate("mail-only", handle, false).value, true);
});
