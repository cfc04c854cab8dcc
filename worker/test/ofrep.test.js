// OFREP everywhere, through the real OpenFeature OFREP providers from npm: the worker
// on workerd and the origin answer the same evaluations, with the protocol's error
// codes, 304 on unchanged bulk results, and 429 with Retry-After past the rate limit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { OpenFeature } from "@openfeature/server-sdk";
import { OpenFeature as WebOpenFeature } from "@openfeature/web-sdk";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { localWorker } from "../local.js";
import { startOrigin, stopOrigin, api, simpleFlag } from "./origin.js";

let origin, sdkKey, mf, edgeUrl;

before(async () => {
  origin = await startOrigin({ settings: { requests_per_second: "requests_per_second = 20", burst: "burst = 40" } });
  const editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "eve", roles: ["editor"] })).token;
  sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "ofrep", environment: "production" })).token;
  const keys = (await api(origin, origin.admin, "GET", "/keys")).keyring;
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("new-checkout", { fallthrough: { rollout: { weights: { on: 50, off: 50 } } }, metadata: { team: "web" } }),
  });
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("banner-text", { variants: { a: "Hello", b: "Welcome" }, off_variant: "a", fallthrough: { variant: "b" } }),
  });
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("max-items", { variants: { small: 10, large: 50 }, off_variant: "small", fallthrough: { variant: "large" } }),
  });
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("beta-banner", {
      rules: [{ id: "beta", when: { attr: "plan", op: "in", values: ["beta"] }, serve: { variant: "on" } }],
      fallthrough: { rollout: { weights: { on: 50, off: 50 } } },
      metadata: { team: "web", ticket: "WEB-1" },
    }),
  });
  mf = localWorker(
    {
      ENVIRONMENT: "production",
      PUBLIC_KEYS: JSON.stringify(keys),
      SNAPSHOT_URL: `${origin.url}/api/v1/environments/production/snapshot`,
      SDK_KEY: sdkKey,
      OFREP_RATE_LIMIT: "20",
      OFREP_BURST: "40",
    },
    { host: "127.0.0.1", port: 0 },
  );
  edgeUrl = (await mf.ready).toString().replace(/\/$/, "");
});

after(async () => {
  await OpenFeature.close();
  await mf?.dispose();
  await stopOrigin(origin);
});

const targets = () => [
  ["origin", origin.url],
  ["worker", edgeUrl],
];

test("the server OFREP provider resolves every type against the origin and the worker", async () => {
  for (const [name, baseUrl] of targets()) {
    await OpenFeature.setProviderAndWait(name, new OFREPProvider({ baseUrl, headers: [["Authorization", `Bearer ${sdkKey}`]] }));
    const client = OpenFeature.getClient(name);
    const ctx = { targetingKey: "user-1" };
    const b = await client.getBooleanDetails("new-checkout", false, ctx);
    assert.equal(b.reason, "SPLIT", name);
    assert.equal(typeof b.value, "boolean");
    assert.equal(b.flagMetadata.team, "web");
    const s = await client.getStringDetails("banner-text", "?", ctx);
    assert.deepEqual([s.value, s.variant, s.reason], ["Welcome", "b", "STATIC"], name);
    assert.equal(await client.getNumberValue("max-items", 0, ctx), 50);
    const missing = await client.getBooleanDetails("no-such-flag", true, ctx);
    assert.deepEqual([missing.value, missing.errorCode], [true, "FLAG_NOT_FOUND"], name);
    const noKey = await client.getBooleanDetails("new-checkout", false, {});
    assert.deepEqual([noKey.value, noKey.errorCode], [false, "TARGETING_KEY_MISSING"], name);
    const mismatch = await client.getNumberDetails("banner-text", 7, ctx);
    assert.deepEqual([mismatch.value, mismatch.errorCode], [7, "TYPE_MISMATCH"], name);
  }
});

