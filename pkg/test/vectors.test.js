// The golden vectors (tests/vectors/evaluations.json) through the package as users
// run it: each case's flags signed into a binary snapshot, loaded by the wasm
// engine, evaluated with the case's context as a plain object (the glue reads it into
// wasm memory), and with a prepared context handle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Engine } from "../node.js";
import { envelope, makeKey } from "./helpers.js";

const { cases } = JSON.parse(readFileSync(new URL("../../tests/vectors/evaluations.json", import.meta.url), "utf8"));
const key = makeKey("k1");
const keys = { [key.id]: key.publicKey };
const TYPES = { boolean: "boolean", string: "string", number: "number", object: "object" };

/** Object keys that JavaScript reorders (integer-like) would change rollout order. */
function reorders(value) {
  if (Array.isArray(value)) return value.some(reorders);
  if (value && typeof value === "object") return Object.keys(value).some((k) => /^(0|[1-9]\d*)$/.test(k)) || Object.values(value).some(reorders);
  return false;
}

test("every golden vector evaluates as expected in wasm, from plain objects and handles", () => {
  const failures = [];
  const signed = new Map(); // flags document → envelope (cases share documents)
  for (const c of cases) {
    // In JavaScript, `null` and `undefined` mean "no context" (every attribute
    // missing), not a malformed one: the JSON vector for a `null` context is the
    // native API's.
    if (c.context === null) continue;
    assert.ok(!reorders(c.flags), `${c.name}: integer-like keys would be reordered`);
    const doc = JSON.stringify(c.flags);
    const now = Date.parse(c.now);
    if (!signed.has(doc)) {
      signed.set(doc, envelope(key, {
        ...c.flags, environment: "vectors", version: 1,
        issued_at: new Date(0).toISOString(), expires_at: new Date(4e12).toISOString(),
      }));
    }
    const engine = new Engine({ keys, environment: "vectors", now: () => now });
    engine.load(signed.get(doc));
    const type = c.expected_type === undefined ? undefined : TYPES[c.expected_type];
    const ctx = c.context;
    const handle = engine.context(ctx);
    for (const [how, context] of [["object", ctx], ["handle", handle]]) {
      const d = engine.evaluate(c.flag, context, c.default, type);
      const got = { value: d.value, variant: d.variant ?? null, reason: d.reason, rule_id: d.ruleId, error_code: d.errorCode };
      const want = { value: c.expected.value, variant: c.expected.variant ?? null, reason: c.expected.reason, rule_id: c.expected.rule_id, error_code: c.expected.error_code };
      try {
        assert.deepEqual(got, want);
      } catch {
        failures.push(`${c.name} (${how}): expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
    }
    engine.free();
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length * 2} evaluations differ`);
  assert.ok(cases.length >= 200);
});
