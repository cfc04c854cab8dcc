// Vexil and its peers behind one small interface, each used as its users use it.
// `open(artifact, specs)` loads a flag set (returning the load time it measured and
// an instance); an instance has
//   fromRaw(raw)          the context object a request builds (new every call)
//   eval(i, ctx)          flag i's value for that object
//   prepare(raw)          the system's prepared form of a context, if any, else the object
//   evalPrepared(i, p)    flag i's value for a prepared context
//   evalAll(p)            every flag with details, for one prepared context
//   close()
// Metrics: what each system counts on its normal path is in `counts`.
import { Engine } from "../../pkg/node.js";
import { FlagdCore } from "@openfeature/flagd-core";
import { GrowthBookClient } from "@growthbook/growthbook";
import { Unleash, InMemStorageProvider } from "unleash-client";
import { FliptClient } from "@flipt-io/flipt-client-js";
import * as formats from "./formats.mjs";

const flagTable = (specs) => ({ keys: specs.map((s) => s.key), strings: specs.map((s) => s.kind === "ab") });
const plain = (r) => ({ targetingKey: r.targetingKey, country: r.country, plan: r.plan, age: r.age, appVersion: r.appVersion });

/**
 * Vexil through its public package API (`Engine`), metrics aggregation on (the
 * default). Its artifacts are CLI-built envelopes (`envelopes`: flag-set name → bytes).
 */
export function vexil(keys, envelopes, { metrics = true } = {}) {
  return {
    name: "Vexil",
    wasm: true,
    format: (specs, set) => envelopes[set],
    counts: "evaluations per flag × variant × reason and unique units (HyperLogLog), aggregated in wasm; no metricsUrl, so nothing is sent",
    async open(envelope, specs) {
      const engine = new Engine({ keys, environment: "bench", metrics });
      const t0 = performance.now();
      engine.load(envelope);
      const ms = performance.now() - t0;
      const { keys: flagKeys, strings } = flagTable(specs);
      const evaluate = (i, ctx) => (strings[i] ? engine.string(flagKeys[i], ctx, "control") : engine.boolean(flagKeys[i], ctx, false));
      return {
        ms,
        instance: {
          engine,
          fromRaw: plain,
          eval: evaluate,
          prepare: (raw) => engine.context(plain(raw)),
          evalPrepared: evaluate,
          evalAll: (ctx) => engine.evaluateAll(ctx),
          close: () => engine.free(),
        },
      };
    },
  };
}

/** flagd's in-process evaluator. */
export function flagd() {
  return {
    name: "flagd-core",
    format: (specs) => JSON.stringify(formats.flagd(specs)),
    counts: "nothing (flagd-core has no impression or metrics tracking; telemetry lives in OpenFeature hooks)",
    async open(text, specs) {
      const t0 = performance.now();
      const core = new FlagdCore();
      core.setConfigurations(text);
      const ms = performance.now() - t0;
      const { keys, strings } = flagTable(specs);
      const evaluate = (i, ctx) => (strings[i] ? core.resolveStringEvaluation(keys[i], "control", ctx).value : core.resolveBooleanEvaluation(keys[i], false, ctx).value);
      return {
        ms,
        instance: { fromRaw: plain, eval: evaluate, prepare: plain, evalPrepared: evaluate, evalAll: (ctx) => core.resolveAll(ctx), close() {} },
      };
    },
  };
}

/**
 * GrowthBook's multi-user server client (`GrowthBookClient`), from an SDK payload;
 * `tracking: false` leaves out the trackingCallback (for comparison only: experiments
 * need it to record exposures).
 */
export function growthbook({ tracking = true } = {}) {
  return {
    name: tracking ? "GrowthBook" : "GrowthBook (no trackingCallback)",
    format: (specs) => JSON.stringify(formats.growthbook(specs)),
    counts: "experiment exposures through trackingCallback (counted per experiment here, as an analytics queue would); rollouts are not tracked",
    async open(text, specs) {
      const exposures = new Map();
      const t0 = performance.now();
      const client = new GrowthBookClient(
        tracking ? { trackingCallback: (experiment) => exposures.set(experiment.key, (exposures.get(experiment.key) ?? 0) + 1) } : {},
      );
      client.initSync({ payload: JSON.parse(text) });
      const ms = performance.now() - t0;
      const { keys, strings } = flagTable(specs);
      const fromRaw = (r) => ({ attributes: { id: r.targetingKey, country: r.country, plan: r.plan, age: r.age, appVersion: r.appVersion } });
      return {
        ms,
        instance: {
          exposures,
          fromRaw,
          eval: (i, user) => client.getFeatureValue(keys[i], strings[i] ? "control" : false, user),
          // A scoped instance per user, as GrowthBook's server guide does per request.
          prepare: (raw) => client.createScopedInstance(fromRaw(raw)),
          evalPrepared: (i, scoped) => scoped.getFeatureValue(keys[i], strings[i] ? "control" : false),
          evalAll: (scoped) => {
            const out = {};
            for (const key of keys) out[key] = scoped.evalFeature(key);
            return out;
          },
          close: () => client.destroy(),
        },
      };
    },
  };
}

