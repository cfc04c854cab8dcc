// Types of `vexil/trace`: evaluation traces on demand.
import type { Client, Engine, EvaluationContext, Context, EvaluationTrace, TraceStep, Tracer } from "./index.js";

export type { EvaluationTrace, TraceStep, Tracer };

/**
 * Evaluates `key` for `ctx` with a client or an engine and returns what the evaluation
 * tried (not counted in metrics); null before a snapshot, for an unknown flag or a
 * context that is not an object.
 */
export function traceEvaluation(source: Client | Engine, key: string, ctx: EvaluationContext | Context | undefined): EvaluationTrace | null;

/** A tracer for the `trace` option of `createClient` / `new Engine`: traces of the listed flags (every flag by default) go to `onTrace`. */
export function tracer(onTrace: (trace: EvaluationTrace) => void, options?: { flags?: string[] }): Tracer;

/** A trace as lines of text, for logs. */
export function formatTrace(trace: EvaluationTrace): string;

/** One step in words ("rule germany-pro did not match (clause 2 failed)"). */
export function describeStep(step: TraceStep): string;
