// Generative differential test against flagd's own engine (@openfeature/flagd-core 4):
// seeded random flag definitions (nested JSONLogic, every operator flagd adds, $ref,
// fractional in every form, flags without a default variant, disabled flags) and
// contexts holding every scalar type, evaluated by flagd-core and by Vexil after
// `vexil import --from flagd`. Flags the importer reports as lossy are set aside (and
// counted). Answers agree when values and variants are equal and reasons match, with
// two documented correspondences: flagd's TARGETING_MATCH for a fractional is Vexil's
// SPLIT, and where flagd's evaluation throws (ERROR, GENERAL) Vexil serves the
// caller's default without a variant.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FlagdCore } from "@openfeature/flagd-core";
import { random } from "./gen/random.js";
import { flagdDefinition, flagdContext } from "./gen/flagd.js";
import { vexilImport, engineFor } from "./gen/harness.js";

const SEEDS = [11, 12, 13];
const FLAGS = 150;
const CONTEXTS = 60;
const TYPES = { boolean: "Boolean", string: "String", number: "Number", object: "Object" };

function agree(theirs, ours) {
  if (theirs.reason === "ERROR") return ours.variant === undefined && JSON.stringify(ours.value) === JSON.stringify(theirs.value);
  const reason = theirs.reason === ours.reason || (theirs.reason === "TARGETING_MATCH" && ours.reason === "SPLIT");
  return reason && (theirs.variant ?? undefined) === ours.variant && JSON.stringify(theirs.value) === JSON.stringify(ours.value);
}

test("generated flagd definitions: flagd-core and Vexil agree after import", () => {
  const totals = { compared: 0, lossyFlags: 0, flags: 0, mismatches: [] };
  const realNow = Date.now;
  try {
    for (const seed of SEEDS) {
      const r = random(seed);
      const def = flagdDefinition(r, FLAGS);
      const { flags, lossy } = vexilImport("flagd", def);
      const clock = { now: 0 };
      const engine = engineFor(flags, clock);
      const core = new FlagdCore();
      core.setConfigurations(JSON.stringify(def));
      const contexts = Array.from({ length: CONTEXTS }, () => flagdContext(r));
      const keys = Object.keys(def.flags);
      totals.flags += keys.length;
      totals.lossyFlags += keys.filter((k) => lossy.has(k)).length;
      for (const key of keys) {
        if (lossy.has(key)) continue;
        const type = typeof Object.values(def.flags[key].variants)[0];
        const dflt = { boolean: false, string: "CALLER", number: -1, object: {} }[type];
        for (const { ctx, now } of contexts) {
          clock.now = now;
          Date.now = () => now;
          const theirs = core[`resolve${TYPES[type]}Evaluation`](key, dflt, ctx);
          Date.now = realNow;
          const ours = engine.evaluate(key, ctx, dflt, type);
          totals.compared++;
          if (!agree(theirs, ours)) {
            totals.mismatches.push(`seed ${seed} ${key} ${JSON.stringify(def.flags[key].targeting)} ctx ${JSON.stringify(ctx)} @${now}: ` +
              `flagd ${theirs.variant}=${JSON.stringify(theirs.value)} ${theirs.reason}${theirs.errorCode ? " " + theirs.errorCode : ""}, ` +
              `vexil ${ours.variant}=${JSON.stringify(ours.value)} ${ours.reason}`);
          }
        }
      }
    }
  } finally {
    Date.now = realNow;
  }
  console.log(`# flagd generative: ${totals.compared - totals.mismatches.length}/${totals.compared} answers agree; ${totals.lossyFlags}/${totals.flags} flags reported lossy (set aside)`);
  for (const m of totals.mismatches.slice(0, 12)) console.log(`#   ✗ ${m}`);
  assert.ok(totals.compared >= 10_000, `only ${totals.compared} answers compared`);
  assert.ok(totals.lossyFlags <= totals.flags * 0.2, `${totals.lossyFlags}/${totals.flags} flags lossy`);
  assert.deepEqual(totals.mismatches.slice(0, 10), []);
});
