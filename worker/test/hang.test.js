// A hung origin (it accepts the connection and never answers), on real workerd: the
// worker's snapshot fetch gives up after REQUEST_TIMEOUT_MS (3 s by default, not
// 10), a cold isolate's first request waits no longer than that, and /healthz shows
// the hang while it lasts (`refreshingSince`) and after it (`lastError` TIMEOUT),
// while the last known good snapshot keeps serving.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { localWorker } from "../local.js";
import { startOrigin, stopOrigin, api, simpleFlag, eventually } from "./origin.js";

let origin, sdkKey, keyring, proxy, proxyUrl;
let hang = false;
const workers = [];

before(async () => {
  origin = await startOrigin();
  const editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "eve", roles: ["editor"] })).token;
  sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "edge", environment: "production" })).token;
  keyring = (await api(origin, origin.admin, "GET", "/keys")).keyring;
  await api(origin, editor, "POST", "/environments/production/flags", { flag: simpleFlag("new-checkout") });
  // Passes requests to the origin, or (hung) takes them and never answers.
  proxy = createServer(async (req, res) => {
    if (hang) return;
    const upstream = await fetch(origin.url + req.url, { headers: { authorization: req.headers.authorization ?? "", "if-none-match": req.headers["if-none-match"] ?? "" } });
    const headers = { "content-type": "application/json" };
    if (upstream.headers.get("etag")) headers.etag = upstream.headers.get("etag");
    res.writeHead(upstream.status, headers);
    res.end(upstream.status === 304 ? undefined : Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
});

after(async () => {
  for (const mf of workers) await mf.dispose();
  proxy.closeAllConnections();
  await new Promise((r) => proxy.close(r));
  await stopOrigin(origin);
});

function worker(bindings = {}) {
  const mf = localWorker({
    ENVIRONMENT: "production",
    PUBLIC_KEYS: JSON.stringify(keyring),
    SNAPSHOT_URL: `${proxyUrl}/api/v1/environments/production/snapshot`,
    SDK_KEY: sdkKey,
    REFRESH_INTERVAL_MS: "0",
    ...bindings,
  });
  workers.push(mf);
  return mf;
}

async function health(mf) {
  const started = Date.now();
  const r = await mf.dispatchFetch("http://edge.test/healthz");
  return { status: r.status, json: await r.json(), ms: Date.now() - started };
}

test("a hang is shown while it lasts and reported as TIMEOUT after the default 3 s", async () => {
  hang = false;
  const mf = worker();
  const good = await health(mf);
  assert.equal(good.status, 200);
  assert.equal(good.json.requestTimeoutMs, 3000, "the default");
  hang = true;
  const hungAt = Date.now();
  // Requests never wait for the background refresh.
  const first = await health(mf);
  assert.ok(first.ms < 1000, `answered in ${first.ms} ms`);
  const during = await eventually(async () => {
    const h = await health(mf);
    return h.json.refreshingSince ? h : null;
  }, 2000, "the refresh in flight to show");
  assert.equal(during.status, 200, "the last known good keeps serving");
  assert.equal(during.json.version, good.json.version);
  assert.ok(Date.parse(during.json.refreshingSince) >= hungAt - 1000, during.json.refreshingSince);
  const timedOut = await eventually(async () => {
    const h = await health(mf);
    return h.json.lastError?.code === "TIMEOUT" ? h : null;
  }, 6000, "the hang to be reported as TIMEOUT");
  const after = Date.now() - hungAt;
  assert.ok(after >= 2500 && after < 6000, `reported after ${after} ms`);
  assert.match(timedOut.json.lastError.message, /timed out after 3000 ms/);
  assert.equal(timedOut.json.status, "ok");
  assert.equal(timedOut.json.version, good.json.version);

  // The origin answers again: the next refresh (a 304: nothing changed) clears it.
  hang = false;
  proxy.closeAllConnections();
  await eventually(async () => (await health(mf)).json.lastError === null, 8000, "recovery");
});

test("a cold isolate waits for a hung origin no longer than REQUEST_TIMEOUT_MS", async () => {
  hang = true;
  // (With the default refresh interval: one attempt per request at most.)
  for (const [bindings, limit] of [
    [{ REFRESH_INTERVAL_MS: "15000" }, 5000],
    [{ REFRESH_INTERVAL_MS: "15000", REQUEST_TIMEOUT_MS: "300" }, 2000],
  ]) {
    const mf = worker(bindings);
    const cold = await health(mf);
    assert.ok(cold.ms < limit, `first answer after ${cold.ms} ms`);
    assert.equal(cold.status, 503);
    assert.equal(cold.json.lastError?.code, "TIMEOUT", JSON.stringify(cold.json));
  }
  hang = false;
  proxy.closeAllConnections();
});
