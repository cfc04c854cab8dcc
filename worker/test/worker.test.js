// The edge worker on real workerd (miniflare) against a real `vexil serve`: snapshots
// fetched and verified, new versions picked up, tampered snapshots and a dead origin
// survived on the last known good, OFREP answers, edge routing, Workers KV as a
// snapshot source, and metrics arriving at the origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { localWorker } from "../local.js";
import { startOrigin, stopOrigin, api, simpleFlag, eventually, payloadHeader } from "./origin.js";

let origin, editor, sdkKey, keyring, proxy, proxyUrl;
let proxyMode = "pass"; // pass | tamper | down
const workers = [];

/** Sits between the worker and the origin so tests can tamper with or cut the line. */
function startProxy() {
  return new Promise((resolve) => {
    const server = createServer(async (req, res) => {
      if (proxyMode === "down") {
        res.destroy();
        return;
      }
      const upstream = await fetch(origin.url + req.url, {
        headers: {
          authorization: req.headers.authorization ?? "",
          // A tampering proxy always has something to say.
          "if-none-match": proxyMode === "tamper" ? "" : req.headers["if-none-match"] ?? "",
        },
      });
      let body = Buffer.from(await upstream.arrayBuffer());
      const headers = { "content-type": "application/json" };
      if (upstream.headers.get("etag")) headers.etag = upstream.headers.get("etag");
      if (proxyMode === "tamper" && upstream.status === 200) {
        // One byte of the signed payload changed (the last flag's fallthrough).
        const envelope = JSON.parse(body);
        const payload = Buffer.from(envelope.payload, "base64");
        payload[payload.length - 1] ^= 1;
        envelope.payload = payload.toString("base64");
        body = Buffer.from(JSON.stringify(envelope));
        headers.etag = '"tampered"';
      }
      res.writeHead(upstream.status, headers);
      res.end(upstream.status === 304 ? undefined : body);
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function worker(bindings, extra = {}) {
  const mf = localWorker(
    {
      ENVIRONMENT: "production",
      PUBLIC_KEYS: JSON.stringify(keyring),
      SNAPSHOT_URL: `${proxyUrl}/api/v1/environments/production/snapshot`,
      METRICS_URL: `${origin.url}/api/v1/metrics`,
      SDK_KEY: sdkKey,
      REFRESH_INTERVAL_MS: "0",
      FLUSH_INTERVAL_MS: "0",
      ...bindings,
    },
    extra,
  );
  workers.push(mf);
  return mf;
}

async function call(mf, path, { method = "GET", body, headers = {}, cf } = {}) {
  const response = await mf.dispatchFetch(`http://edge.test${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    cf,
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: response.status, json, headers: response.headers, text };
}

const ofrep = (mf, key, context, headers = { authorization: `Bearer ${sdkKey}` }) =>
  call(mf, `/ofrep/v1/evaluate/flags/${key}`, { method: "POST", body: { context }, headers });

before(async () => {
  origin = await startOrigin();
  editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "eve", roles: ["editor"] })).token;
  sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "edge", environment: "production" })).token;
  keyring = (await api(origin, origin.admin, "GET", "/keys")).keyring;
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("new-checkout", { fallthrough: { rollout: { weights: { on: 50, off: 50 } } } }),
  });
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("banner-text", { variants: { a: "Hello", b: "Welcome" }, off_variant: "a", fallthrough: { variant: "b" }, metadata: { owner: "web" } }),
  });
  proxy = await startProxy();
  proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
});

after(async () => {
  await Promise.all(workers.map((mf) => mf.dispose()));
  proxy?.close();
  await stopOrigin(origin);
});

test("fetches and verifies the origin's snapshot, and reports its health", async () => {
  const mf = worker({});
  const { status, json } = await call(mf, "/healthz");
  assert.equal(status, 200);
  assert.equal(json.status, "ok");
  const published = await api(origin, editor, "GET", "/environments/production/snapshots");
  assert.equal(json.version, published.snapshots[0].version);
  assert.equal(json.keyId, Object.keys(keyring)[0]);
  assert.equal(json.stale, false);
  assert.ok(json.ageSeconds >= 0);
});

test("answers OFREP single and bulk evaluations", async () => {
  const mf = worker({});
  const one = await ofrep(mf, "banner-text", { targetingKey: "u1" });
  assert.equal(one.status, 200);
  assert.deepEqual({ key: one.json.key, value: one.json.value, variant: one.json.variant, reason: one.json.reason }, { key: "banner-text", value: "Welcome", variant: "b", reason: "STATIC" });
  assert.equal(one.json.metadata.owner, "web", "flag metadata travels with the result");

  const missing = await ofrep(mf, "no-such-flag", { targetingKey: "u1" });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.errorCode, "FLAG_NOT_FOUND");
  const noUnit = await ofrep(mf, "new-checkout", {});
  assert.equal(noUnit.status, 400);
  assert.equal(noUnit.json.errorCode, "TARGETING_KEY_MISSING");
  const bad = await call(mf, "/ofrep/v1/evaluate/flags/new-checkout", { method: "POST", body: { ctx: {} }, headers: { authorization: `Bearer ${sdkKey}` } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.errorCode, "INVALID_CONTEXT");
  assert.equal((await ofrep(mf, "banner-text", { targetingKey: "u1" }, {})).status, 401);
  assert.equal((await ofrep(mf, "banner-text", { targetingKey: "u1" }, { "x-api-key": sdkKey })).status, 200);

  const bulk = await call(mf, "/ofrep/v1/evaluate/flags", { method: "POST", body: { context: { targetingKey: "u1" } }, headers: { authorization: `Bearer ${sdkKey}` } });
  assert.equal(bulk.status, 200);
  assert.deepEqual(bulk.json.flags.map((f) => f.key).sort(), ["banner-text", "new-checkout"]);
  const etag = bulk.headers.get("etag");
  assert.ok(etag);
  const again = await call(mf, "/ofrep/v1/evaluate/flags", { method: "POST", body: { context: { targetingKey: "u1" } }, headers: { authorization: `Bearer ${sdkKey}`, "if-none-match": etag } });
  assert.equal(again.status, 304);
  const other = await call(mf, "/ofrep/v1/evaluate/flags", { method: "POST", body: { context: { targetingKey: "u2" } }, headers: { authorization: `Bearer ${sdkKey}`, "if-none-match": etag } });
  assert.equal(other.status, 200, "another context is another answer");
});

test("picks up a new version, ignores a tampered one and survives the origin going down", async () => {
  const mf = worker({});
  const value = async () => (await ofrep(mf, "banner-text", { targetingKey: "u1" })).json.value;
  assert.equal(await value(), "Welcome");
  await api(origin, editor, "POST", "/environments/production/flags/banner-text/kill", { reason: "test" });
  await eventually(async () => (await value()) === "Hello", 10_000, "the killed flag to serve its off variant");
  const good = (await call(mf, "/healthz")).json.version;

  proxyMode = "tamper";
  await eventually(async () => (await call(mf, "/healthz")).json.lastError?.code === "BAD_SIGNATURE", 10_000, "the tampered snapshot to be refused");
  assert.equal((await call(mf, "/healthz")).json.version, good, "the last known good keeps serving");
  assert.equal(await value(), "Hello");

  proxyMode = "down";
  await eventually(async () => (await call(mf, "/healthz")).json.lastError?.code === "FETCH_FAILED", 10_000, "the fetch failure to show");
  assert.equal(await value(), "Hello");
  assert.equal((await call(mf, "/healthz")).status, 200);
  proxyMode = "pass";
  await api(origin, editor, "POST", "/environments/production/flags/banner-text/enable", {});
  await eventually(async () => (await value()) === "Welcome", 10_000, "recovery once the origin is back");
});

test("a cold worker with the origin down serves nothing rather than guessing, then recovers", async () => {
  proxyMode = "down";
  const mf = worker({ REFRESH_INTERVAL_MS: "0" });
  const cold = await ofrep(mf, "banner-text", { targetingKey: "u1" });
  assert.equal(cold.status, 500);
  assert.equal((await call(mf, "/healthz")).status, 503);
  proxyMode = "pass";
  await eventually(async () => (await ofrep(mf, "banner-text", { targetingKey: "u1" })).status === 200, 10_000, "recovery");
});

test("routes by a flag with a sticky unit cookie and reports metrics to the origin", async () => {
  const mf = worker({ ROUTING_FLAG: "new-checkout" });
  const first = await call(mf, "/checkout", { cf: { country: "DE" } });
  assert.equal(first.status, 200);
  const cookie = first.headers.get("set-cookie");
  assert.match(cookie, /vexil_uid=[^;]+; Path=\//);
  const variant = first.headers.get("x-vexil-variant");
  assert.match(variant, /^new-checkout=(on|off)$/);
  assert.equal(first.json.country, "DE");
  const unit = cookie.split(";")[0].split("=")[1];
  for (let i = 0; i < 5; i++) {
    const again = await call(mf, "/checkout", { headers: { cookie: `vexil_uid=${unit}` }, cf: { country: "DE" } });
    assert.equal(again.headers.get("x-vexil-variant"), variant, "the same unit keeps its variant");
    assert.equal(again.headers.get("set-cookie"), null);
  }
  // Many visitors split about half and half.
  const counts = { on: 0, off: 0 };
  for (let i = 0; i < 200; i++) {
    const r = await call(mf, "/checkout", { headers: { "x-user-id": `visitor-${i}` }, cf: { country: i % 2 ? "FR" : "DE" } });
    counts[r.json.variant]++;
  }
  assert.ok(counts.on > 60 && counts.off > 60, JSON.stringify(counts));

  const metrics = await eventually(async () => {
    await call(mf, "/healthz");
    const m = await api(origin, editor, "GET", "/flags/new-checkout/metrics?env=production");
    return m.total_evaluations >= 206 ? m : null;
  }, 15_000, "metrics at the origin");
  assert.ok(metrics.variants.on.count > 60);
  assert.ok(metrics.geography.DE > 0 && metrics.geography.FR > 0, JSON.stringify(metrics.geography));
  assert.ok(metrics.unique_units > 150);
});

test("routes by the visitor's address: remoteAddress from CF-Connecting-IP, matched with in_cidr", async () => {
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("office-preview", {
      rules: [{ id: "office", when: { attr: "remoteAddress", op: "in_cidr", values: ["10.0.0.0/8", "2001:db8::/32"] }, serve: { variant: "on" } }],
      fallthrough: { variant: "off" },
    }),
  });
  const mf = worker({ ROUTING_FLAG: "office-preview" });
  const at = (ip) => call(mf, "/", { headers: { "x-user-id": "visitor-1", "cf-connecting-ip": ip } });
  assert.equal((await at("10.20.30.40")).json.variant, "on");
  assert.equal((await at("2001:db8::5")).json.variant, "on");
  assert.equal((await at("192.0.2.1")).json.variant, "off");
});

test("reads snapshots from Workers KV", async () => {
  const envelope = await (await fetch(`${origin.url}/api/v1/environments/production/snapshot`, { headers: { authorization: `Bearer ${sdkKey}` } })).text();
  const mf = worker({ SNAPSHOT_URL: "" }, { kvNamespaces: ["SNAPSHOT_KV"] });
  const kv = await mf.getKVNamespace("SNAPSHOT_KV");
  await kv.put("vexil/production/snapshot", envelope);
  const health = await call(mf, "/healthz");
  assert.equal(health.status, 200, health.text);
  assert.equal(health.json.version, payloadHeader(envelope).version);
  assert.equal((await ofrep(mf, "banner-text", { targetingKey: "u1" })).status, 200);
  // Unchanged KV value: no reload, no error.
  await call(mf, "/healthz");
  assert.equal((await call(mf, "/healthz")).json.lastError, null);
});

test("a bundled bootstrap snapshot serves a cold isolate before the origin answers", async () => {
  const envelope = await (await fetch(`${origin.url}/api/v1/environments/production/snapshot`, { headers: { authorization: `Bearer ${sdkKey}` } })).text();
  proxyMode = "down";
  try {
    const mf = worker({ BOOTSTRAP_SNAPSHOT: envelope });
    const r = await ofrep(mf, "banner-text", { targetingKey: "u1" });
    assert.equal(r.status, 200);
    assert.equal(r.json.value, "Welcome");
    const health = await eventually(async () => {
      const h = (await call(mf, "/healthz")).json;
      return h.lastError ? h : null;
    }, 10_000, "the failed background refresh to show");
    assert.equal(health.status, "ok");
    assert.equal(health.lastError.code, "FETCH_FAILED");
  } finally {
    proxyMode = "pass";
  }
});

test("routes to a variant origin with a path prefix and tracks its outcome", async () => {
  const hits = [];
  const upstream = await new Promise((resolve) => {
    const s = createServer((req, res) => {
      hits.push(req.url);
      res.writeHead(req.url.includes("boom") ? 502 : 200);
      res.end("variant origin");
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  try {
    const base = `http://127.0.0.1:${upstream.address().port}`;
    const mf = worker({ ROUTING_FLAG: "banner-text", VARIANT_ORIGINS: JSON.stringify({ b: `${base}/v2/` }) });
    const r = await call(mf, "/checkout?step=1", { headers: { "x-user-id": "u9" } });
    assert.equal(r.status, 200);
    assert.equal(r.text, "variant origin");
    assert.equal(r.headers.get("x-vexil-variant"), "banner-text=b");
    assert.deepEqual(hits, ["/v2/checkout?step=1"]);
    assert.equal((await call(mf, "/boom", { headers: { "x-user-id": "u9" } })).status, 502);
  } finally {
    upstream.close();
  }
});

test("a variant origin's own Server-Timing `app` duration is the latency tracked, not the round trip", async () => {
  const upstream = await new Promise((resolve) => {
    const s = createServer((req, res) => {
      res.writeHead(200, { "server-timing": "db;dur=3, app;dur=140;desc=\"simulated\"" });
      res.end("fast round trip, slow feature");
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  try {
    const mf = worker({ ROUTING_FLAG: "banner-text", VARIANT_ORIGINS: JSON.stringify({ a: `http://127.0.0.1:${upstream.address().port}`, b: `http://127.0.0.1:${upstream.address().port}` }) });
    for (let i = 0; i < 40; i++) await call(mf, "/checkout", { headers: { "x-user-id": `timing-${i}` } });
    const metrics = await eventually(async () => {
      await call(mf, "/healthz");
      const m = await api(origin, editor, "GET", "/flags/banner-text/metrics?env=production");
      return m.p95_response_time_ms >= 100 ? m : null;
    }, 15_000, "the upstream's own duration in the latency metrics");
    assert.ok(metrics.p95_response_time_ms <= 200, JSON.stringify(metrics));
  } finally {
    upstream.close();
  }
});

test("explains a misconfigured worker", async () => {
  const mf = worker({ PUBLIC_KEYS: "{}" });
  const r = await call(mf, "/healthz");
  assert.equal(r.status, 500);
  assert.match(r.json.error.message, /PUBLIC_KEYS/);
});
