// Progressive rollouts: the list, and one rollout's stage timeline with live charts
// of evaluations by variant, error rate and latency against the guards, and each
// check of its best-execution guards (treatment against control).
import { api } from "../api.js";
import { html, mount, toast, errorBlock, empty, when, num } from "../ui.js";
import { can, currentEnv } from "../app.js";
import { seriesChart } from "./charts.js";

export async function list(main) {
  const env = currentEnv();
  const { rollouts } = await api("GET", `/environments/${encodeURIComponent(env)}/rollouts`);
  const rows = rollouts.map(
    (r) => html`<tr><td><a href="#/rollout/${r.id}">#${r.id}</a></td><td>${r.flag}</td><td><span class="badge ${r.status}">${r.status}</span></td><td>${r.stage} of ${r.stages.length} (${r.percentage}%)</td><td>${when(r.updated_at)}</td></tr>`,
  );
  mount(
    main,
    html`<h1>Rollouts in ${env}</h1>
    ${rows.length ? html`<table><thead><tr><th>Rollout</th><th>Flag</th><th>Status</th><th>Stage</th><th>Updated</th></tr></thead><tbody>${rows}</tbody></table>` : empty("No rollouts yet.", "Start one from a flag's page, or with `vexil rollout start`.")}`,
  );
}

let timer = null;

export async function detail(main, [id]) {
  // Live: redraw every ten seconds while this rollout stays on screen.
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (location.hash === `#/rollout/${id}`) detail(main, [id]).catch(() => {});
  }, 10_000);
  const r = await api("GET", `/rollouts/${id}`);
  // From an hour before the rollout began: the baseline it started from.
  const from = new Date(Date.parse(r.created_at) - 3_600_000).toISOString();
  const m = await api("GET", `/flags/${encodeURIComponent(r.flag)}/metrics?env=${encodeURIComponent(r.environment)}&from=${encodeURIComponent(from)}`);
  const g = r.guards;
  const stages = r.stages.map((s, i) => {
    const done = i < r.stage - 1 || r.status === "completed";
    const current = i === r.stage - 1 && !["completed", "rolled_back", "aborted"].includes(r.status);
    return html`<li class="${done ? "done" : current ? "current" : ""}" ${current ? html`aria-current="step"` : ""}>${s}%</li>`;
  });
  const c = r.last_check;
  const history = r.history.map((h) => html`<li>${when(h.at)} <strong>${h.event}</strong>${h.details?.reason ? ` — ${h.details.reason}` : ""}${h.by ? ` by ${h.by}` : ""}</li>`);
  const editable = can("edit") && ["running", "paused", "waiting_approval"].includes(r.status);
  mount(
    main,
    html`<div class="heading"><h1>Rollout #${r.id} of <a href="#/flag/${encodeURIComponent(r.environment)}/${encodeURIComponent(r.flag)}">${r.flag}</a></h1><span class="badge ${r.status}">${r.status}</span></div>
    <ol class="stages" aria-label="Stages">${stages}</ol>
    <p>Variant <strong>${r.variant}</strong>, from ${r.start_percentage}%; each stage runs ${Math.round(r.stage_duration_ms / 1000)} s and needs ${g.min_samples} outcomes.
      Guards: errors ≤ ${g.max_error_rate}%, success ≥ ${g.min_success_rate}%, latency ≤ ${g.max_latency_ms} ms${g.events.map((e) => `, ${e.event} ${e.kind === "max" ? `≤ ${e.max}` : `≤ ${e.percent}%`}`).join("")}${(g.best_execution ?? []).map((b) => `, ${b.event} ${b.metric ?? "value"} not worse than control by more than ${b.tolerance ?? 0} (${Math.round((b.confidence ?? 0.95) * 100)}% confidence)`).join("")}.</p>
    ${c ? html`<p>Last check ${when(c.at)}: ${num(c.figures.samples)} outcomes, error rate ${num(c.figures.error_rate)} %, success ${num(c.figures.success_rate)} %, latency ${num(c.figures.latency_mean_ms, 1)} ms${c.breaches.length ? html` — <strong class="danger-text">${c.breaches.join("; ")}</strong>` : ""}.</p>` : ""}
    ${editable ? html`<div class="actions">
      ${r.status === "running" ? html`<button data-act="pause">Pause</button>` : ""}
      ${r.status === "paused" ? html`<button data-act="resume">Resume</button>` : ""}
      <button data-act="abort" class="danger">Abort</button></div>` : ""}
    <div id="result" aria-live="polite"></div>
    ${bestExecution(r)}
    <section><h2>Evaluations by variant</h2><div id="evaluations" class="chart"></div></section>
    <section><h2>Error rate of ${r.variant} (%)</h2><div id="errors" class="chart"></div></section>
    <section><h2>Latency of ${r.variant} (ms)</h2><div id="latency" class="chart"></div></section>
    ${m.series.length ? "" : empty("No edge metrics yet for this rollout.", "Stages advance on metrics the edges report.")}
    <section><h2>History</h2>${history.length ? html`<ol>${history}</ol>` : empty("No stage has changed yet.")}</section>`,
  );
  for (const b of main.querySelectorAll("[data-act]")) {
    b.addEventListener("click", () =>
      api("POST", `/rollouts/${id}/${b.dataset.act}`, {})
        .then(() => {
          toast(`Rollout #${id}: ${b.dataset.act}`);
          detail(main, [id]);
        })
        .catch((e) => mount(main.querySelector("#result"), errorBlock(e))),
    );
  }
  if (!m.series.length) return;
  const times = m.series.map((p) => Date.parse(p.at) / 1000);
  const marks = r.history
    .filter((h) => ["rollout.advanced", "rollout.rolled_back", "rollout.completed"].includes(h.event))
    .map((h) => ({ at: Date.parse(h.at) / 1000, label: h.event === "rollout.rolled_back" ? "rolled back" : h.event === "rollout.completed" ? "done" : `→ ${h.details?.to}%` }));
  const variants = Object.keys(m.variants);
  seriesChart(main.querySelector("#evaluations"), {
    times,
    series: variants.map((v) => ({ label: v, values: m.series.map((p) => p.variants[v] ?? 0) })),
    yLabel: "evaluations",
    marks,
  });
  seriesChart(main.querySelector("#errors"), {
    times,
    series: [{ label: `${r.variant} error rate`, values: m.series.map((p) => p.outcomes?.[r.variant]?.error_rate ?? null) }],
    yLabel: "% failed",
    emptyText: "No outcomes tracked yet (edges report them from track() with success).",
    threshold: { value: g.max_error_rate, label: `limit ${g.max_error_rate}%` },
    marks,
  });
  seriesChart(main.querySelector("#latency"), {
    times,
    series: [{ label: `${r.variant} latency`, values: m.series.map((p) => p.outcomes?.[r.variant]?.latency_mean_ms ?? null) }],
    yLabel: "ms",
    emptyText: "No latencies tracked yet (edges report them from track() with latencyMs).",
    threshold: { value: g.max_latency_ms, label: `limit ${g.max_latency_ms} ms` },
    marks,
  });
}

