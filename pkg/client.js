// createClient: the engine plus I/O — snapshot fetching with ETag, refresh,
// last-known-good, bootstrap, and metrics delivery with bounded retry.
import { Engine, VexilError, isPrivate } from "./core.js";
import { readEvents } from "./events.js";

const DEFAULTS = {
  refreshIntervalMs: 15_000,
  flushIntervalMs: 60_000,
  maxQueuedBatches: 20,
  maxBackoffMs: 300_000,
  requestTimeoutMs: 10_000,
};

/**
 * A feature-flag client: fetches the signed snapshot, keeps it fresh, evaluates
 * locally and reports aggregated metrics. Create it with `createClient`.
 */
export class Client {
  #options;
  #engine;
  #fetch;
  #etag = null;
  #lastFetch = 0;
  #inflight = null;
  #inflightSince = null;
  #timers = [];
  #listeners = new Map();
  #queue = [];
  #backoffMs = 0;
  #nextSendAt = 0;
  #bootstrapValues = null;
  #closed = false;
  #context;
  #values = new Map();
  #events = null;
  #unhook = null;
  #definitions = null;
  /** Batches dropped because the send queue was full. */
  droppedBatches = 0;
  /** The last snapshot fetch or load error, if the latest attempt failed. */
  lastError = null;

