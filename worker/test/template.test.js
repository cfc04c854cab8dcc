// The worker as a template: it imports `vexil` by name (a `file:` dependency here, the
// published version in a copy), refuses a keyring that can never verify anything at
// start, and `wrangler deploy --dry-run` bundles it, with no network, into what then
// runs on workerd and serves a verified snapshot.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { readSettings } from "../worker.js";
import { localWorker } from "../local.js";
import { envelope, makeKey, payload, sampleFlags } from "../../pkg/test/helpers.js";

const WORKER = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = fileURLToPath(new URL("../../node_modules/.bin/wrangler", import.meta.url));
const key = makeKey("k1");
const good = { ENVIRONMENT: "production", SNAPSHOT_URL: "https://flags.example.com/snapshot", PUBLIC_KEYS: JSON.stringify({ [key.id]: key.publicKey }) };
const cleanups = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

/** The PUBLIC_KEYS value wrangler.toml ships with. */
function templateKeys() {
  return readFileSync(join(WORKER, "wrangler.toml"), "utf8").match(/^PUBLIC_KEYS = '(.*)'$/m)[1];
}

test("the worker imports vexil by name, from a file: dependency", () => {
  assert.match(readFileSync(join(WORKER, "worker.js"), "utf8"), /^import \{[^}]+\} from "vexil";$/m);
  assert.doesNotMatch(readFileSync(join(WORKER, "worker.js"), "utf8"), /\.\.\/pkg/);
  assert.equal(JSON.parse(readFileSync(join(WORKER, "package.json"), "utf8")).dependencies.vexil, "file:../pkg");
});

test("placeholder and malformed PUBLIC_KEYS are refused with what to do", () => {
  const refused = (keys) => {
    try {
      readSettings({ ...good, PUBLIC_KEYS: keys });
    } catch (e) {
      assert.equal(e.code, "BAD_CONFIG");
      return e.message;
    }
    assert.fail(`accepted PUBLIC_KEYS ${keys}`);
  };
  assert.match(refused(templateKeys()), /PUBLIC_KEYS\["k20261124-abcdef"\] is still the template's placeholder .*api\/v1\/keys/);
  assert.match(refused('{"k1": "not base64!"}'), /PUBLIC_KEYS\["k1"\] is not standard base64/);
  assert.match(refused(JSON.stringify({ k1: Buffer.alloc(16).toString("base64") })), /decodes to 16 bytes; an Ed25519 public key is 32/);
  assert.match(refused('{"k1": 7}'), /must be a base64 string/);
  assert.match(refused('["k1"]'), /must be a keyring/);
  assert.match(refused("{}"), /must be a keyring/);
  assert.match(refused("{k1:"), /PUBLIC_KEYS is not JSON/);
  assert.deepEqual(readSettings(good).keys, { [key.id]: key.publicKey });
});

test("on workerd, the template's placeholder keys answer every request with the reason", async () => {
  const mf = localWorker({ ...good, PUBLIC_KEYS: templateKeys() });
  cleanups.push(() => mf.dispose());
  for (const path of ["/healthz", "/ofrep/v1/evaluate/flags", "/checkout"]) {
    const r = await mf.dispatchFetch(`http://edge${path}`, { method: path.startsWith("/ofrep") ? "POST" : "GET", body: path.startsWith("/ofrep") ? "{}" : undefined });
    assert.equal(r.status, 500, path);
    const body = await r.json();
    assert.equal(body.error.code, "BAD_CONFIG");
    assert.match(body.error.message, /template's placeholder/);
  }
});

/** Whether this machine can run a command in a network namespace of its own (no network). */
function canIsolateNetwork() {
  try {
    execFileSync("unshare", ["-n", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("wrangler deploy --dry-run bundles the template offline, and the bundle serves on workerd", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "vexil-wrangler-"));
  cleanups.push(() => rmSync(out, { recursive: true, force: true }));
  const args = [WRANGLER, "deploy", "--dry-run", "--outdir", out];
  const isolated = canIsolateNetwork();
  if (!isolated) t.diagnostic("unshare -n is not permitted here: the dry run ran with the network");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_UPDATE_NOTIFIER: "1" };
  const { stdout } = await promisify(execFile)(isolated ? "unshare" : WRANGLER, isolated ? ["-n", ...args] : args.slice(1), { cwd: WORKER, env, encoding: "utf8" });
  assert.match(stdout, /--dry-run: exiting now/);
  assert.match(stdout, /env\.PUBLIC_KEYS/);
  const files = readdirSync(out);
  const wasm = files.find((f) => f.endsWith("vexil_bg.wasm"));
  assert.ok(files.includes("worker.js") && wasm, files.join(", "));
  const bundle = readFileSync(join(out, "worker.js"), "utf8");
  assert.deepEqual([...bundle.matchAll(/^import .* from "(.*)";$/gm)].map((m) => m[1]), [`./${wasm}`]);

  // What wrangler would upload, on workerd with a real keyring and a signed snapshot.
  const snapshot = JSON.stringify(envelope(key, payload({ flags: sampleFlags(), version: 9 })));
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(snapshot));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => server.close());
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(out, "worker.js"),
    modulesRoot: out,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    bindings: { ...good, SNAPSHOT_URL: `http://127.0.0.1:${server.address().port}/snapshot` },
    compatibilityDate: "2025-01-01",
  });
  cleanups.push(() => mf.dispose());
  const health = await (await mf.dispatchFetch("http://edge/healthz")).json();
  assert.deepEqual([health.status, health.version, health.keyId], ["ok", 9, key.id]);
  const r = await mf.dispatchFetch("http://edge/ofrep/v1/evaluate/flags/new-checkout", { method: "POST", body: JSON.stringify({ context: { targetingKey: "u1", plan: "beta" } }) });
  assert.deepEqual(await r.json(), { key: "new-checkout", value: true, reason: "TARGETING_MATCH", variant: "on", metadata: { team: "payments", ruleId: "beta" } });
});
