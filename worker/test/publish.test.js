// Publish targets: the origin copies every new snapshot to a directory and pushes it
// to Workers KV through the Cloudflare API (a local stand-in that writes into
// miniflare's KV), and a worker reading that KV namespace serves each new version.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { startOrigin, stopOrigin, api, simpleFlag, eventually, payloadHeader } from "./origin.js";

const TOKEN = "cf-test-token";
let origin, editor, mf, kv, cloudflare, staticDir;
const puts = [];

/** The part of Cloudflare's API the origin uses: PUT a KV value. */
function startCloudflare() {
  return new Promise((resolve) => {
    const server = createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const match = req.url.match(/^\/client\/v4\/accounts\/acct-1\/storage\/kv\/namespaces\/ns-1\/values\/(.+)$/);
      if (req.method !== "PUT" || !match) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ success: false, errors: [{ message: `no route ${req.method} ${req.url}` }] }));
        return;
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(403, { "content-type": "application/json" });
        res.end(JSON.stringify({ success: false, errors: [{ code: 10000, message: "Authentication error" }] }));
        return;
      }
      const key = decodeURIComponent(match[1]);
      puts.push(key);
      await kv.put(key, Buffer.concat(chunks).toString());
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ success: true, errors: [], messages: [], result: null }));
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

before(async () => {
  mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('kv holder') } }",
    kvNamespaces: ["SNAPSHOT_KV"],
    compatibilityDate: "2025-01-01",
  });
  kv = await mf.getKVNamespace("SNAPSHOT_KV");
  cloudflare = await startCloudflare();
  staticDir = mkdtempSync(join(tmpdir(), "vexil-static-"));
  origin = await startOrigin({
    env: { TEST_CF_TOKEN: TOKEN },
    append: `
[[publish.directory]]
path = "${staticDir}"

[[publish.cloudflare_kv]]
account_id = "acct-1"
namespace_id = "ns-1"
api_token_env = "TEST_CF_TOKEN"
api_base = "http://127.0.0.1:${cloudflare.address().port}/client/v4"
`,
  });
  editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "eve", roles: ["editor"] })).token;
});

after(async () => {
  await mf?.dispose();
  cloudflare?.close();
  await stopOrigin(origin);
  rmSync(staticDir, { recursive: true, force: true });
});

test("every environment's newest snapshot lands in the directory and in Workers KV", async () => {
  const version = async () => (await api(origin, editor, "GET", "/environments/production/snapshots")).snapshots[0].version;
  const payloadVersion = (text) => payloadHeader(text).version;
  await eventually(async () => {
    const text = await kv.get("vexil/production/snapshot");
    return text && payloadVersion(text) === (await version());
  }, 10_000, "the first push to KV");
  for (const env of ["development", "staging", "production"]) {
    assert.ok(puts.includes(`vexil/${env}/snapshot`), `${env} pushed`);
  }
  const onDisk = () => payloadVersion(readFileSync(join(staticDir, "production", "snapshot.json"), "utf8"));
  assert.equal(onDisk(), await version());

  // A change publishes a new version; both targets follow.
  await api(origin, editor, "POST", "/environments/production/flags", { flag: simpleFlag("kv-flag") });
  const v = await version();
  await eventually(async () => payloadVersion(await kv.get("vexil/production/snapshot")) === v, 10_000, "the new version in KV");
  await eventually(() => onDisk() === v, 10_000, "the new version on disk");
  const status = await api(origin, origin.admin, "GET", "/publish-targets");
  assert.ok(status.targets.every((t) => t.error === null), JSON.stringify(status));
  assert.equal(status.targets.length, 6);
});
