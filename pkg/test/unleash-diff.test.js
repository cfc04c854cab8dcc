// Differential: the same Unleash features evaluated by the real Unleash Node SDK
// (unleash-client, bootstrapped offline) and by Vexil after `vexil import`, for many
// users: isEnabled and the variant must agree, rollouts included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Unleash, InMemStorageProvider } from "unleash-client";
import { Engine } from "../node.js";
import { envelope, makeKey, payload } from "./helpers.js";
import { VEXIL } from "../../worker/test/origin.js";

const features = [
  { name: "checkout-v2", enabled: true, strategies: [{ name: "flexibleRollout", parameters: { rollout: "30", stickiness: "default", groupId: "checkout-v2" }, constraints: [] }] },
  { name: "shared-group", enabled: true, strategies: [{ name: "flexibleRollout", parameters: { rollout: "55", stickiness: "userId", groupId: "experiments" }, constraints: [] }] },
  { name: "beta-or-rollout", enabled: true, strategies: [
    { name: "userWithId", parameters: { userIds: "u1,u7,u42" } },
    { name: "default", parameters: {}, constraints: [{ contextName: "plan", operator: "IN", values: ["beta"] }] },
    { name: "flexibleRollout", parameters: { rollout: "10", stickiness: "default", groupId: "beta-or-rollout" }, constraints: [{ contextName: "country", operator: "NOT_IN", values: ["US"] }] },
  ] },
  { name: "version-gate", enabled: true, strategies: [{ name: "default", parameters: {}, constraints: [{ contextName: "appVersion", operator: "SEMVER_GTE", value: "2.1.0" }, { contextName: "email", operator: "STR_ENDS_WITH", values: ["@example.com"], caseInsensitive: true }] }] },
  { name: "colors", enabled: true, strategies: [{ name: "default", parameters: {} }], variants: [
    { name: "red", weight: 250, stickiness: "default" }, { name: "green", weight: 250, stickiness: "default" }, { name: "blue", weight: 500, stickiness: "default" } ] },
  { name: "switched-off", enabled: false, strategies: [{ name: "default", parameters: {} }] },
  { name: "office-network", enabled: true, strategies: [{ name: "remoteAddress", parameters: { IPs: "10.0.0.0/8, 192.168.1.5, not-an-ip" } }] },
  { name: "strategy-variants", enabled: true, strategies: [
    { name: "flexibleRollout", parameters: { rollout: "100", stickiness: "default", groupId: "sv" },
      constraints: [{ contextName: "country", operator: "IN", values: ["DE", "JP"] }],
      variants: [{ name: "left", weight: 300, stickiness: "default" }, { name: "right", weight: 700, stickiness: "default" }] },
    { name: "userWithId", parameters: { userIds: "u1,u7" } },
  ] },
  { name: "cidr-gate", enabled: true, strategies: [{ name: "default", parameters: {}, constraints: [{ contextName: "remoteAddress", operator: "IN_CIDR", values: ["203.0.113.0/24", "2001:db8::/32", "bad/99"] }] }] },
];
const addresses = ["10.1.2.3", "11.0.0.1", "192.168.1.5", "192.168.1.6", "203.0.113.77", "203.0.114.1", "2001:db8::7", "2001:db9::1", "not-an-ip"];

test("unleash-client and Vexil agree after import", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vexil-unleash-diff-"));
  writeFileSync(join(dir, "features.json"), JSON.stringify({ version: 2, features }));
  let flags;
  try {
    flags = JSON.parse(execFileSync(VEXIL, ["import", "--from", "unleash", join(dir, "features.json")], { encoding: "utf8" }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const key = makeKey("k1");
  const engine = new Engine({ keys: { [key.id]: key.publicKey }, environment: "production" });
  engine.load(envelope(key, payload(flags)));

  const unleash = new Unleash({ url: "http://127.0.0.1:9/api", appName: "diff", refreshInterval: 0, disableMetrics: true, bootstrap: { data: features }, storageProvider: new InMemStorageProvider() });
  unleash.on("error", () => {});
  unleash.on("warn", () => {});
  await new Promise((r) => unleash.once("ready", r));

  let compared = 0;
  const differ = [];
  for (let i = 0; i < 300; i++) {
    // Every fifth visitor is anonymous: Unleash's default stickiness then uses the session.
    const userId = i % 5 === 4 ? undefined : i % 10 === 7 ? `u${i % 50}` : `user-${i}`;
    const sessionId = `session-${i}`;
    const properties = { plan: ["beta", "free", "pro"][i % 3], country: ["US", "DE", "JP"][i % 3], appVersion: ["2.0.9", "2.1.0", "3.4.1"][i % 3], email: i % 2 ? `P${i}@EXAMPLE.com` : `p${i}@other.org` };
    const remoteAddress = addresses[i % addresses.length];
    const ctx = { targetingKey: userId, sessionId, remoteAddress, ...properties };
    for (const f of features) {
      compared++;
      const d = engine.evaluate(f.name, ctx, null);
      if (f.variants || f.strategies.some((s) => s.variants?.length)) {
        const v = unleash.getVariant(f.name, { userId, sessionId, remoteAddress, properties });
        // Enabled by a strategy without variants: Unleash's `disabled` with
        // feature_enabled, Vexil's `enabled` variant.
        const theirs = v.name === "disabled" && v.feature_enabled ? "enabled" : v.name;
        if (theirs !== d.variant) differ.push(`${f.name} ${userId}: unleash ${theirs}, vexil ${d.variant}`);
      } else {
        const theirs = unleash.isEnabled(f.name, { userId, sessionId, remoteAddress, properties });
        if (theirs !== (d.value === true)) differ.push(`${f.name} ${userId}: unleash ${theirs}, vexil ${d.value}`);
      }
    }
  }
  unleash.destroy();
  console.log(`# unleash differential: ${compared - differ.length}/${compared} evaluations agree`);
  assert.deepEqual(differ.slice(0, 5), []);
});
