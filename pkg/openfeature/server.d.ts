// Types of `vexil/openfeature/server`: a `Provider` of `@openfeature/server-sdk`.
import type { EvaluationContext, Hook, JsonValue, Logger, OpenFeatureEventEmitter, Provider, ResolutionDetails, TrackingEventDetails } from "@openfeature/server-sdk";
import type { Client, ClientOptions } from "../index.js";

/** OpenFeature server provider: dynamic context, in-process wasm evaluation. */
export declare class VexilProvider implements Provider {
  /** The options of `createClient` (snapshotUrl, keys, environment, sdkKey, ...). */
  constructor(options: ClientOptions);
  readonly metadata: { readonly name: "vexil" };
  readonly runsOn: "server";
  readonly hooks: Hook[];
  readonly events: OpenFeatureEventEmitter;
  /** The Vexil client, once `initialize` has loaded a snapshot. */
  client: Client | null;
  initialize(context?: EvaluationContext): Promise<void>;
  onClose(): Promise<void>;
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<boolean>>;
  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<string>>;
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<number>>;
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<T>>;
  /** Outcomes attributed to the variants `context` is served (Vexil's `track`). */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void;
}
