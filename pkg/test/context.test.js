// Plain-object contexts are read straight from the object into wasm memory
// (pkg/context.js). This checks the wasm engine, fed that way, answers exactly as the
// native engine does on the JSON of the same object (`vexil eval --contexts`): every
// flag's variant, reason and error, for hand-picked edge cases and a thousand
// generated contexts; and that the metrics count the units, dimension values and
// audit pseudonyms those contexts carry.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../node.js";
import { VEXIL, envelope, makeKey, payload } from "./helpers.js";

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
  // Lower case and Number(text) come from the host in wasm, from Rust natively.
  flag("folded", [rule("f", { attr: "label", op: "in", values: ["ÉTÉ", "Straße", "ΣΑΣ"], ignore_case: true })]),
  flag("folded-prefix", [rule("f", { attr: "country", op: "starts_with", values: ["İST", "DE"], ignore_case: true })]),
  flag("lenient", [rule("n", { attr: "seats", op: "gte", values: [31], lenient: true })]),
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

const signed = envelope(key, payload({ flags, segments, now: NOW }));
const dir = mkdtempSync(join(tmpdir(), "vexil-context-"));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "snapshot.json"), JSON.stringify(signed));
writeFileSync(join(dir, "keys.json"), JSON.stringify(keys));

function engine() {
  const ours = new Engine({ keys, environment: "production", dimensions, auditKey, now: () => NOW });
  ours.load(signed);
  return ours;
}

/** JSON as JSON.stringify writes it; a BigInt (which it cannot write) as `{}`,
 * which is just as incomparable. */
const toJson = (ctx) => JSON.stringify(ctx, (_, v) => (typeof v === "bigint" ? {} : v));

/** Every flag's (variant, reason, error) for each context, by the native engine. */
function viaNative(contexts) {
  const run = spawnSync(VEXIL, ["eval", join(dir, "snapshot.json"), "--keys", join(dir, "keys.json"),
    "--contexts", "-", "--now", new Date(NOW).toISOString()], { input: contexts.map(toJson).join("\n"), maxBuffer: 1 << 28 });
  // 3: printed, with some results the default served because of an error.
  assert.ok(run.status === 0 || run.status === 3, `vexil eval exited ${run.status}: ${run.stderr}`);
  const out = run.stdout;
  return out.toString().trim().split("\n").map((line) => {
    const all = JSON.parse(line);
    return flags.map((f) => [f.key, all[f.key].variant, all[f.key].reason, all[f.key].error_code]);
  });
}

/** Every flag through the object reader: all at once, or (`single`) flag by flag,
 * each time with a fresh copy, which is read only for the attributes that flag uses. */
