// Evaluation traces (`vexil/trace`): the JS trace names the steps the wasm module
// records, and must say exactly what the native trace (`vexil eval --trace`) says
// for the same snapshot, contexts and time; tracing must leave evaluations, and
// what they count, unchanged.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine, createClient } from "../node.js";
import { traceEvaluation, tracer, formatTrace, describeStep } from "../trace.js";
import { VEXIL, envelope, makeKey, payload } from "./helpers.js";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const key = makeKey();
const keys = { [key.id]: key.publicKey };
const bool = { variants: { on: true, off: false }, off_variant: "off" };

const flags = [
  { key: "gate", ...bool, rules: [{ id: "staff", when: { attr: "plan", op: "eq", values: ["staff"] }, serve: { variant: "off" } }], fallthrough: { variant: "on" } },
  {
    key: "beta", ...bool,
    prerequisites: [{ flag: "gate", variants: ["on"] }],
    rules: [
      { id: "germany-pro", when: { all: [{ attr: "country", op: "in", values: ["DE"] }, { attr: "plan", op: "eq", values: ["pro"] }, { attr: "age", op: "gte", values: [18] }] }, serve: { variant: "on" } },
      { id: "half", when: { attr: "country", op: "exists" }, serve: { rollout: { weights: { on: 50, off: 50 } } } },
    ],
    fallthrough: { variant: "off" },
  },
  { key: "by-account", ...bool, fallthrough: { rollout: { by: "account.id", weights: { on: 30, off: 70 } } } },
  {
    key: "phi", ...bool,
    access: { attr: "provider.authorized", op: "eq", values: [true] },
    rules: [{ id: "icu", when: { attr: "unit", op: "eq", values: ["icu"] }, serve: { variant: "on" } }],
    fallthrough: { variant: "off" },
  },
  { key: "router-a", ...bool, mutual_exclusions: ["router-b"], exclusion: { group: "routers", range: [0, 50000] }, fallthrough: { variant: "on" } },
  { key: "router-b", ...bool, mutual_exclusions: ["router-a"], exclusion: { group: "routers", range: [50000, 100000] }, fallthrough: { variant: "on" } },
  { key: "killed", enabled: false, ...bool, fallthrough: { variant: "on" } },
  { key: "fixed", variants: { a: "A" }, off_variant: "a", fallthrough: { variant: "a" } },
];
const signed = envelope(key, payload({ flags, exclusion_groups: { routers: {} }, now: NOW }));

const contexts = [
  {},
  { targetingKey: "u1", country: "DE", plan: "free", age: 30 },
  { targetingKey: "u2", country: "DE", plan: "pro", age: 12 },
  { targetingKey: "u3", country: "DE", plan: "pro", age: 40 },
  { targetingKey: "u4", country: "FR", plan: "staff" },
  { targetingKey: "u5", account: { id: "acct-9" }, provider: { authorized: true }, unit: "icu" },
  { targetingKey: "u6", provider: { authorized: false }, unit: "icu" },
  ...Array.from({ length: 12 }, (_, i) => ({ targetingKey: `user-${i}`, country: "US", account: { id: `a${i}` } })),
];

const dir = mkdtempSync(join(tmpdir(), "vexil-trace-"));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "snapshot.json"), JSON.stringify(signed));
writeFileSync(join(dir, "keys.json"), JSON.stringify(keys));

function engine(options = {}) {
  const e = new Engine({ keys, environment: "production", now: () => NOW, ...options });
  e.load(signed);
  return e;
}

/** Every flag's answer and trace for each context, by the native engine. */
function native() {
  const run = spawnSync(VEXIL, ["eval", join(dir, "snapshot.json"), "--keys", join(dir, "keys.json"), "--contexts", "-", "--trace",
    "--now", new Date(NOW).toISOString()], { input: contexts.map((c) => JSON.stringify(c)).join("\n") });
  assert.ok(run.status === 0 || run.status === 3, `vexil eval exited ${run.status}: ${run.stderr}`);
  return run.stdout.toString().trim().split("\n").map((line) => JSON.parse(line));
}

/** A JS step as the CLI writes it (snake case; the rule's index is the JS's own extra). */
function asNative(step) {
  const { index, failedClause, ...rest } = step;
  return step.step === "rule" ? { ...rest, ...(failedClause === undefined ? {} : { failed_clause: failedClause }) } : rest;
}

