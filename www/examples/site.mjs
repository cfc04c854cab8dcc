// The server side of the A/B example page, as a site using Vexil would run it: for
// each page view it evaluates the flags for the visitor (the wasm engine in Node,
// from the signed snapshot it fetched with the SDK key) and embeds the signed
// snapshot and that result in the page, so the first paint shows the right variant.
// It serves the page's module and the `vexil` package, and passes the page's metrics
// beacons on to the origin (a same-origin endpoint, as a site would offer).
// Used by `make demo` and by the browser tests.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, normalize, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "../../pkg/node.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

/** Puts `value` into the page's `<script type="application/json" id=ID>` block. */
function fill(html, id, empty, value) {
  // `<` is escaped so no value can close the script element.
  const json = JSON.stringify(value).replace(/</g, "\\u003c");
  return html.replace(`<script type="application/json" id="${id}">${empty}</script>`, `<script type="application/json" id="${id}">${json}</script>`);
}

/**
 * Starts the example site.
 * @param {object} options
 * @param {string} options.origin the origin's URL (`http://127.0.0.1:8080`)
 * @param {string} options.environment the environment the page reads
 * @param {string} options.sdkKey an SDK key of that environment
 * @param {Record<string,string>} options.keys the public keyring
 * @param {(url: URL) => object} options.user the visitor's context for a page view
 * @param {(beacon: {url: string, body: string}) => void} [options.onBeacon] sees each metrics beacon
 * @param {string} [options.host] listen address (default 127.0.0.1)
 * @param {number} [options.port] listen port (default: any free one)
 * @returns {Promise<{url: string, close: () => void}>}
 */
export async function startExampleSite({ origin, environment, sdkKey, keys, user, onBeacon = () => {}, host = "127.0.0.1", port = 0 }) {
  const base = `${origin}/api/v1/environments/${environment}`;
  const page = async (url) => {
    const envelope = await fetch(`${base}/snapshot`, { headers: { authorization: `Bearer ${sdkKey}` } });
    if (!envelope.ok) throw new Error(`the origin answered ${envelope.status} for the snapshot`);
    const signed = await envelope.text();
    const visitor = user(url);
    const serverSide = await createClient({ environment, keys, bootstrap: signed });
    const values = serverSide.evaluateAll(visitor);
    serverSide.close();
    const config = { environment, keys, snapshotUrl: `${base}/snapshot`, eventsUrl: `${base}/events`, metricsUrl: "/metrics", sdkKey, user: visitor };
    const html = await readFile(join(root, "www/examples/ab.html"), "utf8");
    return fill(fill(html, "vexil-config", "{}", config), "vexil-bootstrap", "null", { envelope: JSON.parse(signed), values });
  };
  const site = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://site");
      if (url.pathname === "/metrics" && req.method === "POST") {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks).toString();
        onBeacon({ url: req.url, body });
        const upstream = await fetch(`${origin}/api/v1/metrics${url.search}`, { method: "POST", body });
        return res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
      }
      if (url.pathname === "/favicon.ico") return res.writeHead(204).end();
      if (url.pathname === "/") {
        return res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(await page(url));
      }
      const file = normalize(join(root, url.pathname.startsWith("/pkg/") ? url.pathname : `www/examples${url.pathname}`));
      if (!file.startsWith(join(root, "pkg")) && !file.startsWith(join(root, "www/examples"))) return res.writeHead(404).end();
      const body = await readFile(file).catch(() => null);
      if (body === null) return res.writeHead(404).end();
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "text/plain" }).end(body);
    } catch (e) {
      res.writeHead(502, { "content-type": "text/plain" }).end(`example site: ${e.message}\n`);
    }
  });
  await new Promise((resolve, reject) => {
    site.once("error", reject);
    site.listen(port, host, resolve);
  });
  return { url: `http://${host}:${site.address().port}`, close: () => site.close() };
}
