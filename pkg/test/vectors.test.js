// The engine's golden evaluation vectors (tests/vectors/evaluations.json, also run
// natively by tests/vectors.rs), evaluated by the wasm engine through the JS API:
// both builds must give exactly the same results.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Engine } from "../node.js";
import { envelope, makeKey, payload } from "./helpers.js";

const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/evaluations.json", import.meta.url), "utf8"));
const key = makeKey("k1");

/** Object keys that JavaScript reorders (integer-like) would change rollout order. */
function reorders(value) {
  if (Array.isArray(value)) return value.some(reorders);
  if (value && typeof value === "object") return Object.keys(value).some((k) => /^(0|[1-9]\d*)$/.test(k)) || Object.values(value).some(reorders);
  return false;
}

test("golden evaluation vectors agree in wasm", () => {
  const failures = [];
  let ran = 0;
  for (const c of vectors.cases) {
    // The JS API reads a null context as no context at all (as it does undefined).
    if (c.context === null) continue;
    assert.ok(!reorders(c.flags), `${c.name}: integer-like keys would be reordered`);
    const now = Date.parse(c.now);
    const engine = new Engine({ keys: { [key.id]: key.publicKey }, environment: "production", now: () => now });
    engine.load(envelope(key, payload({ ...c.flags, now })));
    const d = engine.evaluate(c.flag, c.context, c.default, c.expected_type);
    const want = c.expected;
    const got = { value: d.value, variant: d.variant ?? null, reason: d.reason, rule_id: d.ruleId, error_code: d.errorCode };
    let same = true;
    try {
      assert.deepStrictEqual(got.value, want.value);
    } catch {
      same = false;
    }
    const ok =
      same &&
      got.variant === want.variant &&
      got.reason === want.reason &&
      got.rule_id === want.rule_id &&
      got.error_code === want.error_code;
    if (!ok) failures.push(`${c.name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    ran++;
  }
  assert.equal(ran, vectors.cases.filter((c) => c.context !== null).length);
  assert.deepEqual(failures, []);
});
