// The Node client against a real `vexil serve`: server-sent events bring a new
// snapshot (a kill switch) within two seconds, and "change" events name the flags
// whose value changed for the client's context.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "../node.js";
import { startOrigin, stopOrigin, api, simpleFlag, eventually } from "../../worker/test/origin.js";

let origin, editor, sdkKey, keys;

before(async () => {
  origin = await startOrigin();
  editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "eve", roles: ["editor"] })).token;
  sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "web", environment: "production" })).token;
  keys = (await api(origin, origin.admin, "GET", "/keys")).keyring;
  await api(origin, editor, "POST", "/environments/production/flags", { flag: simpleFlag("live-banner", { fallthrough: { variant: "on" } }) });
});

after(() => stopOrigin(origin));

test("a kill switch reaches a following client in under two seconds, as a change", async () => {
  const base = `${origin.url}/api/v1/environments/production`;
  const client = await createClient({
    snapshotUrl: `${base}/snapshot`,
    eventsUrl: `${base}/events`,
    sdkKey,
    keys,
    environment: "production",
    autoRefresh: false,
    context: { targetingKey: "u1" },
  });
  const changes = [];
  const kills = [];
  client.on("change", (c) => changes.push(c));
  client.on("kill", (k) => kills.push(k));
  client.setContext({ targetingKey: "u1" });
  assert.deepEqual(changes.map((c) => [c.key, c.value]), [["live-banner", true]]);
  // Let the event stream connect before pulling the switch.
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  await api(origin, editor, "POST", "/environments/production/flags/live-banner/kill", { reason: "incident 7" });
  await eventually(() => changes.length === 2, 2000, "the change");
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 2000, `${elapsed} ms`);
  assert.deepEqual([changes[1].key, changes[1].value, changes[1].previous], ["live-banner", false, true]);
  assert.equal(changes[1].details.reason, "DISABLED");
  assert.equal(kills[0].flag, "live-banner");
  assert.equal(kills[0].reason, "incident 7");
  client.close();
});
