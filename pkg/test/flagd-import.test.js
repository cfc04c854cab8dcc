// Migrating from flagd: the same flag definitions evaluated by flagd's own engine
// (@openfeature/flagd-core) and, after `vexil import --from flagd`, by Vexil's wasm
// engine, for many contexts: values and variants must agree, rollouts included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlagdCore } from "@openfeature/flagd-core";
import { Engine } from "../node.js";
import { envelope, makeKey, payload } from "./helpers.js";
import { VEXIL } from "../../worker/test/origin.js";

const definition = {
  $schema: "https://flagd.dev/schema/v0/flags.json",
  flags: {
    "static-color": { state: "ENABLED", variants: { red: "red", blue: "blue" }, defaultVariant: "blue" },
    "disabled-flag": { state: "DISABLED", variants: { on: true, off: false }, defaultVariant: "off" },
    "email-targeting": {
      state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off",
      targeting: { if: [{ ends_with: [{ var: "email" }, "@example.com"] }, "on", { starts_with: [{ var: "email" }, "admin"] }, "on", "off"] },
    },
    "version-gate": {
      state: "ENABLED", variants: { new: "new", old: "old" }, defaultVariant: "old",
      targeting: { if: [{ sem_ver: [{ var: "version" }, ">=", "2.1.0"] }, "new", "old"] },
    },
    "tiered": {
      state: "ENABLED", variants: { gold: 3, silver: 2, none: 0 }, defaultVariant: "none",
      targeting: { if: [{ in: [{ var: "tier" }, ["gold", "platinum"]] }, "gold", { and: [{ ">=": [{ var: "spend" }, 100] }, { "!=": [{ var: "country" }, "US"] }] }, "silver", "none"] },
    },
    "rollout-default": {
      state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off",
      targeting: { fractional: [["on", 30], ["off", 70]] },
    },
    "rollout-by-email": {
      state: "ENABLED", variants: { a: "a", b: "b", c: "c" }, defaultVariant: "a",
      targeting: { fractional: [{ cat: [{ var: "$flagd.flagKey" }, { var: "email" }] }, ["a", 20], ["b", 30], ["c", 50]] },
    },
    "beta-segment": {
      state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off",
      targeting: { if: [{ $ref: "beta-users" }, { fractional: [["on", 50], ["off", 50]] }, "off"] },
    },
  },
  $evaluators: { "beta-users": { in: ["@beta.example.com", { var: "email" }] } },
};

test("flagd definitions behave the same after import", () => {
  const dir = mkdtempSync(join(tmpdir(), "vexil-flagd-"));
  const input = join(dir, "flags.json");
  writeFileSync(input, JSON.stringify(definition));
  let out;
  try {
    out = execFileSync(VEXIL, ["import", "--from", "flagd", input, "--allow-lossy"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const flags = JSON.parse(out);
  const key = makeKey("k1");
  const engine = new Engine({ keys: { [key.id]: key.publicKey }, environment: "production" });
  engine.load(envelope(key, payload(flags)));
  const core = new FlagdCore();
  core.setConfigurations(JSON.stringify(definition));

  const contexts = [];
  for (let i = 0; i < 200; i++) {
    contexts.push({
      targetingKey: `user-${i}`,
      email: [`u${i}@example.com`, `admin${i}@corp.io`, `x${i}@beta.example.com`, `p${i}@other.org`][i % 4],
      version: ["1.9.0", "2.1.0", "2.10.3", "3.0.0-beta"][i % 4],
      tier: ["gold", "bronze", "platinum", "silver"][i % 4],
      spend: (i * 37) % 250,
      country: ["US", "DE", "FR"][i % 3],
    });
  }
  const resolve = (flagKey, ctx) => {
    const d = core.resolveStringEvaluation(flagKey, null, ctx);
    return d;
  };
  let compared = 0;
  const differ = [];
  for (const flagKey of Object.keys(definition.flags)) {
    for (const ctx of contexts) {
      let theirs;
      try {
        const type = typeof Object.values(definition.flags[flagKey].variants)[0];
        theirs = type === "boolean" ? core.resolveBooleanEvaluation(flagKey, null, ctx) : type === "number" ? core.resolveNumberEvaluation(flagKey, null, ctx) : resolve(flagKey, ctx);
      } catch (e) {
        theirs = { value: null, error: e.message };
      }
      const ours = engine.evaluate(flagKey, ctx, null);
      compared++;
      if (theirs.value !== ours.value || (theirs.variant ?? null) !== (ours.variant ?? null)) {
        differ.push(`${flagKey} ${JSON.stringify(ctx)}: flagd ${theirs.variant}=${JSON.stringify(theirs.value)}, vexil ${ours.variant}=${JSON.stringify(ours.value)}`);
      }
    }
  }
  console.log(`# flagd differential: ${compared - differ.length}/${compared} evaluations agree`);
  assert.deepEqual(differ.slice(0, 5), []);
});
