// Generative differential test against the real Unleash Node SDK: seeded random
// feature sets (every built-in strategy and operator, inverted, case-insensitive,
// padded values, dates on any field, segments, variants with stickiness and
// overrides, dependencies) and contexts, evaluated by `unleash-client` (bootstrapped
// offline) and by Vexil after `vexil import`. Flags the importer reports as lossy are
// set aside (and counted); answers Unleash draws at random (Math.random called) are
// not comparable and counted apart. Every other answer must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Unleash, InMemStorageProvider } from "unleash-client";
import { random } from "./gen/random.js";
import { unleashFeatures, unleashContext } from "./gen/unleash.js";
import { vexilImport, engineFor, withoutRandom } from "./gen/harness.js";

const SEEDS = [1, 2, 3];
const FEATURES = 120;
const CONTEXTS = 80;

async function unleashClient(doc) {
  const unleash = new Unleash({
    url: "http://127.0.0.1:9/api", appName: "diff", refreshInterval: 0, disableMetrics: true,
    bootstrap: { data: doc.features, segments: doc.segments }, storageProvider: new InMemStorageProvider(),
  });
  unleash.on("error", () => {});
  unleash.on("warn", () => {});
  await new Promise((r) => unleash.once("ready", r));
  return unleash;
}

test("generated Unleash features: unleash-client and Vexil agree after import", async () => {
  const totals = { compared: 0, random: 0, lossyFlags: 0, flags: 0, mismatches: [] };
  for (const seed of SEEDS) {
    const r = random(seed);
    const doc = unleashFeatures(r, FEATURES);
    const { flags, lossy } = vexilImport("unleash", doc);
    const clock = { now: 0 };
    const engine = engineFor(flags, clock);
    const unleash = await unleashClient(doc);
    const contexts = Array.from({ length: CONTEXTS }, () => unleashContext(r));
    totals.flags += doc.features.length;
    totals.lossyFlags += doc.features.filter((f) => lossy.has(f.name)).length;
    for (const f of doc.features) {
      if (lossy.has(f.name)) continue;
      const named = typeof Object.values(flags.flags.find((x) => x.key === f.name).variants)[0] === "string";
      for (const c of contexts) {
        clock.now = c.now;
        const d = engine.evaluate(f.name, c.vexil, null);
        const enabled = withoutRandom(() => unleash.isEnabled(f.name, c.unleash));
        const variant = withoutRandom(() => unleash.getVariant(f.name, c.unleash));
        if (enabled.random || variant.random) {
          totals.random++;
          continue;
        }
        totals.compared += 2;
        const ours = d.variant !== undefined && d.variant !== "off" && d.variant !== "disabled";
        if (ours !== enabled.value) totals.mismatches.push(`seed ${seed} ${f.name} isEnabled ${JSON.stringify(c.unleash)}: unleash ${enabled.value}, vexil ${d.variant}`);
        if (named) {
          const v = variant.value;
          const theirs = v.name === "disabled" && v.feature_enabled ? "enabled" : v.name;
          if (theirs !== d.variant) totals.mismatches.push(`seed ${seed} ${f.name} getVariant ${JSON.stringify(c.unleash)}: unleash ${theirs}, vexil ${d.variant}`);
        }
      }
    }
    unleash.destroy();
  }
  console.log(`# unleash generative: ${totals.compared - totals.mismatches.length}/${totals.compared} answers agree; ` +
    `${totals.lossyFlags}/${totals.flags} flags reported lossy (set aside); ${totals.random} evaluations random in Unleash`);
  for (const m of totals.mismatches.slice(0, 15)) console.log(`#   ✗ ${m}`);
  assert.ok(totals.compared >= 10_000, `only ${totals.compared} answers compared`);
  assert.ok(totals.lossyFlags <= totals.flags * 0.2, `${totals.lossyFlags}/${totals.flags} flags lossy`);
  assert.deepEqual(totals.mismatches.slice(0, 10), []);
});
