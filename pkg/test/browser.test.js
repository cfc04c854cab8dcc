// The package's browser entry point in real Chromium: a plain <script type="module">
// imports index.js, which fetches the wasm from next to itself on `ready()` (not at
// import: an Engine before it is a clear NOT_READY error).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { envelope, makeKey, payload, sampleFlags } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("..", import.meta.url));
const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html", ".json": "application/json" };
const key = makeKey("k1");
const snapshot = JSON.stringify(envelope(key, payload({ flags: sampleFlags(), version: 4 })));
const page = `<!doctype html><meta charset="utf-8"><title>vexil</title><pre id="out">loading</pre>
<script type="module">
  import { Engine, ready } from "/pkg/index.js";
  let early = null;
  try { new Engine({ keys: {}, environment: "production" }); } catch (e) { early = e.code; }
  await ready();
  const engine = new Engine({ keys: ${JSON.stringify({ [key.id]: key.publicKey })}, environment: "production" });
  const info = engine.load(await (await fetch("/snapshot.json")).text());
  const details = engine.evaluate("new-checkout", { targetingKey: "u1", plan: "beta" }, false);
  let rejected = null;
  try { engine.load("{}"); } catch (e) { rejected = e.code; }
  document.getElementById("out").textContent = JSON.stringify({ early, version: info.version, details, rejected });
</script>`;

let server;
let browser;
before(async () => {
  server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end(page);
    if (path === "/snapshot.json") return res.writeHead(200, { "content-type": "application/json" }).end(snapshot);
    const file = normalize(join(root, path.replace(/^\/pkg\//, "")));
    if (!path.startsWith("/pkg/") || !file.startsWith(root) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(await readFile(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  server?.close();
});

test("index.js loads the wasm next to it on ready() and evaluates in the page", async () => {
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(e.message));
  await tab.goto(`http://127.0.0.1:${server.address().port}/`);
  await tab.waitForFunction(() => document.getElementById("out").textContent !== "loading", null, { timeout: 15_000 });
  const result = JSON.parse(await tab.textContent("#out"));
  assert.deepEqual(errors, []);
  assert.equal(result.early, "NOT_READY");
  assert.equal(result.version, 4);
  assert.equal(result.details.value, true);
  assert.equal(result.details.reason, "TARGETING_MATCH");
  assert.equal(result.rejected, "BAD_FORMAT");
});
