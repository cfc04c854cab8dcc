// Vexil's edge worker (Cloudflare module worker, built on the `vexil` package), also a
// template: copy this folder, depend on the published `vexil` and deploy with wrangler.
//
// One client per isolate: it verifies the signed snapshot against PUBLIC_KEYS,
// evaluates locally, refreshes in the background (stale-while-revalidate through
// ctx.waitUntil) and sends aggregated metrics back to the origin. Any failure to
// fetch or verify keeps the last known good snapshot serving.
//
// Endpoints:
//   POST /ofrep/v1/evaluate/flags/{key}   OFREP single evaluation
//   POST /ofrep/v1/evaluate/flags         OFREP bulk evaluation (ETag / 304)
//   GET  /ofrep/v1/configuration          OFREP provider configuration
//   GET  /healthz                         snapshot version, age, staleness, refresh state
//   anything else                         the edge-routing example (ROUTING_FLAG)
// OFREP and /healthz answer CORS preflights and carry CORS headers (cors.js).
import { Client, VexilError } from "vexil";
import { isPreflight, parseCorsOrigins, preflight, withCors } from "./cors.js";

const UNIT_COOKIE = "vexil_uid";

/** Reads and checks the worker's bindings; throws a VexilError naming what is wrong. */
export function readSettings(env) {
  const fail = (message) => {
    throw new VexilError("BAD_CONFIG", message);
  };
  const environment = env.ENVIRONMENT;
  if (!environment) fail("ENVIRONMENT is not set (the environment whose snapshot this worker serves)");
  let keys;
  try {
    keys = typeof env.PUBLIC_KEYS === "string" ? JSON.parse(env.PUBLIC_KEYS) : env.PUBLIC_KEYS;
  } catch (e) {
    fail(`PUBLIC_KEYS is not JSON: ${e.message}`);
  }
  if (!keys || typeof keys !== "object" || Array.isArray(keys) || Object.keys(keys).length === 0) {
    fail('PUBLIC_KEYS must be a keyring: {"key-id": "<base64 Ed25519 public key>"} (GET /api/v1/keys on the origin)');
  }
  for (const [id, key] of Object.entries(keys)) checkPublicKey(id, key, fail);
  if (!env.SNAPSHOT_URL && !env.SNAPSHOT_KV) fail("set SNAPSHOT_URL (an HTTP URL) or bind SNAPSHOT_KV (a Workers KV namespace)");
  const number = (name, fallback) => {
    if (env[name] === undefined || env[name] === "") return fallback;
    const n = Number(env[name]);
    if (!Number.isFinite(n) || n < 0) fail(`${name} must be a number of milliseconds, not ${JSON.stringify(env[name])}`);
    return n;
  };
  let variantOrigins = {};
  if (env.VARIANT_ORIGINS) {
    try {
      variantOrigins = typeof env.VARIANT_ORIGINS === "string" ? JSON.parse(env.VARIANT_ORIGINS) : env.VARIANT_ORIGINS;
    } catch (e) {
      fail(`VARIANT_ORIGINS is not JSON: ${e.message}`);
    }
  }
  let corsOrigins;
  try {
    corsOrigins = parseCorsOrigins(env.CORS_ORIGINS);
  } catch (e) {
    fail(e.message);
  }
  const ofrepKeys = (env.OFREP_API_KEYS ?? env.SDK_KEY ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  return {
    environment,
    keys,
    snapshotUrl: env.SNAPSHOT_URL,
    kvKey: env.SNAPSHOT_KV_KEY ?? `vexil/${environment}/snapshot`,
    metricsUrl: env.METRICS_URL || undefined,
    sdkKey: env.SDK_KEY || undefined,
    refreshIntervalMs: number("REFRESH_INTERVAL_MS", 15_000),
    // A hung origin must not hold the refresh (or a cold isolate's first request) for
    // long: edge and origin are close, and the last known good keeps serving.
    requestTimeoutMs: number("REQUEST_TIMEOUT_MS", 3_000),
    flushIntervalMs: number("FLUSH_INTERVAL_MS", 10_000),
    ofrepKeys,
    ofrepRate: number("OFREP_RATE_LIMIT", 0),
    ofrepBurst: number("OFREP_BURST", 0),
    corsOrigins,
    routingFlag: env.ROUTING_FLAG ?? "new-checkout",
    variantOrigins,
    dimensions: ["country"],
    bootstrap: env.BOOTSTRAP_SNAPSHOT || undefined,
  };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Refuses a keyring entry that can never verify a snapshot — the template's
 * placeholder, text that is not base64, a key of the wrong length — at start, rather
 * than as a rejected snapshot on every refresh.
 */
function checkPublicKey(id, key, fail) {
  const where = `PUBLIC_KEYS[${JSON.stringify(id)}]`;
  if (typeof key !== "string") fail(`${where} must be a base64 string (an Ed25519 public key), not ${JSON.stringify(key)}`);
  if (/[<>]/.test(key)) {
    fail(`${where} is still the template's placeholder ${JSON.stringify(key)}: set PUBLIC_KEYS to the origin's keyring (curl https://<origin>/api/v1/keys | jq .keyring)`);
  }
  if (!BASE64.test(key) || key.length % 4 !== 0) fail(`${where} is not standard base64: ${JSON.stringify(key)}`);
  const bytes = atob(key).length;
  if (bytes !== 32) fail(`${where} decodes to ${bytes} bytes; an Ed25519 public key is 32`);
}

/** A fetch that reads the snapshot from Workers KV, answering 304 when unchanged. */
export function kvFetch(kv, key) {
  return async (_url, init = {}) => {
    const value = await kv.get(key, "arrayBuffer");
    if (value === null) return new Response(`no snapshot under KV key ${key}`, { status: 404 });
    const digest = await crypto.subtle.digest("SHA-256", value);
    const etag = `"${[...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
    const headers = init.headers ?? {};
    if (headers["if-none-match"] === etag) return new Response(null, { status: 304, headers: { etag } });
    return new Response(value, { status: 200, headers: { etag } });
  };
}

/** The isolate's client and what it has seen. */
class Edge {
  constructor(settings, env) {
    this.settings = settings;
    this.lastFlush = Date.now();
    this.info = null;
    this.client = new Client({
      snapshotUrl: settings.snapshotUrl ?? "kv:",
      fetch: settings.snapshotUrl ? undefined : kvFetch(env.SNAPSHOT_KV, settings.kvKey),
      environment: settings.environment,
      keys: settings.keys,
      sdkKey: settings.sdkKey,
      metricsUrl: settings.metricsUrl,
      refreshIntervalMs: settings.refreshIntervalMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      dimensions: settings.dimensions,
      bootstrap: settings.bootstrap,
      // Workers run code only inside requests: refresh and flush are driven from
      // fetch() through ctx.waitUntil, never by timers.
      autoRefresh: false,
      autoFlush: false,
    });
    this.client.on("update", (info) => {
      this.info = info;
    });
    this.started = this.client.start();
  }

  /** Waits for the first snapshot unless a bootstrap already serves. */
  async ready(ctx) {
    if (this.client.ready) {
      ctx.waitUntil(this.client.refreshIfDue());
      return;
    }
    await this.started;
    // Still nothing (the origin was down at start): try again, at most once per
    // refresh interval, rather than on every request.
    if (!this.client.ready) await this.client.refreshIfDue();
  }

  /** Sends metrics when the flush interval has passed. */
  flushIfDue(ctx) {
    if (!this.settings.metricsUrl) return;
    if (Date.now() - this.lastFlush < this.settings.flushIntervalMs) return;
    this.lastFlush = Date.now();
    ctx.waitUntil(this.client.flush());
  }
}

let edge = null;
let edgeConfig = null;

function edgeFor(env) {
  // Bindings are fixed for an isolate's life, but tests swap them: rebuild on change.
  const config = JSON.stringify([env.ENVIRONMENT, env.PUBLIC_KEYS, env.SNAPSHOT_URL, env.METRICS_URL, env.SDK_KEY, env.REFRESH_INTERVAL_MS, env.FLUSH_INTERVAL_MS, env.ROUTING_FLAG, env.VARIANT_ORIGINS, env.OFREP_API_KEYS, env.CORS_ORIGINS, env.REQUEST_TIMEOUT_MS]);
  if (edge === null || edgeConfig !== config) {
    edge = new Edge(readSettings(env), env);
    edgeConfig = config;
  }
  return edge;
}

function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

// ---- OFREP -------------------------------------------------------------------------

/** Most keys the limiter keeps buckets for (Rust `ofrep::MAX_RATE_KEYS`). Not
 * exported: workerd takes every export of the main module for an entry point. */
const MAX_RATE_KEYS = 10_000;

/**
 * A token bucket per API key, per isolate: `rate` requests a second, bursts of
 * `burst`. The arithmetic of Rust's `ofrep::RateLimiter`, which the origin uses;
 * kept in JS here because in the wasm module it would cost 2.8 KB of code. Past
 * MAX_RATE_KEYS keys, buckets that filled up again are forgotten (a new bucket starts
 * full, so no answer changes), all of them if none has: unknown keys cannot grow it.
 */
export function rateLimiter(rate, burst) {
  const buckets = new Map();
  const refilled = (b, now) => Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
  /** 0, or the seconds to wait when `key` has no token left at `now` (ms). */
  return (key, now) => {
    if (buckets.size >= MAX_RATE_KEYS && !buckets.has(key)) {
      for (const [k, b] of buckets) if (refilled(b, now) >= burst) buckets.delete(k);
      if (buckets.size >= MAX_RATE_KEYS) buckets.clear();
    }
    const b = buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = refilled(b, now);
    b.at = now;
    buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate));
  };
}
rateLimiter.MAX_KEYS = MAX_RATE_KEYS;

/** The isolate's limiter for its settings (made on first use). */
let limiter = null;
let limiterFor = null;
function rateLimited(key, settings) {
  if (!settings.ofrepRate) return 0;
  if (limiterFor !== settings) {
    limiter = rateLimiter(settings.ofrepRate, settings.ofrepBurst || settings.ofrepRate * 2);
    limiterFor = settings;
  }
  return limiter(key, Date.now());
}

function authorised(request, settings) {
  if (settings.ofrepKeys.length === 0) return true;
  const bearer = request.headers.get("authorization")?.replace(/^Bearer\s+/i, "");
  const apiKey = request.headers.get("x-api-key");
  return settings.ofrepKeys.some((k) => k === bearer || k === apiKey);
}

/** The request's evaluation context, or an OFREP failure body. */
async function ofrepContext(request) {
  let body;
  try {
    body = await request.json();
  } catch {
    return { error: { errorCode: "PARSE_ERROR", errorDetails: "the request body is not JSON" } };
  }
  const context = body?.context;
  if (context === null || typeof context !== "object" || Array.isArray(context)) {
    return { error: { errorCode: "INVALID_CONTEXT", errorDetails: "the body must be {\"context\": {...}}" } };
  }
  return { context };
}

/** An answer the engine wrote as JSON text. */
function jsonText(body, status = 200, headers = {}) {
  return new Response(body, { status, headers: { "content-type": "application/json", ...headers } });
}

// The results are shaped by the wasm module (Rust `ofrep`), as the origin shapes its own.
async function ofrepSingle(request, edge, key) {
  const { context, error } = await ofrepContext(request);
  if (error) return json({ key, ...error }, 400);
  const { status, body } = edge.client.ofrep(key, context);
  return jsonText(body, status);
}

/** Stable JSON (sorted keys) for hashing a context. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function ofrepBulk(request, edge) {
  const { context, error } = await ofrepContext(request);
  if (error) return json(error, 400);
  if (!edge.client.ready) return json({ errorDetails: "no snapshot has been loaded yet" }, 500);
  // The answer depends on the snapshot and the context: the ETag names both.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical(context)));
  const hash = [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const etag = `"${edge.client.version}-${hash}"`;
  const inm = request.headers.get("if-none-match");
  if (inm && inm.split(",").some((t) => t.trim() === etag)) return new Response(null, { status: 304, headers: { etag } });
  const { status, body } = edge.client.ofrep(undefined, context);
  return jsonText(body, status, { etag });
}

/** The OFREP provider configuration, as the origin answers it. */
const OFREP_CONFIGURATION = {
  name: "vexil",
  capabilities: {
    cacheInvalidation: { polling: { enabled: true, minPollingIntervalMs: 1000 } },
    flagEvaluation: { supportedTypes: ["boolean", "string", "integer", "double", "object"] },
  },
};

async function ofrep(request, edge, url) {
  if (url.pathname === "/ofrep/v1/configuration") {
    if (request.method !== "GET") return json({ errorDetails: "the OFREP configuration takes GET" }, 405, { allow: "GET, OPTIONS" });
    return json(OFREP_CONFIGURATION);
  }
  if (!url.pathname.startsWith("/ofrep/v1/evaluate/flags")) return json({ errorDetails: `no OFREP route ${url.pathname}` }, 404);
  if (request.method !== "POST") return json({ errorDetails: "OFREP evaluation takes POST" }, 405, { allow: "POST, OPTIONS" });
  if (!authorised(request, edge.settings)) {
    return json({ errorDetails: "missing or unknown API key (Authorization: Bearer or X-API-Key)" }, 401);
  }
  const wait = rateLimited(request.headers.get("authorization") ?? request.headers.get("x-api-key") ?? "", edge.settings);
  if (wait) return json({ errorDetails: `rate limit exceeded; retry in ${wait} s` }, 429, { "retry-after": String(wait) });
  if (url.pathname === "/ofrep/v1/evaluate/flags" || url.pathname === "/ofrep/v1/evaluate/flags/") return ofrepBulk(request, edge);
  const key = decodeURIComponent(url.pathname.slice("/ofrep/v1/evaluate/flags/".length));
  return ofrepSingle(request, edge, key);
}

// ---- Health ------------------------------------------------------------------------

function health(edge) {
  const info = edge.info;
  const now = Date.now();
  const body = {
    status: !edge.client.ready ? "not_ready" : edge.client.stale ? "stale" : "ok",
    environment: edge.settings.environment,
    version: edge.client.version,
    keyId: info?.keyId ?? null,
    issuedAt: info?.issuedAt ? new Date(info.issuedAt).toISOString() : null,
    ageSeconds: info?.issuedAt ? Math.round((now - info.issuedAt) / 1000) : null,
    expiresAt: info?.expiresAt ? new Date(info.expiresAt).toISOString() : null,
    stale: edge.client.stale,
    lastError: edge.client.lastError ? { code: edge.client.lastError.code, message: edge.client.lastError.message } : null,
    // A refresh still waiting on the origin (a hang shows here before it times out
    // into lastError TIMEOUT).
    refreshingSince: edge.client.refreshingSince ? new Date(edge.client.refreshingSince).toISOString() : null,
    requestTimeoutMs: edge.settings.requestTimeoutMs,
    pendingMetricBatches: edge.client.pendingBatches,
  };
  return json(body, edge.client.ready ? 200 : 503);
}

// ---- The edge-routing example ------------------------------------------------------

function cookie(request, name) {
  const header = request.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

/** The `dur` of the `app` metric of a Server-Timing header, in milliseconds. */
export function appDuration(header) {
  for (const metric of (header ?? "").split(",")) {
    const [name, ...params] = metric.split(";").map((p) => p.trim());
    if (name !== "app") continue;
    const dur = params.find((p) => p.startsWith("dur="));
    const ms = dur === undefined ? NaN : Number(dur.slice(4));
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  return null;
}

/**
 * Routes a request by a flag: the unit is the `vexil_uid` cookie or the `x-user-id`
 * header (else a new id, made sticky with a cookie); the context adds the visitor's
 * country (`request.cf.country`), address (`remoteAddress`, from `CF-Connecting-IP`,
 * for `in_cidr` rules) and user agent. The variant picks an origin from
 * VARIANT_ORIGINS (proxied, and its outcome tracked for the rollout guards), or, when
 * none is configured, is described in JSON. Either way the answer carries an
 * `x-vexil-variant` header and the sticky cookie.
 */
async function route(request, edge) {
  const url = new URL(request.url);
  const fromCookie = cookie(request, UNIT_COOKIE);
  const unit = fromCookie ?? request.headers.get("x-user-id") ?? crypto.randomUUID();
  const context = {
    targetingKey: unit,
    country: request.cf?.country ?? request.headers.get("x-country") ?? undefined,
    remoteAddress: request.headers.get("cf-connecting-ip") ?? undefined,
    userAgent: request.headers.get("user-agent") ?? undefined,
    path: url.pathname,
  };
  const flag = edge.settings.routingFlag;
  const d = edge.client.details(flag, context, null);
  const variant = d.variant ?? "default";
  const target = edge.settings.variantOrigins[variant];
  let response;
  if (target) {
    // The variant's origin may carry a path prefix: {"on": "https://shop.example/v2"}
    // sends /checkout to https://shop.example/v2/checkout (a path rewrite).
    const upstream = new URL(String(target).replace(/\/$/, "") + url.pathname + url.search);
    const started = Date.now();
    try {
      const answer = await fetch(upstream, { method: request.method, headers: request.headers, body: ["GET", "HEAD"].includes(request.method) ? undefined : request.body });
      // The variant's own time when its origin reports one (`Server-Timing: app;dur=N`),
      // else the round trip: the latency guard then judges the feature, not the network.
      const latencyMs = appDuration(answer.headers.get("server-timing")) ?? Date.now() - started;
      edge.client.track("request", context, { success: answer.status < 500, latencyMs, flags: [flag] });
      response = new Response(answer.body, answer);
    } catch (e) {
      edge.client.track("request", context, { success: false, latencyMs: Date.now() - started, flags: [flag] });
      response = json({ error: `the ${variant} origin is unreachable: ${e.message}` }, 502);
    }
  } else {
    response = json({ flag, variant: d.variant ?? null, value: d.value, reason: d.reason, unit, country: context.country ?? null });
  }
  response = new Response(response.body, response);
  response.headers.set("x-vexil-variant", `${flag}=${variant}`);
  if (fromCookie !== unit) {
    response.headers.append("set-cookie", `${UNIT_COOKIE}=${encodeURIComponent(unit)}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly; Secure`);
  }
  return response;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const isOfrep = url.pathname.startsWith("/ofrep/v1/");
    const browserFacing = isOfrep || url.pathname === "/healthz";
    let edge;
    try {
      // Preflights carry no credentials and need no snapshot: answered from the
      // settings alone. (Not through the isolate's client: a first fetch started in
      // a request that ends at once would leave the next request waiting on it.)
      if (browserFacing && isPreflight(request)) {
        return preflight(request, readSettings(env).corsOrigins, isOfrep ? "GET, POST, OPTIONS" : "GET, OPTIONS");
      }
      edge = edgeFor(env);
    } catch (e) {
      return json({ error: { code: e.code ?? "BAD_CONFIG", message: e.message } }, 500);
    }
    await edge.ready(ctx);
    let response;
    if (url.pathname === "/healthz") {
      response = health(edge);
    } else if (isOfrep) {
      response = await ofrep(request, edge, url);
    } else {
      response = await route(request, edge);
    }
    edge.flushIfDue(ctx);
    return browserFacing ? withCors(request, response, edge.settings.corsOrigins) : response;
  },
};