  constructor(options) {
    this.#options = { ...DEFAULTS, ...options };
    const o = this.#options;
    this.#fetch = o.fetch ?? globalThis.fetch?.bind(globalThis);
    if (o.snapshotUrl !== undefined && typeof this.#fetch !== "function") {
      throw new VexilError("BAD_OPTIONS", "no fetch implementation: pass options.fetch");
    }
    this.#engine = new Engine({
      keys: o.keys,
      environment: o.environment,
      stalePolicy: o.stalePolicy,
      dimensions: o.dimensions,
      privateAttributes: o.privateAttributes,
      auditKey: o.auditKey,
      metrics: o.metricsUrl !== undefined || o.metrics === true,
      now: o.now,
      trace: o.trace,
    });
  }

  /** The underlying engine. */
  get engine() {
    return this.#engine;
  }
  /** Version of the snapshot being served, or null. */
  get version() {
    return this.#engine.version;
  }
  /** True once a verified snapshot is loaded. */
  get ready() {
    return this.#engine.ready;
  }
  /** True when the snapshot being served is past its expiry. */
  get stale() {
    return this.#engine.stale;
  }

  /** Subscribes to "ready", "update" ({version}), "error" (VexilError) or "stale". Returns an unsubscribe function. */
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.#listeners.get(event)?.delete(listener);
  }

  #emit(event, payload) {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        listener(payload);
      } catch {
        // A listener's failure must not break the client.
      }
    }
  }

  /** Loads the bootstrap and the first snapshot (createClient calls it; workers that build the client synchronously call it themselves). */
  async start() {
    const o = this.#options;
    this.#context = o.context;
    if (o.bootstrap !== undefined) this.#applyBootstrap(o.bootstrap);
    if (o.eventsUrl !== undefined) this.#follow();
    if (o.metricsUrl !== undefined && o.flushOnPageHide !== false) this.#hookPageHide();
    if (o.snapshotUrl !== undefined) {
      await this.refresh();
      if (o.autoRefresh !== false && o.refreshIntervalMs > 0) {
        this.#timers.push(unref(setInterval(() => this.refresh(), o.refreshIntervalMs)));
      }
    }
    if (o.metricsUrl !== undefined && o.autoFlush !== false && o.flushIntervalMs > 0) {
      this.#timers.push(unref(setInterval(() => this.flush(), o.flushIntervalMs)));
    }
    return this;
  }

  #applyBootstrap(bootstrap) {
    const value = typeof bootstrap === "string" ? JSON.parse(bootstrap) : bootstrap;
    if (value && value.format !== undefined) {
      this.#load(value, "bootstrap");
    } else if (value && typeof value === "object") {
      // An evaluateAll() result: served until the first verified snapshot arrives.
      this.#bootstrapValues = new Map(Object.entries(value).map(([k, d]) => [k, d]));
    } else {
      throw new VexilError("BAD_OPTIONS", "bootstrap must be a signed snapshot envelope or an evaluateAll() result");
    }
  }

  #load(envelope, source) {
    const wasReady = this.#engine.ready;
    try {
      const info = this.#engine.load(envelope);
      if (this.#options.trackChanges) info.changedFlags = this.#changedFlags();
      this.lastError = null;
      this.#bootstrapValues = null;
      if (!wasReady) this.#emit("ready", info);
      this.#emit("update", info);
      this.#diff();
      if (this.#engine.stale) this.#emit("stale", info);
      return info;
    } catch (e) {
      const error = e instanceof VexilError ? e : new VexilError("GENERAL", String(e?.message ?? e));
      error.source = source;
      this.lastError = error;
      this.#emit("error", error);
      return null;
    }
  }

  /** Keys of the flags whose definitions differ from the previous snapshot's. */
  #changedFlags() {
    const next = this.#engine.flagDigests;
    const previous = this.#definitions ?? new Map();
    const changed = new Set();
    for (const [key, digest] of next) if (previous.get(key) !== digest) changed.add(key);
    for (const key of previous.keys()) if (!next.has(key)) changed.add(key);
    this.#definitions = next;
    return [...changed];
  }

  /**
   * Fetches the snapshot now (If-None-Match with the last ETag). A failed fetch or a
   * rejected snapshot keeps the last known good one and emits "error".
   */
  refresh() {
    if (this.#inflight) return this.#inflight;
    const o = this.#options;
    this.#lastFetch = this.#now();
    this.#inflightSince = this.#lastFetch;
    this.#inflight = (async () => {
      try {
        const headers = { accept: "application/json" };
        if (this.#etag) headers["if-none-match"] = this.#etag;
        if (o.sdkKey) headers.authorization = `Bearer ${o.sdkKey}`;
        const response = await this.#fetch(o.snapshotUrl, { headers, signal: timeout(o.requestTimeoutMs) });
        if (response.status === 304) {
          // The origin answered: whatever failed before (a timeout) is over.
          this.lastError = null;
          if (this.#engine.stale) this.#emit("stale", { version: this.version });
          return;
        }
        if (!response.ok) {
          throw new VexilError("FETCH_FAILED", `snapshot fetch failed: HTTP ${response.status} from ${o.snapshotUrl}`);
        }
        const bytes = new Uint8Array(await response.arrayBuffer());
        if (this.#load(bytes, "fetch")) this.#etag = response.headers.get("etag");
      } catch (e) {
        const error =
          e instanceof VexilError
            ? e
            : e?.name === "TimeoutError"
              ? new VexilError("TIMEOUT", `snapshot fetch timed out after ${o.requestTimeoutMs} ms (requestTimeoutMs): ${o.snapshotUrl}`)
              : new VexilError("FETCH_FAILED", `snapshot fetch failed: ${e?.message ?? e}`);
        this.lastError = error;
        this.#emit("error", error);
      } finally {
        this.#inflight = null;
        this.#inflightSince = null;
      }
    })();
    return this.#inflight;
  }

  /**
   * Sets the context of "change" events (a page's user): after every new snapshot,
   * and now, each flag whose value for it changed is announced with
   * `{key, value, previous, details}`.
   */
  setContext(ctx) {
    this.#context = ctx;
    this.#values = new Map();
    this.#diff();
  }

  #diff() {
    if (this.#context === undefined || !this.#engine.ready) return;
    const all = this.#engine.evaluateAll(this.#context);
    for (const [key, details] of Object.entries(all)) {
      const value = details.value;
      const had = this.#values.has(key);
      const previous = this.#values.get(key);
      this.#values.set(key, value);
      if (!had || JSON.stringify(previous) !== JSON.stringify(value)) {
        this.#emit("change", { key, value, previous: had ? previous : undefined, details });
      }
    }
  }

  /**
   * Follows the origin's server-sent events (`eventsUrl`): a new snapshot version or
   * a kill switch triggers a fetch at once. Reconnects with backoff; polling stays
   * the fallback.
   */
  #follow() {
    const o = this.#options;
    let backoff = 1000;
    const connect = async () => {
      if (this.#closed) return;
      const controller = new AbortController();
      this.#events = controller;
      try {
        const headers = { accept: "text/event-stream" };
        if (o.sdkKey) headers.authorization = `Bearer ${o.sdkKey}`;
        const response = await this.#fetch(o.eventsUrl, { headers, signal: controller.signal });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        backoff = 1000;
        await readEvents(response, (event, payload) => this.#onEvent(event, payload));
      } catch (e) {
        if (this.#closed) return;
        this.#emit("error", new VexilError("EVENTS_FAILED", `event stream failed, reconnecting in ${backoff} ms: ${e?.message ?? e}`));
      }
      if (this.#closed) return;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30_000);
    };
    connect();
  }

  #onEvent(event, payload) {
    if (event !== "snapshot" && event !== "kill") return;
    if (event === "kill" || (payload.version ?? 0) > (this.version ?? 0)) {
      if (event === "kill") this.#emit("kill", payload);
      this.refresh();
    }
  }

  /** In a page: send what is left when it is hidden or unloaded (sendBeacon). */
  #hookPageHide() {
    const doc = globalThis.document;
    if (!doc || typeof globalThis.addEventListener !== "function") return;
    const onHide = () => {
      if (doc.visibilityState === "hidden") this.flushBeacon();
    };
    const onPageHide = () => this.flushBeacon();
    doc.addEventListener("visibilitychange", onHide);
    globalThis.addEventListener("pagehide", onPageHide);
    this.#unhook = () => {
      doc.removeEventListener("visibilitychange", onHide);
      globalThis.removeEventListener("pagehide", onPageHide);
    };
  }

  /**
   * Sends queued metrics with `navigator.sendBeacon` (which survives the page going
   * away), or `fetch(..., {keepalive: true})` where there is none. Beacons cannot
   * carry headers, so the SDK key travels as `?key=`. Returns true if handed over.
   */
  flushBeacon() {
    const o = this.#options;
    if (o.metricsUrl === undefined) return false;
    const batch = this.#engine.takeMetrics();
    if (batch) this.#queue.push(JSON.stringify(batch));
    if (this.#queue.length === 0) return true;
    const url = new URL(o.metricsUrl, globalThis.location?.href);
    if (o.sdkKey) url.searchParams.set("key", o.sdkKey);
    let sent = true;
    while (this.#queue.length > 0 && sent) {
      const body = this.#queue[0];
      const beacon = globalThis.navigator?.sendBeacon;
      if (typeof beacon === "function") {
        sent = beacon.call(globalThis.navigator, url.href, new Blob([body], { type: "text/plain" }));
      } else {
        this.#fetch(url.href, { method: "POST", body, keepalive: true, headers: { "content-type": "text/plain" } }).catch(() => {});
      }
      if (sent) this.#queue.shift();
    }
    return sent;
  }

  /** When the snapshot fetch still in flight began (epoch ms), or null: a hung origin shows here. */
  get refreshingSince() {
    return this.#inflightSince;
  }

  /** Starts a refresh when the refresh interval has passed (for workers: `ctx.waitUntil(client.refreshIfDue())`). */
  refreshIfDue() {
    if (this.#now() - this.#lastFetch >= this.#options.refreshIntervalMs) return this.refresh();
    return this.#inflight ?? Promise.resolve();
  }

  #now() {
    return (this.#options.now ?? Date.now)();
  }

  #bootstrapped(key, defaultValue) {
    const d = this.#bootstrapValues?.get(key);
    if (d === undefined) return defaultValue;
    return d !== null && typeof d === "object" && "value" in d ? d.value ?? defaultValue : d;
  }

  /** The boolean value of `key` for `ctx`, or `defaultValue`. */
  boolean(key, ctx, defaultValue) {
    return this.#engine.ready ? this.#engine.boolean(key, ctx, defaultValue) : this.#bootstrapped(key, defaultValue);
  }
  /** The string value of `key` for `ctx`, or `defaultValue`. */
  string(key, ctx, defaultValue) {
    return this.#engine.ready ? this.#engine.string(key, ctx, defaultValue) : this.#bootstrapped(key, defaultValue);
  }
  /** The number value of `key` for `ctx`, or `defaultValue`. */
  number(key, ctx, defaultValue) {
    return this.#engine.ready ? this.#engine.number(key, ctx, defaultValue) : this.#bootstrapped(key, defaultValue);
  }
  /** The JSON value of `key` for `ctx`, or `defaultValue`. */
  json(key, ctx, defaultValue) {
    return this.#engine.ready ? this.#engine.json(key, ctx, defaultValue) : this.#bootstrapped(key, defaultValue);
  }
  /** Full evaluation details (see `Engine.evaluate`). */
  details(key, ctx, defaultValue, type) {
    if (!this.#engine.ready && this.#bootstrapValues?.has(key)) {
      const d = this.#bootstrapValues.get(key);
      return { flagKey: key, value: this.#bootstrapped(key, defaultValue), reason: "STATIC", variant: d?.variant, flagMetadata: {} };
    }
    return this.#engine.evaluate(key, ctx, defaultValue, type);
  }
  /** Evaluates every flag for `ctx` in one call. */
  evaluateAll(ctx) {
    return this.#engine.evaluateAll(ctx);
  }
  /** The OFREP answer of flag `key` (or every flag) for `ctx`: `{status, body}` (see `Engine.ofrep`). */
  ofrep(key, ctx) {
    return this.#engine.ofrep(key, ctx);
  }
  /** Converts a context once for many evaluations. */
  context(ctx) {
    return this.#engine.context(ctx);
  }
  /** Records an outcome attributed to the variants `ctx` is served. */
  track(event, ctx, data) {
    this.#engine.track(event, ctx, data);
  }

  /**
   * Sends aggregated metrics to `metricsUrl`. Failed batches stay queued (bounded,
   * oldest dropped first) and are retried with exponential backoff, keeping their
   * batch id so the origin can drop duplicates. Never throws.
   */
  async flush() {
    const o = this.#options;
    if (o.metricsUrl === undefined) return;
    const batch = this.#engine.takeMetrics();
    if (batch) {
      this.#queue.push(JSON.stringify(batch));
      while (this.#queue.length > o.maxQueuedBatches) {
        this.#queue.shift();
        this.droppedBatches++;
      }
    }
    if (this.#queue.length === 0 || this.#now() < this.#nextSendAt) return;
    while (this.#queue.length > 0) {
      const body = this.#queue[0];
      try {
        const headers = { "content-type": "application/json" };
        if (o.sdkKey) headers.authorization = `Bearer ${o.sdkKey}`;
        const response = await this.#fetch(o.metricsUrl, {
          method: "POST",
          headers,
          body,
          keepalive: body.length < 60_000,
          signal: timeout(o.requestTimeoutMs),
        });
        // 4xx other than 408/429 will never succeed: drop the batch rather than retry forever.
        if (!response.ok && (response.status >= 500 || response.status === 408 || response.status === 429)) {
          throw new Error(`HTTP ${response.status}`);
        }
        this.#queue.shift();
        this.#backoffMs = 0;
        this.#nextSendAt = 0;
      } catch (e) {
        this.#backoffMs = Math.min(o.maxBackoffMs, this.#backoffMs === 0 ? 1000 : this.#backoffMs * 2);
        this.#nextSendAt = this.#now() + this.#backoffMs;
        this.#emit("error", new VexilError("METRICS_SEND_FAILED", `metrics send failed, retrying in ${this.#backoffMs} ms: ${e?.message ?? e}`));
        return;
      }
    }
  }

  /** Batches waiting to be sent. */
  get pendingBatches() {
    return this.#queue.length;
  }

  /** Stops timers and releases the engine. Call `flush()` first to send what is left. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#events?.abort();
    this.#unhook?.();
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#engine.free();
  }
}

function unref(timer) {
  timer?.unref?.();
  return timer;
}

function timeout(ms) {
  return typeof AbortSignal !== "undefined" && AbortSignal.timeout ? AbortSignal.timeout(ms) : undefined;
}

/**
 * Creates a client and loads its first snapshot (from `bootstrap`, then `snapshotUrl`).
 * It resolves even when the first fetch fails: evaluations then return defaults with
 * PROVIDER_NOT_READY until a snapshot loads, and the failure is in `client.lastError`.
 */
export async function createClient(options = {}) {
  const { privateAttributes = [], dimensions = [] } = options;
  if (!Array.isArray(privateAttributes) || !Array.isArray(dimensions)) {
    throw new VexilError("BAD_OPTIONS", "privateAttributes and dimensions must be arrays of attribute paths");
  }
  const units = dimensions.filter((d) => d === "targetingKey" || d.startsWith("targetingKey."));
  if (units.length > 0) {
    throw new VexilError("BAD_OPTIONS", `${units.join(", ")} is a unit id and can never be a metrics dimension (unique units are counted without it)`);
  }
  const leaking = dimensions.filter((d) => isPrivate(d, privateAttributes));
  if (leaking.length > 0) {
    throw new VexilError("BAD_OPTIONS", `private attributes cannot be metrics dimensions: ${leaking.join(", ")}`);
  }
  const client = new Client(options);
  return client.start();
}