test("the JS trace says what the native trace says, step by step, for every flag and context", () => {
  const ours = engine();
  const answers = native();
  const seen = new Set();
  contexts.forEach((ctx, i) => {
    for (const f of flags) {
      const theirs = answers[i][f.key];
      const trace = traceEvaluation(ours, f.key, ctx);
      const where = `${f.key} for ${JSON.stringify(ctx)}`;
      assert.deepEqual(trace.steps.map(asNative), theirs.trace.steps, where);
      assert.equal(trace.reason, theirs.reason, where);
      assert.equal(trace.variant, theirs.variant ?? undefined, where);
      assert.equal(trace.ruleId, theirs.rule_id ?? undefined, where);
      assert.equal(Date.parse(trace.timestamp), Date.parse(theirs.trace.at), where);
      assert.equal(trace.timestamp, new Date(NOW).toISOString(), where);
      assert.ok(trace.durationMs >= 0 && Number.isFinite(trace.durationMs), where);
      for (const s of trace.steps) seen.add(s.step === "rule" ? `rule:${s.matched}:${s.failedClause !== undefined}` : `${s.step}:${JSON.stringify(Object.values(s).slice(-1))}`);
      // The trace's details are the evaluation's.
      const { timestamp, durationMs, steps, ...details } = trace;
      assert.deepEqual(details, ours.evaluate(f.key, ctx, null), where);
    }
  });
  // The contexts reach every kind of step, and both sides of each.
  for (const s of ["prerequisite:[true]", "prerequisite:[false]", "access:[true]", "access:[false]", "exclusion:[true]", "exclusion:[false]",
    "rule:true:false", "rule:false:true", "rule:false:false"]) {
    assert.ok(seen.has(s), `no ${s} step among ${[...seen].join(", ")}`);
  }
  assert.ok([...seen].some((s) => s.startsWith("rollout:")), "a rollout step");
});

test("a rule of several clauses names the first that failed; rollouts give the unit and its bucket", () => {
  const ours = engine();
  const young = traceEvaluation(ours, "beta", { targetingKey: "u2", country: "DE", plan: "pro", age: 12 });
  assert.deepEqual(young.steps.slice(0, 2), [
    { step: "prerequisite", flag: "gate", met: true },
    { step: "rule", id: "germany-pro", index: 0, matched: false, failedClause: 2 },
  ]);
  assert.equal(describeStep(young.steps[1]), "rule germany-pro did not match (clause 3 failed)");
  const split = traceEvaluation(ours, "by-account", { account: { id: "acct-9" } });
  assert.equal(split.steps.length, 1);
  const [rollout] = split.steps;
  assert.equal(rollout.step, "rollout");
  assert.equal(rollout.unit, "account.id");
  assert.ok(Number.isInteger(rollout.bucket) && rollout.bucket >= 0 && rollout.bucket < 100_000);
  // 30 % on: the bucket decides the variant.
  assert.equal(split.variant, rollout.bucket < 30_000 ? "on" : "off");
  assert.match(formatTrace(split), /^by-account at 2026-03-01T12:00:00\.000Z \(\d+\.\d{3} ms\): SPLIT → (on|off)\n {2}rollout by account\.id: bucket \d+/);
  // Nothing to trace: an unknown flag, a context that is not an object, no snapshot.
  assert.equal(traceEvaluation(ours, "nope", {}), null);
  assert.equal(traceEvaluation(ours, "beta", [1]), null);
  assert.equal(traceEvaluation(new Engine({ keys, environment: "production" }), "beta", {}), null);
  assert.throws(() => traceEvaluation({}, "beta", {}), { code: "BAD_ARGUMENT" });
});

test("traced evaluations are not counted, and a tracer leaves values and metrics as they were", () => {
  const plain = engine();
  const traces = [];
  const traced = engine({ trace: tracer((t) => traces.push(t), { flags: ["beta", "by-account"] }) });
  const throwing = engine({ trace: tracer(() => { throw new Error("a broken log sink"); }) });
  for (const ctx of contexts) {
    for (const f of flags) {
      const expected = plain.evaluate(f.key, ctx, null);
      assert.deepEqual(traced.evaluate(f.key, ctx, null), expected);
      assert.deepEqual(throwing.evaluate(f.key, ctx, null), expected);
      const value = plain.boolean(f.key, ctx, false);
      assert.equal(traced.boolean(f.key, ctx, false), value);
      assert.equal(throwing.boolean(f.key, ctx, false), value);
      traceEvaluation(plain, f.key, ctx); // uncounted
    }
  }
  const counts = (e) => e.takeMetrics().flags;
  const expected = counts(plain);
  assert.deepEqual(counts(traced), expected);
  assert.deepEqual(counts(throwing), expected);
  // Only the listed flags, once per evaluate() and once per boolean().
  assert.deepEqual(new Set(traces.map((t) => t.flagKey)), new Set(["beta", "by-account"]));
  assert.equal(traces.length, contexts.length * 2 * 2);
  assert.deepEqual(traces[0].steps, traceEvaluation(plain, traces[0].flagKey, contexts[0]).steps);
  assert.throws(() => tracer("not a function"), { code: "BAD_OPTIONS" });
  assert.throws(() => tracer(() => {}, { flags: "beta" }), { code: "BAD_OPTIONS" });
});

test("createClient takes a tracer, and traceEvaluation takes the client", async () => {
  const traces = [];
  const client = await createClient({ keys, environment: "production", bootstrap: signed, now: () => NOW, trace: tracer((t) => traces.push(t)) });
  const ctx = { targetingKey: "u3", country: "DE", plan: "pro", age: 40 };
  assert.equal(client.boolean("beta", ctx, false), true);
  assert.equal(traces.length, 1);
  assert.equal(traces[0].ruleId, "germany-pro");
  assert.deepEqual(traces[0].steps.map((s) => s.step), ["prerequisite", "rule"]);
  assert.deepEqual(traceEvaluation(client, "beta", ctx).steps, traces[0].steps);
  client.close();
});