function viaObject(ours, ctx, single = false) {
  const all = single ? null : ours.evaluateAll(ctx);
  return flags.map((f) => {
    const d = single ? ours.evaluate(f.key, { ...ctx }, null) : all[f.key];
    return [f.key, d.variant, d.reason, d.errorCode];
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
  { targetingKey: "u", label: "été", country: "istanbul", seats: " 0x1F " },
  { targetingKey: "u", label: "STRASSE", country: "i̇stanbul", seats: "1e3" },
  { targetingKey: "u", label: "σας", country: "de-at", seats: "Infinity" },
  { targetingKey: "u", label: "ΣΑΣ", seats: "" },
  { targetingKey: "u", label: ["x", "Été"], seats: ["40", " 12 "] },
  { targetingKey: "u", seats: "-0x20" },
  Object.create({ targetingKey: "inherited", plan: "beta" }),
  Object.defineProperty({ targetingKey: "u" }, "plan", { value: "beta", enumerable: false }),
];

/** A deterministic generator of messy contexts. */
function* generated(count) {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const scalars = ["beta", "free", "", "12", 12, 0, -1, 2.5, true, false, null, undefined, "gold", "staff", "DE", "10.3.4.5", "2.1.0", "1.0.0-rc.1", "2024-12-31T23:59:59Z", "Ann@corp.example", "ü", "ÉTÉ", "été", "σας", "0b11111", " 31 ", "31.5", "İSTANBUL"];
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

test("reading an object directly evaluates exactly as the native engine does on its JSON", () => {
  const ours = engine();
  const contexts = [...edgeCases, ...generated(1000)];
  const expected = viaNative(contexts);
  contexts.forEach((ctx, i) => {
    const what = `context ${JSON.stringify(ctx, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`;
    assert.deepEqual(viaObject(ours, ctx), expected[i], what);
    assert.deepEqual(viaObject(ours, ctx, true), expected[i], `${what}, flag by flag`);
  });
});

test("and counts the units, dimension values and audit pseudonyms the contexts carry", () => {
  const ours = engine();
  const contexts = [...edgeCases, ...generated(300)];
  const native = viaNative(contexts);
  const served = new Map(); // flag → variant → count
  const units = new Set();
  const countries = new Map();
  const pseudonyms = new Set();
  contexts.forEach((ctx, i) => {
    for (const f of flags) ours.evaluate(f.key, ctx, null);
    const json = JSON.parse(toJson(ctx));
    const unit = typeof json.targetingKey === "number" ? String(json.targetingKey) : json.targetingKey;
    for (const [flag, variant] of native[i]) {
      if (variant === undefined) continue;
      const byVariant = served.get(flag) ?? new Map();
      byVariant.set(variant, (byVariant.get(variant) ?? 0) + 1);
      served.set(flag, byVariant);
    }
    if (typeof unit === "string" && unit !== "") {
      units.add(unit);
      pseudonyms.add(createHmac("sha256", auditKey).update(unit).digest("hex").slice(0, 32));
    }
    const country = json.country;
    const value = typeof country === "string" ? country : typeof country === "number" || typeof country === "boolean" ? String(country) : null;
    if (value !== null) countries.set(value, (countries.get(value) ?? 0) + native[i].filter(([, v]) => v === "off" || v === "on").length);
  });
  const batch = ours.takeMetrics("b1");
  for (const [flag, byVariant] of served) {
    for (const [variant, count] of byVariant) {
      assert.equal(batch.flags[flag].variants[variant].count, count, `${flag}/${variant}`);
    }
  }
  // The audited flag (`by-key`) sees every unit; its sketch estimates them closely.
  const sketch = Object.values(batch.flags["by-key"].variants);
  const audited = batch.audit.map((a) => a.unit).filter((u) => u !== undefined);
  assert.deepEqual(new Set(audited), pseudonyms);
  assert.ok(sketch.length > 0);
  // Dimension values are counted per evaluation that served a variant.
  const counted = new Map();
  for (const f of Object.values(batch.flags)) {
    for (const v of Object.values(f.variants)) {
      for (const [value, n] of Object.entries(v.dimensions?.country ?? {})) counted.set(value, (counted.get(value) ?? 0) + n);
    }
  }
  for (const [value, n] of countries) assert.equal(counted.get(value) ?? 0, n, `country ${value}`);
  assert.ok(units.size > 100);
});

test("a kept context is read again when a new snapshot needs other attributes", () => {
  const ours = engine();
  const ctx = { targetingKey: "u", plan: "beta", email: "a@corp.example" };
  assert.equal(ours.evaluate("plan", ctx, false).value, true);
  assert.equal(ours.evaluate("plan", ctx, false).value, true); // now kept
  const handle = ours.context(ctx);
  const v2 = [flag("mail-only", [rule("corp", { attr: "email", op: "ends_with", values: ["@corp.example"] })])];
  ours.load(envelope(key, payload({ flags: v2, version: 2, now: NOW })));
  assert.equal(ours.evaluate("mail-only", ctx, false).value, true);
  assert.equal(ours.evaluate("mail-only", handle, false).value, true);
});