/** The Unleash Node SDK, bootstrapped offline (no server). */
export function unleash() {
  return {
    name: "Unleash",
    format: (specs) => JSON.stringify(formats.unleash(specs)),
    counts: "yes/no and variant counts per feature (its metrics bucket; metricsInterval 0, so nothing is sent)",
    async open(text, specs) {
      const t0 = performance.now();
      const client = new Unleash({
        appName: "bench", url: "http://127.0.0.1:9/api/", refreshInterval: 0, metricsInterval: 0, disableMetrics: false,
        bootstrap: { data: JSON.parse(text) }, storageProvider: new InMemStorageProvider(), skipInstanceCountWarning: true,
      });
      client.on("error", () => {});
      client.on("warn", () => {});
      await new Promise((resolve) => client.once("ready", resolve));
      const ms = performance.now() - t0;
      const { keys, strings } = flagTable(specs);
      const fromRaw = (r) => ({ userId: r.targetingKey, properties: { country: r.country, plan: r.plan, age: r.age, appVersion: r.appVersion } });
      const evaluate = (i, ctx) => (strings[i] ? client.getVariant(keys[i], ctx).name : client.isEnabled(keys[i], ctx));
      return {
        ms,
        instance: {
          client,
          fromRaw,
          eval: evaluate,
          prepare: fromRaw,
          evalPrepared: evaluate,
          // No bulk API in the server SDK: getVariant per feature, as Unleash's frontend API does.
          evalAll: (ctx) => {
            const out = {};
            for (const key of keys) out[key] = client.getVariant(key, ctx);
            return out;
          },
          close: () => client.destroy(),
        },
      };
    },
  };
}

/**
 * Flipt's client-side evaluation client (its Rust engine in wasm), fed the snapshot
 * through its `fetcher` option. `FliptClient.init` also compiles its wasm module, so
 * the client starts from an empty snapshot and the load time measured is the
 * `refresh()` that fetches, parses and builds the real one (as Vexil's figure
 * excludes instantiating its wasm).
 */
export function flipt() {
  return {
    name: "Flipt",
    wasm: true,
    format: (specs) => JSON.stringify(formats.flipt(specs)),
    counts: "nothing (evaluation analytics are server-side in Flipt; the client has only optional hooks)",
    async open(text, specs) {
      let etag = 0;
      const empty = JSON.stringify({ namespace: { key: "default" }, flags: [] });
      const fetcher = async () => new Response(etag === 0 ? empty : text, { status: 200, headers: { etag: `"${++etag}"`, "content-type": "application/json" } });
      // Its glue warns about its own way of passing the module: not ours to fix, kept quiet.
      const warn = console.warn;
      console.warn = (...args) => String(args[0]).startsWith("using deprecated parameters") || warn(...args);
      let client;
      try {
        client = await FliptClient.init({ fetcher, updateInterval: 0 });
      } finally {
        console.warn = warn;
      }
      const t0 = performance.now();
      await client.refresh();
      const ms = performance.now() - t0;
      const { keys, strings } = flagTable(specs);
      const fromRaw = (r) => ({ entityId: r.targetingKey, context: { country: r.country, plan: r.plan, age: String(r.age), appVersion: r.appVersion } });
      const evaluate = (i, c) =>
        strings[i]
          ? client.evaluateVariant({ flagKey: keys[i], entityId: c.entityId, context: c.context }).variantKey
          : client.evaluateBoolean({ flagKey: keys[i], entityId: c.entityId, context: c.context }).enabled;
      return {
        ms,
        instance: {
          fromRaw,
          eval: evaluate,
          prepare: fromRaw,
          evalPrepared: evaluate,
          evalAll: (c) => client.evaluateBatch(keys.map((flagKey) => ({ flagKey, entityId: c.entityId, context: c.context }))),
          close: () => client.close(),
        },
      };
    },
  };
}

/** Every system, Vexil first; `js` marks the pure-JavaScript peers ratios are taken against. */
export function allSystems(keys, envelopes) {
  return [vexil(keys, envelopes), { ...flagd(), js: true }, { ...growthbook(), js: true }, { ...unleash(), js: true }, flipt()];
}
