// The whole loop, end to end: the origin publishes, the worker on workerd routes
// simulated visitors by the flag to two variant origins and tracks their outcomes,
// metrics flow back, and the origin's scheduler advances the rollout stage by stage,
// or rolls it back when the treated variant's origin fails.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { localWorker } from "../local.js";
import { startOrigin, stopOrigin, api, simpleFlag, eventually } from "./origin.js";

let origin, editor, sdkKey, keyring;
const servers = [];
const workers = [];

/** A variant origin that fails `failRate` of its requests. */
function variantOrigin(name, failRate) {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      const fail = Math.random() < failRate.value;
      res.writeHead(fail ? 503 : 200, { "content-type": "text/plain" });
      res.end(fail ? `${name} failed` : `${name} ok`);
    });
    server.listen(0, "127.0.0.1", () => {
      servers.push(server);
      resolve(`http://127.0.0.1:${server.address().port}`);
    });
  });
}

before(async () => {
  origin = await startOrigin({ settings: { check_interval: 'check_interval = "100ms"' } });
  editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "eve", roles: ["editor"] })).token;
  sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "edge", environment: "production" })).token;
  keyring = (await api(origin, origin.admin, "GET", "/keys")).keyring;
});

after(async () => {
  await Promise.all(workers.map((mf) => mf.dispose()));
  for (const s of servers) s.close();
  await stopOrigin(origin);
});

async function setup(flag, treatedFailRate) {
  await api(origin, editor, "POST", "/environments/production/flags", { flag: simpleFlag(flag) });
  const v1 = await variantOrigin("v1", { value: 0 });
  const v2 = await variantOrigin("v2", { value: treatedFailRate });
  const mf = localWorker({
    ENVIRONMENT: "production",
    PUBLIC_KEYS: JSON.stringify(keyring),
    SNAPSHOT_URL: `${origin.url}/api/v1/environments/production/snapshot`,
    METRICS_URL: `${origin.url}/api/v1/metrics`,
    SDK_KEY: sdkKey,
    REFRESH_INTERVAL_MS: "200",
    FLUSH_INTERVAL_MS: "200",
    ROUTING_FLAG: flag,
    VARIANT_ORIGINS: JSON.stringify({ on: v2, off: v1 }),
  });
  workers.push(mf);
  return mf;
}

/** Sends visitors through the worker until `done` says stop. */
async function traffic(mf, done, what) {
  let visitor = 0;
  const seen = { on: 0, off: 0 };
  return eventually(async () => {
    for (let i = 0; i < 25; i++) {
      const r = await mf.dispatchFetch(`http://edge.test/checkout`, { headers: { "x-user-id": `visitor-${visitor++}` } });
      await r.text();
      seen[r.headers.get("x-vexil-variant").split("=")[1]]++;
    }
    const result = await done();
    return result ? { result, seen } : null;
  }, 60_000, what);
}

const weightsOf = async (flag) => (await api(origin, editor, "GET", `/environments/production/flags/${flag}`)).flag.fallthrough;

test("a healthy rollout reaches 100 % on real edge metrics", async () => {
  const mf = await setup("new-checkout", 0);
  const started = await api(origin, editor, "POST", "/environments/production/flags/new-checkout/rollouts", {
    stages: [20, 50, 100], stage_duration: "1s", min_samples: 20,
  });
  assert.equal(started.status, "running");
  const { result, seen } = await traffic(mf, async () => {
    const r = await api(origin, editor, "GET", `/rollouts/${started.id}`);
    assert.notEqual(r.status, "rolled_back", JSON.stringify(r.history));
    return r.status === "completed" ? r : null;
  }, "the rollout to complete");
  assert.deepEqual(result.history.map((h) => h.event), ["rollout.advanced", "rollout.advanced", "rollout.completed"]);
  assert.ok(seen.on > 0 && seen.off > 0, JSON.stringify(seen));
  assert.deepEqual((await weightsOf("new-checkout")).rollout.weights, { on: 100, off: 0 });
  const metrics = await api(origin, editor, "GET", "/flags/new-checkout/metrics?env=production");
  assert.equal(metrics.outcome_error_rate, 0);
});

test("a treated variant failing above 1 % is rolled back automatically", async () => {
  const mf = await setup("new-search", 0.1);
  const started = await api(origin, editor, "POST", "/environments/production/flags/new-search/rollouts", {
    stages: [50, 100], stage_duration: "1s", min_samples: 30,
  });
  const { result } = await traffic(mf, async () => {
    const r = await api(origin, editor, "GET", `/rollouts/${started.id}`);
    assert.notEqual(r.status, "completed");
    return r.status === "rolled_back" ? r : null;
  }, "the rollback");
  const last = result.history.at(-1);
  assert.equal(last.event, "rollout.rolled_back");
  assert.match(last.details.reason, /error rate .*% > 1%/);
  assert.deepEqual((await weightsOf("new-search")).rollout.weights, { on: 0, off: 100 });
  // The worker serves the rolled-back snapshot shortly after.
  await eventually(async () => {
    const r = await mf.dispatchFetch("http://edge.test/search", { headers: { "x-user-id": "late-visitor" } });
    await r.text();
    return r.headers.get("x-vexil-variant") === "new-search=off";
  }, 10_000, "the edge to serve the rollback");
});
