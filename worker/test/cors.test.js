// The worker's CORS on real workerd (miniflare): browser OFREP clients on another
// origin get their preflight answered and can read the answers (ETag, Retry-After),
// configured origins are the only ones allowed, `GET /ofrep/v1/configuration` is
// OFREP JSON (not the routing example), and the real @openfeature/ofrep-web-provider
// evaluates from a page on another origin in Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { localWorker } from "../local.js";
import { startOrigin, stopOrigin, api, simpleFlag } from "./origin.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
let origin, sdkKey, keys, open, listed, openUrl;
const servers = [];

function worker(bindings, options = {}) {
  const mf = localWorker(
    {
      ENVIRONMENT: "production",
      PUBLIC_KEYS: JSON.stringify(keys),
      SNAPSHOT_URL: `${origin.url}/api/v1/environments/production/snapshot`,
      SDK_KEY: sdkKey,
      ...bindings,
    },
    options,
  );
  servers.push({ close: () => mf.dispose() });
  return mf;
}

before(async () => {
  origin = await startOrigin();
  const editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "eve", roles: ["editor"] })).token;
  sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "web", environment: "production" })).token;
  keys = (await api(origin, origin.admin, "GET", "/keys")).keyring;
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("banner-text", { variants: { a: "Hello", b: "Welcome" }, off_variant: "a", fallthrough: { variant: "b" } }),
  });
  open = worker({ OFREP_RATE_LIMIT: "1", OFREP_BURST: "1" }, { host: "127.0.0.1", port: 0 });
  openUrl = (await open.ready).toString().replace(/\/$/, "");
  listed = worker({ CORS_ORIGINS: "https://app.example.com, http://127.0.0.1:1" });
});

after(async () => {
  for (const s of servers) await s.close();
  await stopOrigin(origin);
});

const PAGE = "https://app.example.com";

test("a browser preflight is answered with the methods, headers and max age", async () => {
  for (const path of ["/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/banner-text", "/ofrep/v1/configuration"]) {
    const r = await open.dispatchFetch(`http://edge.test${path}`, {
      method: "OPTIONS",
      headers: { origin: PAGE, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type,if-none-match,x-api-key" },
    });
    assert.equal(r.status, 204, path);
    assert.equal(r.headers.get("access-control-allow-origin"), "*", path);
    assert.match(r.headers.get("access-control-allow-methods"), /POST/);
    assert.match(r.headers.get("access-control-allow-methods"), /GET/);
    const allowed = r.headers.get("access-control-allow-headers").toLowerCase();
    for (const h of ["authorization", "x-api-key", "content-type", "if-none-match"]) assert.ok(allowed.includes(h), `${h} in ${allowed}`);
    assert.equal(r.headers.get("access-control-max-age"), "7200");
    await r.arrayBuffer();
  }
});

test("answers carry Access-Control-Allow-Origin and expose ETag and Retry-After", async () => {
  const call = (headers = {}) =>
    open.dispatchFetch("http://edge.test/ofrep/v1/evaluate/flags", {
      method: "POST",
      headers: { origin: PAGE, "content-type": "application/json", authorization: `Bearer ${sdkKey}`, ...headers },
      body: JSON.stringify({ context: { targetingKey: "u1" } }),
    });
  const bulk = await call();
  assert.equal(bulk.status, 200);
  assert.equal(bulk.headers.get("access-control-allow-origin"), "*");
  assert.match(bulk.headers.get("access-control-expose-headers"), /ETag/i);
  assert.ok(bulk.headers.get("etag"));
  await bulk.arrayBuffer();
  // Past the rate (1 a second): the 429 is readable too, Retry-After included.
  const limited = await call();
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("access-control-allow-origin"), "*");
  assert.match(limited.headers.get("access-control-expose-headers"), /Retry-After/i);
  await limited.arrayBuffer();
  const unauthorised = await call({ authorization: "Bearer nope" });
  assert.equal(unauthorised.status, 401);
  assert.equal(unauthorised.headers.get("access-control-allow-origin"), "*", "errors are readable by the page");
  await unauthorised.arrayBuffer();
  const health = await open.dispatchFetch("http://edge.test/healthz", { headers: { origin: PAGE } });
  assert.equal(health.headers.get("access-control-allow-origin"), "*");
  await health.arrayBuffer();
  // The routing example is the application: no CORS from the worker.
  const routed = await open.dispatchFetch("http://edge.test/checkout", { headers: { origin: PAGE } });
  assert.equal(routed.headers.get("access-control-allow-origin"), null);
  await routed.arrayBuffer();
});

