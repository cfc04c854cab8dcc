// The packed package in the three bundlers' default setups, run in Chromium: Vite and
// webpack 5 emit the wasm from `new URL(..., import.meta.url)` by themselves, esbuild's
// default iife builds `vexil` (no top-level await) and runs with `vexil/inline`. Each
// app fetches a signed snapshot and evaluates a flag. The gzipped sizes printed here
// are the README's "Bundlers" table.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { extname, join, normalize, relative } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { build as viteBuild } from "vite";
import webpack from "webpack";
import { chromium } from "playwright-core";
import { scratchProject } from "./scratch.js";
import { envelope, makeKey, payload, sampleFlags } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html", ".json": "application/json" };
const key = makeKey("k1");
const config = JSON.stringify({ keys: { [key.id]: key.publicKey }, snapshotUrl: "/snapshot.json" });
const snapshot = JSON.stringify(envelope(key, payload({ flags: sampleFlags(), version: 7 })));

/** The app: createClient from `entry`, one evaluation, the result in #out. No top-level await (iife). */
const app = (entry) => `import { createClient } from "${entry}";
const out = document.getElementById("out");
fetch("/config.json")
  .then((r) => r.json())
  .then(({ keys, snapshotUrl }) => createClient({ environment: "production", keys, snapshotUrl, autoRefresh: false, autoFlush: false }))
  .then((client) => {
    const d = client.details("new-checkout", { targetingKey: "u1", plan: "beta" }, false);
    out.textContent = JSON.stringify({ version: client.version, value: d.value, reason: d.reason });
  })
  .catch((e) => { out.textContent = JSON.stringify({ error: e.code ?? e.message, message: e.message }); });
`;
const page = (script) => `<!doctype html><meta charset="utf-8"><title>vexil</title><pre id="out">loading</pre>${script}`;

let project;
let browser;
const servers = [];
const builds = {};

/** Every file under `dir` with its gzipped size (level 9). */
function emitted(dir) {
  const files = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push({ path: relative(dir, path), gzip: gzipSync(readFileSync(path), { level: 9 }).length });
    }
  };
  walk(dir);
  return files;
}

