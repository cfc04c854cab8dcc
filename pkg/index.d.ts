// Types of the `vexil` package (the same API from every entry point).

/** Why an evaluation returned what it did. */
export type Reason =
  | "STATIC" | "TARGETING_MATCH" | "SPLIT" | "DEFAULT" | "DISABLED"
  | "EXCLUDED" | "DENIED" | "PREREQUISITE_FAILED" | "ERROR";

/** Why the caller's default was returned. */
export type ErrorCode =
  | "PROVIDER_NOT_READY" | "FLAG_NOT_FOUND" | "TYPE_MISMATCH" | "PARSE_ERROR"
  | "TARGETING_KEY_MISSING" | "INVALID_CONTEXT" | "GENERAL";

/** Snapshot rejection and option error codes carried by `VexilError.code`. */
export type RejectionCode =
  | "BAD_FORMAT" | "UNKNOWN_KEY" | "BAD_SIGNATURE" | "BAD_PAYLOAD" | "INVALID_FLAGS"
  | "WRONG_ENVIRONMENT" | "VERSION_ROLLBACK" | "EXPIRED" | "TOO_LARGE"
  | "BAD_KEYS" | "BAD_OPTIONS" | "BAD_ARGUMENT" | "FETCH_FAILED" | "TIMEOUT" | "METRICS_SEND_FAILED" | "GENERAL"
  /** Browser entries: `new Engine()` / `new Client()` before `ready()` resolved. */
  | "NOT_READY"
  /** Browser entries: the wasm could not be fetched or compiled. */
  | "WASM_LOAD_FAILED"
  /** `vexil` in a bundle without import.meta.url (iife, CommonJS): use `vexil/inline`. */
  | "NO_WASM_URL";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** An OpenFeature evaluation context: `targetingKey` plus attributes (nested objects allowed). */
export type EvaluationContext = { targetingKey?: string; [attribute: string]: unknown };
export type FlagType = "boolean" | "string" | "number" | "object";

/** OpenFeature-shaped evaluation details. */
export interface EvaluationDetails<T = JsonValue> {
  flagKey: string;
  value: T;
  variant?: string;
  reason: Reason;
  ruleId?: string;
  errorCode?: ErrorCode;
  errorMessage?: string;
  flagMetadata: Record<string, JsonValue>;
}

export interface LoadInfo {
  version: number;
  keyId: string;
  flags: number;
  issuedAt: number | null;
  expiresAt: number | null;
}

/** A signed snapshot envelope (`vexil-snapshot/2`; format 1 is refused with BAD_FORMAT). */
export interface Envelope {
  format: "vexil-snapshot/2";
  key_id: string;
  payload: string;
  signature: string;
}

export class VexilError extends Error {
  code: RejectionCode | string;
  source?: "bootstrap" | "fetch";
}

/** A context prepared for many evaluations (read again only when a new snapshot needs other attributes). Don't mutate its source object afterwards. */
export class Context {
  readonly valid: boolean;
  free(): void;
}

export interface EngineOptions {
  /** Key id → base64 Ed25519 public key. Supplied by configuration, never by the snapshot source. */
  keys: Record<string, string>;
  environment: string;
  stalePolicy?: "serve-stale" | "serve-defaults";
  /**
   * Allow-listed low-cardinality attributes (e.g. "geo.country") counted in metrics.
   * Never `targetingKey` (`createClient` refuses it); a dimension is withheld for a flag
   * that declares it in `private_attributes`, and for every flag when it is a rollout
   * unit (`by`) of the snapshot.
   */
  dimensions?: string[];
  /** Attributes that must never leave the process (`"patient.*"`). */
  privateAttributes?: string[];
  /** Key of the pseudonyms in evaluation audit events. */
  auditKey?: string;
  metrics?: boolean;
  now?: () => number;
  /**
   * Traces evaluations: a tracer from `vexil/trace` (`tracer(onTrace, {flags})`),
   * called with each single-flag evaluation (not `evaluateAll` or `ofrep`).
   */
  trace?: Tracer;
}

/** What the `trace` option takes: `tracer()` of `vexil/trace` makes one. */
export type Tracer = (engine: Engine, key: string, ctx: Ctx) => void;