test("CORS_ORIGINS lists the origins allowed, echoed with Vary: Origin", async () => {
  const pre = (from) =>
    listed.dispatchFetch("http://edge.test/ofrep/v1/evaluate/flags", {
      method: "OPTIONS",
      headers: { origin: from, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
  const ok = await pre(PAGE);
  assert.equal(ok.headers.get("access-control-allow-origin"), PAGE);
  assert.match(ok.headers.get("vary"), /Origin/);
  await ok.arrayBuffer();
  const refused = await pre("https://evil.example");
  assert.equal(refused.headers.get("access-control-allow-origin"), null);
  await refused.arrayBuffer();
  const answer = await listed.dispatchFetch("http://edge.test/ofrep/v1/configuration", { headers: { origin: "https://evil.example" } });
  assert.equal(answer.status, 200, "the answer is sent; the browser withholds it");
  assert.equal(answer.headers.get("access-control-allow-origin"), null);
  assert.match(answer.headers.get("vary"), /Origin/);
  await answer.arrayBuffer();
  const bad = worker({ CORS_ORIGINS: "https://app.example.com/path" });
  const r = await bad.dispatchFetch("http://edge.test/healthz");
  assert.equal(r.status, 500);
  assert.match((await r.json()).error.message, /CORS_ORIGINS entry "https:\/\/app.example.com\/path" is not an origin/);
});

test("GET /ofrep/v1/configuration is OFREP JSON, as at the origin", async () => {
  const edge = await open.dispatchFetch("http://edge.test/ofrep/v1/configuration");
  assert.equal(edge.status, 200);
  assert.match(edge.headers.get("content-type"), /application\/json/);
  assert.equal(edge.headers.get("set-cookie"), null, "not the routing example");
  const atOrigin = await (await fetch(`${origin.url}/ofrep/v1/configuration`)).json();
  assert.deepEqual(await edge.json(), atOrigin);
  const other = await open.dispatchFetch("http://edge.test/ofrep/v1/nothing-here");
  assert.equal(other.status, 404);
  assert.equal(other.headers.get("set-cookie"), null);
  await other.arrayBuffer();
});

/** Serves a page and the OpenFeature packages from node_modules, on its own origin. */
function startPage() {
  const modules = {
    "@openfeature/web-sdk": "/node_modules/@openfeature/web-sdk/dist/esm/index.js",
    "@openfeature/core": "/node_modules/@openfeature/core/dist/esm/index.js",
    "@openfeature/ofrep-core": "/node_modules/@openfeature/ofrep-web-provider/node_modules/@openfeature/ofrep-core/index.esm.js",
    "@openfeature/ofrep-web-provider": "/node_modules/@openfeature/ofrep-web-provider/index.esm.js",
  };
  const page = `<!doctype html><meta charset="utf-8"><title>OFREP from another origin</title>
<script type="importmap">${JSON.stringify({ imports: modules })}</script>
<script type="module">
  import { OpenFeature } from "@openfeature/web-sdk";
  import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
  const params = new URLSearchParams(location.search);
  window.result = (async () => {
    await OpenFeature.setContext({ targetingKey: "user-1" });
    await OpenFeature.setProviderAndWait(new OFREPWebProvider({ baseUrl: params.get("edge"), headers: [["Authorization", "Bearer " + params.get("key")]] }));
    const client = OpenFeature.getClient();
    return { value: client.getStringValue("banner-text", "?"), details: client.getStringDetails("banner-text", "?") };
  })().catch((e) => ({ error: String(e) }));
</script>`;
  return new Promise((resolve) => {
    const server = createServer(async (req, res) => {
      const path = new URL(req.url, "http://x").pathname;
      if (path === "/") {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(page);
        return;
      }
      const file = normalize(join(root, path));
      if (!Object.values(modules).includes(path) || !file.startsWith(root)) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(await readFile(file));
    });
    server.listen(0, "127.0.0.1", () => {
      servers.push({ close: () => new Promise((r) => server.close(r)) });
      resolve(`http://127.0.0.1:${server.address().port}`);
    });
  });
}

test("the real OFREP web provider evaluates from a page on another origin in Chromium", async () => {
  const pageUrl = await startPage();
  // Another origin: the page is on one port, the worker on another.
  const edgeUrl = openUrl;
  assert.notEqual(new URL(pageUrl).origin, new URL(edgeUrl).origin);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
  try {
    const page = await browser.newPage();
    const preflights = [];
    page.on("request", (r) => {
      if (r.method() === "OPTIONS") preflights.push(r.url());
    });
    const failures = [];
    page.on("console", (m) => {
      if (m.type() === "error") failures.push(m.text());
    });
    page.on("requestfailed", (r) => failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    page.on("response", (r) => {
      if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
    });
    await new Promise((r) => setTimeout(r, 1100)); // this worker's rate limit: 1 a second
    await page.goto(`${pageUrl}/?edge=${encodeURIComponent(edgeUrl)}&key=${encodeURIComponent(sdkKey)}`);
    const result = await page.evaluate(() => window.result);
    assert.equal(result.error, undefined, `${result.error} ${failures.join(" | ")}`);
    assert.equal(result.value, "Welcome", JSON.stringify(result));
    assert.equal(result.details.variant, "b");
    assert.equal(result.details.reason, "STATIC");
    // Chromium's network service answers preflights itself; when they are visible
    // they went to the worker.
    for (const url of preflights) assert.ok(url.startsWith(edgeUrl), url);
  } finally {
    await browser.close();
  }
});
