// Migrated rollouts keep their users in the wasm engine too: every unit of
// tests/vectors/bucketing-compat.json (computed by unleash-client and flagd-core)
// gets the same variant through the package.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Engine } from "../node.js";
import { envelope, makeKey, payload } from "./helpers.js";

const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/bucketing-compat.json", import.meta.url), "utf8"));
const key = makeKey("k1");

test("Unleash and flagd bucketing reproduced by the wasm engine", () => {
  for (const c of vectors.cases) {
    const flagKey = c.flag_key ?? "migrated";
    const names = Object.keys(c.rollout.weights);
    const flag = { key: flagKey, variants: Object.fromEntries(names.map((v) => [v, v])), off_variant: names[0], fallthrough: { rollout: c.rollout } };
    const engine = new Engine({ keys: { [key.id]: key.publicKey }, environment: "production" });
    engine.load(envelope(key, payload({ flags: [flag] })));
    const wrong = c.expected.filter(([unit, want]) => engine.evaluate(flagKey, { targetingKey: unit }, null).variant !== want);
    assert.deepEqual(wrong, [], c.name);
  }
});
