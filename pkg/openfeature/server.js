// An OpenFeature provider for `@openfeature/server-sdk`: evaluates in-process with
// the wasm engine, each evaluation with its own context (the dynamic-context
// paradigm). Peer dependency: @openfeature/server-sdk.
import { OpenFeatureEventEmitter, ProviderEvents, ProviderFatalError } from "@openfeature/server-sdk";
import { createClient } from "vexil";
import { fatal, toResolution, toTrackData } from "./shared.js";

/**
 * `new VexilProvider(options)`: the options of `createClient` (snapshotUrl, keys,
 * environment, sdkKey, metricsUrl, bootstrap, ...).
 */
export class VexilProvider {
  metadata = { name: "vexil" };
  runsOn = "server";
  hooks = [];
  events = new OpenFeatureEventEmitter();

  constructor(options) {
    this.options = { ...options, trackChanges: true };
    this.client = null;
  }

  /** Loads the first snapshot; fails (the provider turns ERROR) without one. */
  async initialize() {
    try {
      this.client = await createClient(this.options);
    } catch (e) {
      // Options that cannot work (bad keys, bad options) never will: FATAL.
      throw fatal(e) ? new ProviderFatalError(e.message) : e;
    }
    const c = this.client;
    c.on("update", (info) => {
      if (info.changedFlags?.length) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: info.changedFlags, metadata: { version: info.version } });
    });
    c.on("stale", () => this.events.emit(ProviderEvents.Stale, { message: "the snapshot is past its expiry; serving it until a fresh one loads" }));
    c.on("error", (e) => {
      if (!c.ready) this.events.emit(ProviderEvents.Error, { message: e.message, errorCode: "PROVIDER_NOT_READY" });
    });
    if (!c.ready) {
      const message = `no usable snapshot: ${c.lastError?.message ?? "none loaded"}`;
      if (fatal(c.lastError)) {
        // A snapshot signed by a key the keyring lacks (or for another environment)
        // can never load with this configuration.
        c.close();
        throw new ProviderFatalError(message);
      }
      throw new Error(message);
    }
    // After the SDK has set READY (it does once initialize resolves), not before.
    if (c.stale) setTimeout(() => this.events.emit(ProviderEvents.Stale, { message: "the snapshot is past its expiry" }), 0);
  }

  async onClose() {
    await this.client?.flush();
    this.client?.close();
  }

  // Async: the server SDK's Provider type resolves to Promises.
  #resolve(key, defaultValue, context, type) {
    if (!this.client) return { value: defaultValue, reason: "ERROR", errorCode: "PROVIDER_NOT_READY", errorMessage: "the provider is not initialised" };
    return toResolution(this.client.details(key, context ?? {}, defaultValue, type));
  }

  async resolveBooleanEvaluation(key, defaultValue, context) {
    return this.#resolve(key, defaultValue, context, "boolean");
  }
  async resolveStringEvaluation(key, defaultValue, context) {
    return this.#resolve(key, defaultValue, context, "string");
  }
  async resolveNumberEvaluation(key, defaultValue, context) {
    return this.#resolve(key, defaultValue, context, "number");
  }
  async resolveObjectEvaluation(key, defaultValue, context) {
    return this.#resolve(key, defaultValue, context, "object");
  }

  /** OpenFeature's tracking API: outcomes attributed to the variants `context` is served. */
  track(name, context, details) {
    this.client?.track(name, context ?? {}, toTrackData(details));
  }
}
