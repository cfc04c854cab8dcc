// Evaluation traces on demand (`vexil/trace`): what one evaluation tried, in order,
// and why it ended where it did — each prerequisite, the exclusion group's bucket,
// the access clauses, each rule tried (matched or not, and for a rule of several
// clauses the first that failed), the rollout's unit and bucket — with when it ran
// and how long it took. The wasm module evaluates as it always does and writes the
// steps as numbers (Rust `engine::trace::codes`); this module names them. Nothing
// here is bundled with `createClient` unless it is imported.
import { VexilError } from "./core.js";

// The step kinds and rule codes of Rust `engine::trace::codes`.
const PREREQUISITE = 0;
const EXCLUSION = 1;
const ACCESS = 2;
const RULE = 3;
const ROLLOUT = 4;
const NONE = 0xffffffff;
const MATCHED = 0;
const FAILED_AT = 2;

/** Per wasm engine, `[generation, attribute paths by id]` of the snapshot it last loaded. */
const pathsOf = new WeakMap();

const clock = () => globalThis.performance?.now() ?? Date.now();

/**
 * Evaluates flag `key` for `ctx` with `source` (a `Client` or an `Engine`) and
 * returns its trace: the evaluation details (`flagKey, value, variant, reason,
 * ruleId?, errorCode?, errorMessage?, flagMetadata`, with a null default value)
 * plus `timestamp` (the ISO time the evaluation ran at, the engine's clock),
 * `durationMs` and `steps`. The traced evaluation is not counted in metrics.
 * Returns null before a snapshot is loaded, for a flag the snapshot lacks, or for a
 * context that is not an object (the ordinary evaluation says why).
 */
export function traceEvaluation(source, key, ctx) {
  const engine = source?.engine ?? source;
  if (typeof engine?.traced !== "function") {
    throw new VexilError("BAD_ARGUMENT", "traceEvaluation: pass a Client or an Engine");
  }
  const started = clock();
  const traced = engine.traced(key, ctx);
  const durationMs = clock() - started;
  if (traced === undefined) return null;
  const [codes, now, details, row, wasm] = traced;
  const steps = [];
  for (let i = 2; i + 2 < codes.length; i += 3) {
    steps.push(step(engine, row, wasm, codes[i], codes[i + 1], codes[i + 2]));
  }
  return { ...details, timestamp: new Date(now).toISOString(), durationMs, steps };
}

function step(engine, row, wasm, kind, a, b) {
  switch (kind) {
    case PREREQUISITE:
      return { step: "prerequisite", flag: engine.flagKeys[a] ?? "", met: b === 1 };
    case EXCLUSION:
      return { step: "exclusion", bucket: a === NONE ? null : a, inside: b === 1 };
    case ACCESS:
      return { step: "access", allowed: a === 1 };
    case RULE: {
      const rule = { step: "rule", id: row.rules[a] ?? "", index: a, matched: b === MATCHED };
      if (b >= FAILED_AT) rule.failedClause = b - FAILED_AT;
      return rule;
    }
    case ROLLOUT:
      return { step: "rollout", unit: paths(wasm)[a] ?? "", bucket: b };
    default:
      throw new VexilError("GENERAL", `trace: unknown step kind ${kind}`);
  }
}

/** The attribute paths of the snapshot `wasm` serves, read once per snapshot loaded. */
function paths(wasm) {
  const generation = wasm.info()[4];
  let cached = pathsOf.get(wasm);
  if (cached === undefined || cached[0] !== generation) {
    cached = [generation, JSON.parse(wasm.attributeTable()).map((a) => a.path)];
    pathsOf.set(wasm, cached);
  }
  return cached[1];
}

/**
 * A tracer for the `trace` option of `createClient` and `new Engine`: each
 * single-flag evaluation (`boolean`, `string`, `number`, `json`, `evaluate`) of
 * the listed `flags` (every flag when omitted) is traced and handed to `onTrace`.
 * `evaluateAll` and `ofrep` are not traced: trace their flags one by one. A throwing
 * `onTrace` does not break the evaluation.
 * @param {(trace: object) => void} onTrace
 * @param {{flags?: string[]}} [options]
 */
export function tracer(onTrace, { flags } = {}) {
  if (typeof onTrace !== "function") throw new VexilError("BAD_OPTIONS", "tracer: onTrace must be a function");
  if (flags !== undefined && !(Array.isArray(flags) && flags.every((f) => typeof f === "string"))) {
    throw new VexilError("BAD_OPTIONS", "tracer: flags must be a list of flag keys");
  }
  const only = flags === undefined ? null : new Set(flags);
  return (engine, key, ctx) => {
    if (only !== null && !only.has(key)) return;
    try {
      const trace = traceEvaluation(engine, key, ctx);
      if (trace !== null) onTrace(trace);
    } catch {
      // A tracer's failure must not break the evaluation it watches.
    }
  };
}

/** The steps of `trace` as lines of text, for logs. */
export function formatTrace(trace) {
  const lines = [`${trace.flagKey} at ${trace.timestamp} (${trace.durationMs.toFixed(3)} ms): ${trace.reason}${trace.variant === undefined ? "" : ` → ${trace.variant}`}${trace.errorCode ? ` (${trace.errorCode})` : ""}`];
  for (const s of trace.steps) {
    lines.push(`  ${describeStep(s)}`);
  }
  return lines.join("\n");
}

/** One step in words: "rule germany-pro did not match (clause 2 failed)". */
export function describeStep(s) {
  switch (s.step) {
    case "prerequisite":
      return `prerequisite ${s.flag} ${s.met ? "met" : "not met"}`;
    case "exclusion":
      return s.bucket === null
        ? "exclusion group: no targeting key, excluded"
        : `exclusion group: bucket ${s.bucket} (${s.bucket / 1000} %) ${s.inside ? "inside" : "outside"} the flag's range`;
    case "access":
      return `access ${s.allowed ? "allowed" : "denied"}`;
    case "rule":
      return `rule ${s.id} ${s.matched ? "matched" : "did not match"}${s.failedClause === undefined ? "" : ` (clause ${s.failedClause + 1} failed)`}`;
    case "rollout":
      return `rollout by ${s.unit}: bucket ${s.bucket} (${s.bucket / 1000} %)`;
    default:
      return JSON.stringify(s);
  }
}