const DECISIONS = { worse: "worse: rolls back", not_worse: "not worse", undecided: "undecided", insufficient: "too few values", no_control: "no control left (100 %)" };

/** The best-execution guards' checks: the stage changes that recorded them, then the
 * last check; per guard, each variant's mean, the always-valid interval of the
 * difference (in the better direction) against the tolerance, and the decision. */
function bestExecution(r) {
  const checks = r.history.filter((h) => h.details?.figures?.best_execution).map((h) => ({ at: h.at, list: h.details.figures.best_execution }));
  // The last check, unless it is the one the last stage change recorded.
  const last = r.last_check;
  if (last?.figures?.best_execution && checks.at(-1)?.at !== last.at) checks.push({ at: last.at, list: last.figures.best_execution });
  if (!checks.length) return "";
  const rows = checks.flatMap(({ at, list }) =>
    list.map((b) => html`<tr class="${b.decision === "worse" ? "danger-text" : ""}"><td>${when(at)}</td><td>${b.event}</td>
      <td>${num(b.control_mean, 3)} (${num(b.control_n, 0)})</td><td>${num(b.treatment_mean, 3)} (${num(b.treatment_n, 0)})</td>
      <td>${b.interval ? `[${num(b.interval[0], 3)}, ${num(b.interval[1], 3)}]` : "—"}${intervalChart(b)}</td><td>≥ ${num(-b.tolerance, 3)}</td><td>${DECISIONS[b.decision] ?? b.decision}</td></tr>`),
  );
  return html`<section id="best-execution"><h2>Best execution of ${r.variant} against control</h2>
    <table><thead><tr><th>Check</th><th>Event</th><th>Control mean (n)</th><th>Treatment mean (n)</th><th>Difference, always-valid interval</th><th>Tolerated</th><th>Decision</th></tr></thead><tbody>${rows}</tbody></table>
    <p class="hint">The difference is the treatment's mean less the control's (the other way round when lower is better); the treatment is worse only when the whole interval is below the tolerated difference. The interval holds at every check, so looking often does not raise false alarms.</p></section>`;
}

/** A strip chart of one check: the interval of the difference (red when worse, green
 * when not worse), its midpoint, zero (grey) and the tolerated difference (dashed). */
function intervalChart(b) {
  if (!b.interval) return "";
  const [low, high] = b.interval;
  const min = Math.min(low, -b.tolerance, 0), max = Math.max(high, 0);
  const pad = (max - min || 1) * 0.1;
  const x = (v) => (4 + ((v - min + pad) / (max - min + 2 * pad)) * 152).toFixed(1);
  const colour = { worse: "#c62828", not_worse: "#2e7d32" }[b.decision] ?? "#757575";
  return html`<svg class="interval" width="160" height="18" role="img" aria-label="interval ${num(low, 3)} to ${num(high, 3)}, tolerated ${num(-b.tolerance, 3)}">
    <line x1="${x(0)}" x2="${x(0)}" y1="1" y2="17" stroke="#9e9e9e"/><line x1="${x(-b.tolerance)}" x2="${x(-b.tolerance)}" y1="1" y2="17" stroke="#ef6c00" stroke-dasharray="3 2"/>
    <line x1="${x(low)}" x2="${x(high)}" y1="9" y2="9" stroke="${colour}" stroke-width="4"/><circle cx="${x((low + high) / 2)}" cy="9" r="3" fill="${colour}"/></svg>`;
}
