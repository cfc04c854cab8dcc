// Test helpers: an independent Ed25519 signer (node:crypto) over payloads the CLI
// encodes (`vexil snapshot payload`), and a local snapshot server.
import { generateKeyPairSync, sign } from "node:crypto";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

export const FORMAT = "vexil-snapshot/2";
/** The CLI this repository builds (`cargo build --bin vexil`). */
export const VEXIL = fileURLToPath(new URL("../../target/debug/vexil", import.meta.url));

/** A fresh Ed25519 key pair: `{id, publicKey (base64 raw), privateKey (KeyObject)}`. */
export function makeKey(id = "k1") {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  return { id, publicKey: raw.toString("base64"), privateKey };
}

/**
 * The binary payload of a payload object (`payload()`'s shape: a flags document with
 * environment, version and times), encoded by the CLI.
 */
export function encode(p) {
  const issued = Date.parse(p.issued_at);
  const ttl = Math.max(0, Date.parse(p.expires_at) - issued);
  const doc = JSON.stringify({ flags: p.flags ?? [], segments: p.segments ?? {}, exclusion_groups: p.exclusion_groups ?? {} });
  return execFileSync(VEXIL, ["snapshot", "payload", "-", "--env", p.environment, "--version", String(p.version),
    "--issued-at", new Date(issued).toISOString(), "--expires-in", `${ttl}ms`, "--out", "-"], { input: doc, maxBuffer: 1 << 28 });
}

/** Signs a payload object (or exact payload bytes) into an envelope object. */
export function envelope(key, payload) {
  const bytes = Buffer.isBuffer(payload) ? payload : encode(payload);
  const signature = sign(null, Buffer.concat([Buffer.from(FORMAT + "\n"), bytes]), key.privateKey);
  return { format: FORMAT, key_id: key.id, payload: bytes.toString("base64"), signature: signature.toString("base64") };
}

const HOUR = 3600_000;

/** A payload around `flags`, for `environment`, `version`, valid for an hour from `now`. */
export function payload({ flags = [], segments = {}, exclusion_groups = {}, environment = "production", version = 1, now = Date.now(), ttlMs = HOUR } = {}) {
  return {
    environment,
    version,
    issued_at: new Date(now).toISOString(),
    expires_at: new Date(now + ttlMs).toISOString(),
    flags,
    segments,
    exclusion_groups,
  };
}

/** A small flag set exercising every value type and reason used in the tests. */
export function sampleFlags() {
  return [
    {
      key: "new-checkout", kind: "release", enabled: true,
      variants: { on: true, off: false }, off_variant: "off",
      rules: [
        { id: "beta", when: { attr: "plan", op: "in", values: ["beta"] }, serve: { variant: "on" } },
        { id: "half", when: { attr: "country", op: "eq", values: ["DE"] }, serve: { rollout: { weights: { on: 50, off: 50 } } } },
      ],
      fallthrough: { variant: "off" },
      metadata: { team: "payments" },
    },
    {
      key: "banner-text", variants: { a: "Hello", b: "Welcome" }, off_variant: "a",
      fallthrough: { variant: "b" },
    },
    { key: "max-items", variants: { low: 10, high: 50 }, off_variant: "low", fallthrough: { variant: "high" } },
    { key: "theme", variants: { dark: { bg: "#000", fg: "#fff" } }, off_variant: "dark", fallthrough: { variant: "dark" } },
    { key: "killed", enabled: false, variants: { on: true, off: false }, off_variant: "off", fallthrough: { variant: "on" } },
    {
      key: "phi-alerts", audit_evaluations: "all", private_attributes: ["patient"],
      variants: { on: true, off: false }, off_variant: "off",
      access: { attr: "provider.authorized", op: "eq", values: [true] },
      rules: [{ id: "icu", when: { attr: "patient.unit", op: "eq", values: ["icu"] }, serve: { variant: "on" } }],
      fallthrough: { variant: "off" },
    },
  ];
}

/**
 * A local HTTP server standing in for the origin: serves `state.envelope` at
 * /snapshot with a strong ETag, and records metrics POSTs to /metrics.
 */
export async function startOrigin({ sdkKey = "sdk-test" } = {}) {
  const state = {
    envelope: null,
    snapshotStatus: 200,
    metricsStatus: 202,
    snapshotRequests: [],
    metrics: [],
    metricsRequests: 0,
    attempts: [],
  };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString();
    if (req.headers.authorization !== `Bearer ${sdkKey}`) {
      res.writeHead(401).end();
      return;
    }
    if (req.url === "/snapshot" && req.method === "GET") {
      state.snapshotRequests.push({ ifNoneMatch: req.headers["if-none-match"] ?? null });
      if (state.snapshotStatus !== 200) {
        res.writeHead(state.snapshotStatus).end();
        return;
      }
      const text = JSON.stringify(state.envelope);
      const etag = `"${Buffer.from(text).toString("base64url").slice(-24)}-${text.length}"`;
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", etag }).end(text);
      return;
    }
    if (req.url === "/metrics" && req.method === "POST") {
      state.metricsRequests++;
      state.attempts.push(JSON.parse(body).batch_id);
      if (state.metricsStatus >= 400) {
        res.writeHead(state.metricsStatus).end();
        return;
      }
      state.metrics.push({ raw: body, batch: JSON.parse(body) });
      res.writeHead(state.metricsStatus).end();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    state,
    sdkKey,
    snapshotUrl: `${base}/snapshot`,
    metricsUrl: `${base}/metrics`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
