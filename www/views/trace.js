// An evaluation's trace in words (`vexil/trace`, run by the playground): each step
// the engine took, in order, with the document's rules and clauses beside it.
import { html } from "../ui.js";
import { clauseText, serveText } from "../clauses.js";

/** A bucket on the engine's 0..100 000 scale, with its percentage. */
function bucketText(bucket) {
  return `${bucket.toLocaleString("en")} of 100,000 (${(bucket / 1000).toFixed(3)} %)`;
}

/** A duration; browsers coarsen their clock (to 0.1 ms in Chromium), so a quick evaluation can read 0. */
function durationText(ms) {
  return ms > 0 ? `${ms.toFixed(3)} ms` : "under the page clock's resolution";
}

/** Attribute `path` of `ctx` as the engine reads it: nested objects first, then the dotted key. */
function valueAt(ctx, path) {
  let v = ctx;
  for (const seg of path.split(".")) v = v !== null && typeof v === "object" && !Array.isArray(v) ? v[seg] : undefined;
  return v === undefined && path.includes(".") ? ctx?.[path] : v;
}

/** The clauses of a rule's `when`, as the engine numbers them for `failedClause`. */
function clausesOf(when) {
  return when && Array.isArray(when.all) ? when.all : [when];
}

function ruleStep(s, rule) {
  const head = html`rule <strong>${s.id}</strong> <span class="verdict">${s.matched ? "matched" : "did not match"}</span>`;
  if (!rule) return head;
  if (s.matched) return html`${head}: ${clauseText(rule.when)}; ${serveText(rule.serve)}`;
  if (s.failedClause !== undefined) {
    const clauses = clausesOf(rule.when);
    return html`${head}: clause ${s.failedClause + 1} of ${clauses.length} failed — <em>${clauseText(clauses[s.failedClause])}</em>`;
  }
  return html`${head}: <em>${clauseText(rule.when)}</em> is false`;
}

/**
 * One step as a list item. `flag` is the document's flag (null when the snapshot's
 * document is not at hand: ids and numbers only), `ctx` the context, `failed` the
 * playground's account of the prerequisites that failed.
 */
function stepItem(s, flag, ctx, trace, failed, rolloutFrom) {
  switch (s.step) {
    case "prerequisite": {
      const f = failed.find((p) => p.flag === s.flag);
      return html`<li class="${s.met ? "met" : "not-met"}">prerequisite <strong>${s.flag}</strong> <span class="verdict">${s.met ? "met" : "not met"}</span>${f ? html`: it served ${f.variant ? html`“${f.variant}”` : "no variant"} (<code>${f.reason}</code>) and needs ${f.needs.map((v) => `“${v}”`).join(" or ")}` : ""}</li>`;
    }
    case "exclusion": {
      const range = flag?.exclusion?.range;
      return html`<li class="${s.inside ? "met" : "not-met"}">exclusion group <strong>${flag?.exclusion?.group ?? ""}</strong>: ${s.bucket === null ? "no targeting key to place" : html`bucket ${bucketText(s.bucket)}`} — <span class="verdict">${s.inside ? "inside" : "outside"}</span> the flag's range${range ? ` [${range[0].toLocaleString("en")}, ${range[1].toLocaleString("en")})` : ""}</li>`;
    }
    case "access":
      return html`<li class="${s.allowed ? "met" : "not-met"}">access <span class="verdict">${s.allowed ? "allowed" : "denied"}</span>${flag?.access ? html`: <em>${clauseText(flag.access)}</em>` : ""}</li>`;
    case "rule":
      return html`<li class="${s.matched ? "matched" : "did-not-match"}">${ruleStep(s, flag?.rules?.[s.index])}</li>`;
    case "rollout": {
      const unit = valueAt(ctx, s.unit);
      return html`<li class="rollout">rollout ${rolloutFrom} by <strong>${s.unit}</strong> = <code>${JSON.stringify(unit)}</code>: bucket ${bucketText(s.bucket)} → <strong>${trace.variant ?? "the caller's default"}</strong></li>`;
    }
    default:
      return html`<li><code>${JSON.stringify(s)}</code></li>`;
  }
}

/** Why a trace has no steps. */
const NOTHING_TRIED = {
  DISABLED: "The kill switch is thrown: nothing else was tried.",
  STATIC: "The flag serves one variant to everyone: there was nothing to try.",
  ERROR: "The evaluation could not start.",
};

/** The trace section: when, how long, and each step. */
export function traceSection(trace, flag, ctx, failed) {
  const matched = trace.steps.find((s) => s.step === "rule" && s.matched);
  const rolloutFrom = matched ? `of rule ${matched.id}` : "of the fallthrough";
  const tried = new Set(trace.steps.filter((s) => s.step === "rule").map((s) => s.index));
  // After a step that ended the evaluation (or a matching rule), the rest is not reached.
  const notReached = trace.steps.length > 0 ? (flag?.rules ?? []).filter((_, i) => !tried.has(i)) : [];
  const fellThrough = !matched && ["DEFAULT", "SPLIT"].includes(trace.reason) && flag?.fallthrough;
  return html`<section class="trace" id="trace">
    <h3>Trace</h3>
    <p class="trace-meta">Evaluated at <time datetime="${trace.timestamp}">${trace.timestamp}</time> in ${durationText(trace.durationMs)} (this page's engine; the trace itself is not counted in metrics).</p>
    ${trace.steps.length
      ? html`<ol class="steps">${trace.steps.map((s) => stepItem(s, flag, ctx, trace, failed, rolloutFrom))}${fellThrough ? html`<li class="fallthrough">no rule matched: the fallthrough, ${serveText(flag.fallthrough)}</li>` : ""}</ol>`
      : html`<p>${NOTHING_TRIED[trace.reason] ?? (fellThrough ? `No rule to try: the fallthrough, ${serveText(flag.fallthrough)}.` : "Nothing was tried.")}</p>`}
    ${notReached.length ? html`<p class="not-reached">Not reached: ${notReached.map((r) => r.id).join(", ")}.</p>` : ""}
  </section>`;
}