/** Serves `dir` with /config.json and /snapshot.json; resolves to its URL. */
async function serve(dir) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/config.json") return res.writeHead(200, { "content-type": TYPES[".json"] }).end(config);
    if (path === "/snapshot.json") return res.writeHead(200, { "content-type": TYPES[".json"] }).end(snapshot);
    const file = normalize(join(dir, path === "/" ? "index.html" : path));
    let body;
    try {
      if (!file.startsWith(dir)) throw new Error("outside");
      body = readFileSync(file);
    } catch {
      return res.writeHead(404).end();
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
  });
  servers.push(server);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${server.address().port}/`;
}

function runWebpack(options) {
  return new Promise((resolve, reject) =>
    webpack(options, (err, stats) => {
      if (err) return reject(err);
      if (stats.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })));
      resolve(stats);
    }),
  );
}

before(async () => {
  project = scratchProject();
  const dir = (name) => {
    const d = join(project.dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });

  // Vite: index.html is the entry; its build is the default one.
  const vite = dir("vite-app");
  writeFileSync(join(vite, "main.js"), app("vexil"));
  writeFileSync(join(vite, "index.html"), page('<script type="module" src="./main.js"></script>'));
  await viteBuild({ root: vite, logLevel: "silent", configFile: false });
  builds.vite = join(vite, "dist");

  // Vite again with one pure import: `sideEffects` lets the engine and its wasm go.
  const shaken = dir("vite-shaken");
  writeFileSync(join(shaken, "main.js"), 'import { isPrivate } from "vexil";\ndocument.title = String(isPrivate("a.b", ["a.*"]));\n');
  writeFileSync(join(shaken, "index.html"), page('<script type="module" src="./main.js"></script>'));
  await viteBuild({ root: shaken, logLevel: "silent", configFile: false });
  builds.shaken = join(shaken, "dist");

  // webpack 5: ./src/index.js to ./dist/main.js, production mode (as the CLI run in the app).
  const wp = dir("webpack-app");
  mkdirSync(join(wp, "src"));
  writeFileSync(join(wp, "src", "index.js"), app("vexil"));
  await runWebpack({ mode: "production", context: wp, output: { path: join(wp, "dist") } });
  writeFileSync(join(wp, "dist", "index.html"), page('<script src="main.js"></script>'));
  builds.webpack = join(wp, "dist");

  // esbuild's default output for the browser (iife), minified: `vexil/inline` runs...
  const es = dir("esbuild-app");
  writeFileSync(join(es, "inline.js"), app("vexil/inline"));
  writeFileSync(join(es, "plain.js"), app("vexil"));
  const inline = await esbuild.build({ absWorkingDir: es, entryPoints: ["inline.js"], bundle: true, minify: true, outfile: "dist/main.js", logLevel: "silent" });
  writeFileSync(join(es, "dist", "index.html"), page('<script src="main.js"></script>'));
  builds.esbuild = join(es, "dist");
  // ... and plain `vexil` builds too (no top-level await), failing at run time with a
  // message that names `vexil/inline` rather than a 404.
  const plain = await esbuild.build({ absWorkingDir: es, entryPoints: ["plain.js"], bundle: true, minify: true, outfile: "plain/main.js", logLevel: "silent" });
  writeFileSync(join(es, "plain", "index.html"), page('<script src="main.js"></script>'));
  builds.esbuildPlain = join(es, "plain");
  assert.deepEqual([inline.errors, plain.errors], [[], []]);
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  project?.cleanup();
});

/** Opens the app built into `dir`; its #out as JSON, and the page errors. */
async function run(dir) {
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(e.message));
  tab.on("response", (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await tab.goto(await serve(dir));
  await tab.waitForFunction(() => document.getElementById("out").textContent !== "loading", null, { timeout: 15_000 });
  const result = JSON.parse(await tab.textContent("#out"));
  await tab.close();
  return { result, errors };
}

const EXPECTED = { version: 7, value: true, reason: "TARGETING_MATCH" };

for (const [name, wasmAsset] of [["vite", true], ["webpack", true], ["esbuild", false]]) {
  test(`${name}: the default build finds the wasm and evaluates in Chromium`, async (t) => {
    const files = emitted(builds[name]).filter((f) => !f.path.endsWith(".html"));
    assert.equal(files.some((f) => f.path.endsWith(".wasm")), wasmAsset, files.map((f) => f.path).join(", "));
    const { result, errors } = await run(builds[name]);
    assert.deepEqual(errors, []);
    assert.deepEqual(result, EXPECTED);
    const js = files.filter((f) => f.path.endsWith(".js")).reduce((n, f) => n + f.gzip, 0);
    const wasm = files.filter((f) => f.path.endsWith(".wasm")).reduce((n, f) => n + f.gzip, 0);
    t.diagnostic(`${name}: ${files.map((f) => `${f.path} ${f.gzip} B`).join(", ")}; gzipped js ${js} B + wasm ${wasm} B = ${js + wasm} B`);
  });
}

test("esbuild with plain `vexil`: builds as iife, and says at run time to use vexil/inline", async () => {
  const { result } = await run(builds.esbuildPlain);
  assert.equal(result.error, "NO_WASM_URL");
  assert.match(result.message, /vexil\/inline/);
});

test("sideEffects: an app importing only isPrivate bundles neither the engine nor a reference to its wasm", () => {
  // (Vite still copies the asset into dist when it meets the URL, but nothing loads it.)
  const scripts = emitted(builds.shaken).filter((f) => f.path.endsWith(".js"));
  assert.equal(scripts.length, 1);
  const code = readFileSync(join(builds.shaken, scripts[0].path), "utf8");
  assert.doesNotMatch(code, /vexil_bg|WebAssembly/);
  assert.ok(scripts[0].gzip < 1_000, `${scripts[0].gzip} bytes gzipped for isPrivate alone`);
});
