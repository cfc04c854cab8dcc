// `make demo`, part two: the edge worker on local workerd (miniflare), two variant
// origins, a progressive rollout of `new-checkout`, and simulated visitors, so you
// can watch the rollout advance stage by stage on real edge metrics.
// Usage: node scripts/demo-edge.mjs SERVER_URL TOKENS_JSON
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { localWorker } from "../worker/local.js";
import { startExampleSite } from "../www/examples/site.mjs";
import { describe, simulatedLatency } from "./demo-lib.mjs";

const [server, tokensPath] = process.argv.slice(2);
if (!tokensPath) {
  console.error("usage: node scripts/demo-edge.mjs SERVER_URL TOKENS_JSON");
  process.exit(2);
}
// tokens.json holds each token with its roles; the scripts need the secrets.
const tokens = Object.fromEntries(Object.entries(JSON.parse(readFileSync(tokensPath, "utf8"))).map(([name, t]) => [name, t.token]));
const workerPort = Number(process.env.VEXIL_DEMO_WORKER_PORT ?? 8787);
const sitePort = Number(process.env.VEXIL_DEMO_SITE_PORT ?? 8790);
const stageDuration = process.env.VEXIL_DEMO_STAGE ?? "20s";

async function api(token, method, path, body) {
  const response = await fetch(`${server}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${answer?.error?.message ?? response.status}`);
  return answer;
}

// The variants' simulated latencies: the new checkout is a little slower, never broken.
const LATENCY_MS = { "classic checkout": 8, "new checkout": 15 };

function variantOrigin(name) {
  return new Promise((resolve) => {
    const s = createServer((req, res) => {
      // Each answer reports the variant's own simulated time (Server-Timing), which the
      // worker tracks instead of the round trip: a busy machine cannot fail the
      // latency guard, only the feature can.
      const latency = simulatedLatency(LATENCY_MS[name]);
      res.writeHead(200, { "content-type": "text/html", "server-timing": `app;dur=${latency};desc="simulated ${name}"` });
      res.end(`<h1>${name}</h1><p>served for ${req.headers["x-user-id"] ?? "a visitor"}</p>`);
    });
    s.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${s.address().port}`));
  });
}

// A flag for the edge-routing example, rolled out progressively.
const expires = new Date(Date.now() + 90 * 86_400_000).toISOString();
await api(tokens.alice, "POST", "/environments/production/flags", {
  flag: {
    key: "new-checkout", name: "New checkout", owner: "web", kind: "release", strategy: "progressive_rollout",
    risk: "medium", expires_at: expires, enabled: true, variants: { on: true, off: false }, off_variant: "off",
    fallthrough: { variant: "off" }, metadata: { owner: "web" },
  },
  reason: "demo",
});
const keyring = (await api(tokens.admin, "GET", "/keys")).keyring;
const classic = await variantOrigin("classic checkout");
const modern = await variantOrigin("new checkout");

const mf = localWorker(
  {
    ENVIRONMENT: "production",
    PUBLIC_KEYS: JSON.stringify(keyring),
    SNAPSHOT_URL: `${server}/api/v1/environments/production/snapshot`,
    METRICS_URL: `${server}/api/v1/metrics`,
    SDK_KEY: tokens.sdk,
    REFRESH_INTERVAL_MS: "1000",
    FLUSH_INTERVAL_MS: "2000",
    ROUTING_FLAG: "new-checkout",
    VARIANT_ORIGINS: JSON.stringify({ on: modern, off: classic }),
  },
  { host: "127.0.0.1", port: workerPort },
);
const edge = (await mf.ready).toString().replace(/\/$/, "");

// The browser SDK's example page, rendered per visitor (`?user=` picks one).
const site = await startExampleSite({
  origin: server, environment: "production", sdkKey: tokens.sdk, keys: keyring, port: sitePort,
  user: (url) => ({ targetingKey: url.searchParams.get("user") || "visitor-1", country: "DE", email: "visitor@example.com" }),
});

const rollout = await api(tokens.alice, "POST", "/environments/production/flags/new-checkout/rollouts", {
  stages: [5, 15, 25, 50, 75, 100], stage_duration: stageDuration, min_samples: 50, reason: "demo rollout",
});

console.log(`
edge worker (workerd): ${edge}
  ${edge}/healthz
  ${edge}/checkout                 (the edge-routing example: try it in a browser, note the cookie)
  curl -X POST ${edge}/ofrep/v1/evaluate/flags/new-checkout -H 'authorization: Bearer ${tokens.sdk}' -d '{"context":{"targetingKey":"me"}}'

browser SDK example (bootstrapped A/B page): ${site.url}/?user=visitor-7
  (try other ?user= values: each visitor sees their variant from the first paint, and the page
  switches within a second when the rollout moves or the flag is killed)
rollout #${rollout.id} of new-checkout started: stages 5 → 15 → 25 → 50 → 75 → 100 %, ${stageDuration} each,
guarded by the seed's thresholds (errors ≤ 1 %, success ≥ 99 %, latency ≤ 100 ms). Simulated visitors are
flowing through the worker; the variant origins report their own simulated latency (new checkout about
${LATENCY_MS["new checkout"]} ms, classic ${LATENCY_MS["classic checkout"]} ms) in Server-Timing, which the worker tracks, so the machine's load does not
decide the rollout. Watch it here or with \`vexil rollout status new-checkout --env production\`.
`);

const countries = ["DE", "FR", "US", "GB", "JP", "BR"];
let visitor = 0;
let stopped = false;
async function visitors() {
  while (!stopped) {
    const batch = [];
    for (let i = 0; i < 10; i++) {
      const id = `visitor-${visitor++ % 5000}`;
      batch.push(
        mf
          .dispatchFetch(`${edge}/checkout`, { headers: { "x-user-id": id }, cf: { country: countries[visitor % countries.length] } })
          .then((r) => r.arrayBuffer())
          .catch(() => {}),
      );
    }
    await Promise.all(batch);
    await new Promise((r) => setTimeout(r, 200));
  }
}
visitors();

let seen = 0;
const timer = setInterval(async () => {
  try {
    const r = await api(tokens.admin, "GET", `/rollouts/${rollout.id}`);
    for (const h of r.history.slice(seen)) console.log(`${h.at}  ${describe(r, h)}`);
    seen = r.history.length;
    if (r.status === "completed" || r.status === "rolled_back") {
      console.log(`rollout ${r.status}. The origin, worker and visitors keep running; Ctrl-C stops everything.`);
      clearInterval(timer);
    }
  } catch (e) {
    console.error(`cannot read the rollout: ${e.message}`);
  }
}, 1000);

async function shutdown() {
  stopped = true;
  clearInterval(timer);
  site.close();
  await mf.dispose();
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