/** One step of an evaluation trace, in the order evaluation took it. */
export type TraceStep =
  /** A prerequisite flag, and whether it served one of the required variants. */
  | { step: "prerequisite"; flag: string; met: boolean }
  /** The flag's share of its mutual-exclusion group: the unit's bucket (0..100 000; null without a targeting key). */
  | { step: "exclusion"; bucket: number | null; inside: boolean }
  /** The flag's `access` clauses. */
  | { step: "access"; allowed: boolean }
  /** A rule tried; for a rule of several clauses that did not match, the index of the first that failed. */
  | { step: "rule"; id: string; index: number; matched: boolean; failedClause?: number }
  /** A percentage rollout: the attribute the unit was read from and its bucket (0..100 000). */
  | { step: "rollout"; unit: string; bucket: number };

/** An evaluation's trace (`vexil/trace`): its details, when it ran, how long it took, and its steps. */
export interface EvaluationTrace extends EvaluationDetails<JsonValue | null> {
  /** The evaluation time (the engine's clock), ISO 8601. */
  timestamp: string;
  durationMs: number;
  steps: TraceStep[];
}

export interface TrackData {
  value?: number;
  latencyMs?: number;
  success?: boolean;
  /**
   * Attribute the outcome to the variants these flags serve the context now. Without
   * it, the outcome counts for the flags this engine served the context's unit
   * (`targetingKey`) by targeting or a rollout, or as `unattributed` when none.
   */
  flags?: string[];
}

type Ctx = EvaluationContext | Context | undefined;

export class Engine {
  constructor(options: EngineOptions);
  load(envelope: string | Uint8Array | ArrayBuffer | Envelope): LoadInfo;
  readonly version: number | null;
  readonly stale: boolean;
  readonly ready: boolean;
  readonly flagKeys: string[];
  context(ctx: EvaluationContext): Context;
  boolean(key: string, ctx: Ctx, defaultValue: boolean): boolean;
  string(key: string, ctx: Ctx, defaultValue: string): string;
  number(key: string, ctx: Ctx, defaultValue: number): number;
  json<T extends JsonValue>(key: string, ctx: Ctx, defaultValue: T): T;
  evaluate<T extends JsonValue>(key: string, ctx: Ctx, defaultValue: T, type?: FlagType): EvaluationDetails<T>;
  evaluateAll(ctx: Ctx): Record<string, EvaluationDetails<JsonValue | null>>;
  /** The OFREP answer of flag `key`, or of every flag when `key` is omitted, as the origin writes it. */
  ofrep(key: string | undefined, ctx: Ctx): OfrepAnswer;
  track(event: string, ctx: Ctx, data?: TrackData): void;
  takeMetrics(batchId?: string): MetricsBatch | null;
  free(): void;
}

export interface ClientOptions extends EngineOptions {
  snapshotUrl?: string;
  metricsUrl?: string;
  /** A server key (`vxs_…`) on servers and workers; a client key (`vxc_…`, public) in pages. */
  sdkKey?: string;
  refreshIntervalMs?: number;
  autoRefresh?: boolean;
  flushIntervalMs?: number;
  autoFlush?: boolean;
  maxQueuedBatches?: number;
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
  /** A signed envelope or an `evaluateAll()` result served until the first snapshot loads. */
  bootstrap?: Envelope | string | Record<string, EvaluationDetails<JsonValue | null> | JsonValue>;
  fetch?: typeof fetch;
  /** The origin's server-sent events (`/api/v1/environments/{env}/events`): new versions are fetched at once. */
  eventsUrl?: string;
  /** The context "change" events are about (a page's user); see `setContext`. */
  context?: EvaluationContext;
  /** In a page, send queued metrics with `sendBeacon` when it is hidden (default true). */
  flushOnPageHide?: boolean;
}

/** An OFREP answer: its HTTP status and its JSON body. */
export interface OfrepAnswer {
  status: number;
  body: string;
}

/** A flag whose value for the client's context changed. */
export interface FlagChange {
  key: string;
  value: JsonValue | null;
  previous: JsonValue | null | undefined;
  details: EvaluationDetails<JsonValue | null>;
}

