// Regenerates tests/vectors/bucketing-compat.json: which variant the real Unleash
// client (unleash-client's own hashing and selection) and flagd (@openfeature/flagd-core)
// give each unit, for rollouts Vexil can express with `"bucketing": "unleash"`,
// `"unleash_variants"` or `"flagd"`. The Rust test (tests/vectors.rs) checks the
// engine reproduces every one, so a migrated user keeps their variant.
// Usage: node tests/vectors/generate-compat.mjs   (npm dev dependencies installed)
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { FlagdCore } from "@openfeature/flagd-core";

const require = createRequire(import.meta.url);
const { normalizedStrategyValue, normalizedVariantValue } = require("unleash-client/lib/strategy/util.js");

const units = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `${i}@example.com` : String(i * 7919)));
const cases = [];

// Unleash gradual rollout (flexibleRollout): on while normalizedStrategyValue <= percentage.
for (const [groupId, percentage] of [["checkout-v2", 10], ["checkout-v2", 50], ["shared-group", 33]]) {
  cases.push({
    name: `unleash gradual rollout ${percentage}% (groupId ${groupId})`,
    rollout: { bucketing: "unleash", salt: groupId, weights: { on: percentage, off: 100 - percentage } },
    expected: units.map((u) => [u, normalizedStrategyValue(u, groupId) <= percentage ? "on" : "off"]),
  });
}

// Unleash variants: cumulative weights out of 1000.
const variants = [["red", 250], ["green", 250], ["blue", 500]];
cases.push({
  name: "unleash variants 250/250/500 (groupId colors)",
  rollout: { bucketing: "unleash_variants", salt: "colors", weights: Object.fromEntries(variants.map(([v, w]) => [v, w / 10])) },
  expected: units.map((u) => {
    const target = normalizedVariantValue(u, "colors", 1000);
    let counter = 0;
    return [u, variants.find(([, w]) => (counter += w) >= target)[0]];
  }),
});

// flagd fractional, shorthand form: bucketed by flagKey + targetingKey.
const core = new FlagdCore();
const fractions = { "frac-three": [["a", 25], ["b", 25], ["c", 50]], "frac-ten": [["on", 10], ["off", 90]] };
core.setConfigurations(
  JSON.stringify({
    flags: Object.fromEntries(
      Object.entries(fractions).map(([key, weights]) => [
        key,
        {
          state: "ENABLED",
          defaultVariant: weights[0][0],
          variants: Object.fromEntries(weights.map(([v]) => [v, v])),
          targeting: { fractional: weights },
        },
      ]),
    ),
  }),
);
for (const [key, weights] of Object.entries(fractions)) {
  cases.push({
    name: `flagd fractional ${weights.map(([v, w]) => `${v}:${w}`).join(" ")} (${key})`,
    flag_key: key,
    rollout: { bucketing: "flagd", weights: Object.fromEntries(weights) },
    expected: units.map((u) => [u, core.resolveStringEvaluation(key, "?", { targetingKey: u }).value]),
  });
}

const file = new URL("./bucketing-compat.json", import.meta.url);
writeFileSync(file, JSON.stringify({ generated_by: "tests/vectors/generate-compat.mjs", libraries: { "unleash-client": require("unleash-client/package.json").version, "@openfeature/flagd-core": require("@openfeature/flagd-core/package.json").version }, cases }, null, 1) + "\n");
console.log(`${cases.length} cases, ${cases.reduce((n, c) => n + c.expected.length, 0)} units`);