test("the web OFREP provider evaluates in bulk and serves synchronously", async () => {
  for (const [name, baseUrl] of targets()) {
    const provider = new OFREPWebProvider({ baseUrl, headers: [["Authorization", `Bearer ${sdkKey}`]] });
    await WebOpenFeature.setContext(name, { targetingKey: "user-1" });
    await WebOpenFeature.setProviderAndWait(name, provider);
    const client = WebOpenFeature.getClient(name);
    assert.equal(client.getStringValue("banner-text", "?"), "Welcome", name);
    assert.equal(client.getNumberValue("max-items", 0), 50, name);
    assert.equal(client.getBooleanDetails("no-such-flag", false).errorCode, "FLAG_NOT_FOUND", name);
    await WebOpenFeature.clearProviders?.();
  }
});

async function post(baseUrl, path, body, headers = { authorization: `Bearer ${sdkKey}` }) {
  const r = await fetch(`${baseUrl}/ofrep/v1/evaluate/flags${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
}

test("the worker's answers are the origin's, result for result", async () => {
  const contexts = [{ targetingKey: "user-1", plan: "beta" }, { targetingKey: "user-2" }, { plan: "beta" }, {}];
  const flags = ["beta-banner", "new-checkout", "banner-text", "max-items", "no-such-flag"];
  for (const context of contexts) {
    for (const flag of flags) {
      const [atOrigin, atEdge] = await Promise.all(targets().map(([, url]) => post(url, `/${flag}`, { context })));
      assert.equal(atEdge.status, atOrigin.status, `${flag} ${JSON.stringify(context)}`);
      assert.deepEqual(atEdge.json, atOrigin.json, `${flag} ${JSON.stringify(context)}`);
    }
    const [bulkOrigin, bulkEdge] = await Promise.all(targets().map(([, url]) => post(url, "", { context })));
    assert.deepEqual(bulkEdge.json, bulkOrigin.json, `bulk ${JSON.stringify(context)}`);
  }
  const matched = await post(edgeUrl, "/beta-banner", { context: contexts[0] });
  assert.deepEqual(matched.json.metadata, { team: "web", ticket: "WEB-1", ruleId: "beta" });
  const missing = await post(edgeUrl, "/new-checkout", { context: {} });
  assert.match(missing.json.errorDetails, /rolls out by `targetingKey`/);
  assert.ok(!("variant" in (await post(origin.url, "/no-such-flag", { context: {} })).json));
});

test("status codes, 304 and 429 are the protocol's on both", async () => {
  for (const [name, baseUrl] of targets()) {
    assert.equal((await post(baseUrl, "/banner-text", { context: {} }, {})).status, 401, name);
    assert.equal((await post(baseUrl, "/no-such-flag", { context: {} })).status, 404, name);
    const bad = await post(baseUrl, "/banner-text", { nope: 1 });
    assert.deepEqual([bad.status, bad.json.errorCode], [400, "INVALID_CONTEXT"], name);
    const garbled = await post(baseUrl, "/banner-text", "{not json");
    assert.deepEqual([garbled.status, garbled.json.errorCode], [400, "PARSE_ERROR"], name);
    const bulk = await post(baseUrl, "", { context: { targetingKey: "u" } });
    assert.equal(bulk.status, 200);
    const again = await post(baseUrl, "", { context: { targetingKey: "u" } }, { authorization: `Bearer ${sdkKey}`, "if-none-match": bulk.headers.get("etag") });
    assert.equal(again.status, 304, name);
  }
  const admin = await post(origin.url, "/banner-text", { context: {} }, { authorization: `Bearer ${origin.admin}` });
  assert.equal(admin.status, 403, "tokens do not name an environment; SDK keys do");
  for (const [name, baseUrl] of targets()) {
    let limited = null;
    for (let i = 0; i < 200 && !limited; i++) {
      const r = await post(baseUrl, "/banner-text", { context: { targetingKey: "u" } });
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, `${name} answers 429 past its rate`);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1, name);
    await new Promise((r) => setTimeout(r, 1100));
  }
});