export class Client {
  /** A client that has fetched nothing yet: call `start()` (createClient does both, and checks the options first). */
  constructor(options: ClientOptions);
  /** Applies the bootstrap and loads the first snapshot; resolves even if that fails (see `lastError`). */
  start(): Promise<void>;
  readonly engine: Engine;
  readonly version: number | null;
  readonly ready: boolean;
  readonly stale: boolean;
  readonly pendingBatches: number;
  droppedBatches: number;
  lastError: VexilError | null;
  /** When the snapshot fetch in flight began (epoch ms), or null. */
  readonly refreshingSince: number | null;
  on(event: "ready" | "update" | "stale", listener: (info: LoadInfo) => void): () => void;
  on(event: "error", listener: (error: VexilError) => void): () => void;
  on(event: "change", listener: (change: FlagChange) => void): () => void;
  on(event: "kill", listener: (event: { environment: string; version: number; flag: string; reason?: string }) => void): () => void;
  /** Sets the context of "change" events and announces every flag's value for it. */
  setContext(ctx: EvaluationContext): void;
  /** Sends queued metrics with `sendBeacon` (or a keepalive fetch); true if handed over. */
  flushBeacon(): boolean;
  refresh(): Promise<void>;
  refreshIfDue(): Promise<void>;
  boolean(key: string, ctx: Ctx, defaultValue: boolean): boolean;
  string(key: string, ctx: Ctx, defaultValue: string): string;
  number(key: string, ctx: Ctx, defaultValue: number): number;
  json<T extends JsonValue>(key: string, ctx: Ctx, defaultValue: T): T;
  details<T extends JsonValue>(key: string, ctx: Ctx, defaultValue: T, type?: FlagType): EvaluationDetails<T>;
  evaluateAll(ctx: Ctx): Record<string, EvaluationDetails<JsonValue | null>>;
  /** The OFREP answer of flag `key`, or of every flag when `key` is omitted, as the origin writes it. */
  ofrep(key: string | undefined, ctx: Ctx): OfrepAnswer;
  context(ctx: EvaluationContext): Context;
  track(event: string, ctx: Ctx, data?: TrackData): void;
  flush(): Promise<void>;
  close(): void;
}

/** Loads the wasm module. Browser entries (`vexil`, `vexil/inline`) load it on the first call (createClient calls it); `new Engine()` needs it done. Node and workerd load at import: it resolves at once. */
export function ready(): Promise<void>;
export function createClient(options: ClientOptions): Promise<Client>;
export function isPrivate(path: string, patterns: string[]): boolean;
export const REASONS: readonly Reason[];
export const ERROR_CODES: readonly ErrorCode[];
export const SDK_NAME: string;

/** A metrics batch as sent to the origin (`POST /api/v1/metrics`). */
export interface MetricsBatch {
  schema: 1;
  batch_id: string;
  sdk: string;
  environment: string;
  snapshot_version: number | null;
  window: { start_ms: number; end_ms: number };
  flags: Record<string, {
    variants: Record<string, {
      count: number;
      reasons: Partial<Record<Reason, number>>;
      units?: { p: number; sparse?: [number, number][]; dense?: string };
      dimensions?: Record<string, Record<string, number>>;
    }>;
    errors?: Partial<Record<ErrorCode, number>>;
    /** The caller's default served without an error (no off variant, a `caller_default` serve), by reason. */
    defaults?: Partial<Record<Reason, number>>;
  }>;
  unknown_flags?: Record<string, number>;
  events: Record<string, {
    count: number;
    /** Calls whose unit was served no flag by targeting or a rollout; omitted when 0. */
    unattributed?: number;
    attributions: Record<string, Record<string, {
      count: number; value_sum: number; success: number; failure: number;
      latency: { bounds_ms: number[]; counts: number[]; sum_ms: number; count: number; min_ms?: number; max_ms?: number };
    }>>;
  }>;
  audit: { flag: string; variant?: string; reason: Reason; unit?: string; at_ms: number }[];
  dropped: { audit: number; events: number; unknown_flags: number };
}
