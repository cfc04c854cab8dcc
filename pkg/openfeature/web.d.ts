// Types of `vexil/openfeature/web`: a `Provider` of `@openfeature/web-sdk`.
import type { EvaluationContext, Hook, JsonValue, Logger, OpenFeatureEventEmitter, Provider, ResolutionDetails, TrackingEventDetails } from "@openfeature/web-sdk";
import type { Client, ClientOptions } from "../index.js";

/** OpenFeature web provider: static context, every flag evaluated on context or snapshot change. */
export declare class VexilWebProvider implements Provider {
  /** The options of `createClient` (snapshotUrl, keys, environment, a client sdkKey, ...). */
  constructor(options: ClientOptions);
  readonly metadata: { readonly name: "vexil" };
  readonly runsOn: "client";
  readonly hooks: Hook[];
  readonly events: OpenFeatureEventEmitter;
  /** The Vexil client, once `initialize` has loaded a snapshot. */
  client: Client | null;
  initialize(context?: EvaluationContext): Promise<void>;
  onContextChange(oldContext: EvaluationContext, newContext: EvaluationContext): Promise<void>;
  onClose(): Promise<void>;
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context?: EvaluationContext, logger?: Logger): ResolutionDetails<boolean>;
  resolveStringEvaluation(flagKey: string, defaultValue: string, context?: EvaluationContext, logger?: Logger): ResolutionDetails<string>;
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context?: EvaluationContext, logger?: Logger): ResolutionDetails<number>;
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context?: EvaluationContext, logger?: Logger): ResolutionDetails<T>;
  /** Outcomes attributed to the variants the context is served (Vexil's `track`). */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void;
}
