// An OpenFeature provider for `@openfeature/web-sdk`: the static-context paradigm.
// Every flag is evaluated for the context at once (locally, with the wasm engine) when
// the context or the snapshot changes, and served synchronously from that result.
// Peer dependency: @openfeature/web-sdk.
import { OpenFeatureEventEmitter, ProviderEvents, ProviderFatalError } from "@openfeature/web-sdk";
import { createClient } from "vexil";
import { fatal, toResolution, toTrackData } from "./shared.js";

export class VexilWebProvider {
  metadata = { name: "vexil" };
  runsOn = "client";
  hooks = [];
  events = new OpenFeatureEventEmitter();

  constructor(options) {
    this.options = { ...options, trackChanges: true };
    this.client = null;
    this.context = {};
    this.results = {};
  }

  async initialize(context) {
    this.context = context ?? {};
    try {
      this.client = await createClient(this.options);
    } catch (e) {
      throw fatal(e) ? new ProviderFatalError(e.message) : e;
    }
    const c = this.client;
    c.on("update", () => {
      const before = this.results;
      this.#evaluate();
      const changed = Object.keys({ ...before, ...this.results }).filter(
        (k) => JSON.stringify(before[k]?.value) !== JSON.stringify(this.results[k]?.value) || before[k]?.variant !== this.results[k]?.variant,
      );
      if (changed.length) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed });
    });
    c.on("stale", () => this.events.emit(ProviderEvents.Stale, { message: "the snapshot is past its expiry" }));
    c.on("error", (e) => {
      if (!c.ready) this.events.emit(ProviderEvents.Error, { message: e.message });
    });
    if (!c.ready) {
      const message = `no usable snapshot: ${c.lastError?.message ?? "none loaded"}`;
      if (fatal(c.lastError)) {
        c.close();
        throw new ProviderFatalError(message);
      }
      throw new Error(message);
    }
    this.#evaluate();
    // After the SDK has set READY (it does once initialize resolves), not before.
    if (c.stale) setTimeout(() => this.events.emit(ProviderEvents.Stale, { message: "the snapshot is past its expiry" }), 0);
  }

  #evaluate() {
    this.results = this.client.ready ? this.client.evaluateAll(this.context) : {};
  }

  async onContextChange(_old, next) {
    this.context = next ?? {};
    this.#evaluate();
  }

  async onClose() {
    this.client?.flushBeacon?.();
    this.client?.close();
  }

  #resolve(key, defaultValue, type) {
    // Own properties only: `toString` is not a flag because every object has one.
    const d = Object.hasOwn(this.results, key) ? this.results[key] : undefined;
    if (!d) {
      return { value: defaultValue, reason: "ERROR", errorCode: this.client?.ready ? "FLAG_NOT_FOUND" : "PROVIDER_NOT_READY", errorMessage: `flag \`${key}\` is not in the snapshot` };
    }
    if (d.errorCode) return toResolution({ ...d, value: defaultValue });
    const actual = Array.isArray(d.value) || d.value === null ? "object" : typeof d.value;
    if (actual !== type) {
      return { value: defaultValue, reason: "ERROR", errorCode: "TYPE_MISMATCH", errorMessage: `flag \`${key}\` is a ${actual} flag, but a ${type} was requested`, flagMetadata: d.flagMetadata };
    }
    return toResolution(d);
  }

  resolveBooleanEvaluation(key, defaultValue) {
    return this.#resolve(key, defaultValue, "boolean");
  }
  resolveStringEvaluation(key, defaultValue) {
    return this.#resolve(key, defaultValue, "string");
  }
  resolveNumberEvaluation(key, defaultValue) {
    return this.#resolve(key, defaultValue, "number");
  }
  resolveObjectEvaluation(key, defaultValue) {
    return this.#resolve(key, defaultValue, "object");
  }

  track(name, context, details) {
    this.client?.track(name, context ?? this.context, toTrackData(details));
  }
}
