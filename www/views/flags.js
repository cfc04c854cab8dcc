// Flags: the list with filters, a new flag form, a flag's page, its metrics.
import { api } from "../api.js";
import { html, mount, toast, errorBlock, empty, when, confirmWithReason, diffLines, raw, num } from "../ui.js";
import { clauseText, serveText } from "../clauses.js";
import { can, currentEnv, me } from "../app.js";
import { seriesChart } from "./charts.js";
import { rolloutSection, wireRollout } from "./rollout-box.js";
import { changeCard, wireCards } from "../review/card.js";
import { formEditor } from "./form-editor.js";

const KINDS = ["release", "experiment", "ops", "kill_switch", "permission"];
const RISKS = ["low", "medium", "high", "critical"];
const PACKS = ["MiFID_II", "Dodd_Frank", "MARKET_ABUSE", "HIPAA"];
const STRATEGIES = ["progressive_rollout", "targeted_release", "kill_switch", "a_b_testing", "canary_release", "operational_toggle"];
const enc = encodeURIComponent;
const filters = { q: "", kind: "", risk: "", pack: "", owner: "", tag: "", status: "" };
const STATUSES = ["enabled", "disabled", "pending", "stale", "expired"];

function badge(f) {
  if (f.pending_create) return html`<span class="badge warn">pending approval</span>`;
  if (f.archived) return html`<span class="badge muted">archived</span>`;
  return f.enabled ? html`<span class="badge on">enabled</span>` : html`<span class="badge off">disabled</span>`;
}

/** A pending create change as a row of the flag list. */
function pendingSummary(c) {
  const d = c.document ?? {};
  const waiting = [...new Set(c.required.filter((r) => !r.approved_by).map((r) => r.role))];
  return {
    key: c.flag, name: d.name, kind: d.kind ?? "release", risk: d.risk ?? "low", compliance: d.compliance ?? [], owner: d.owner,
    tags: d.tags ?? [], enabled: false, archived: false, updated_at: c.created_at, updated_by: c.author,
    serving: `nothing yet: waits for ${waiting.join(", ") || "applying"}`, rollout_percentage: null, evaluations_24h: 0,
    pending_changes: 1, pending_create: c.id,
  };
}

function options(values, selected, all) {
  return [html`<option value="">${all}</option>`, ...values.map((v) => html`<option value="${v}" ${v === selected ? raw("selected") : ""}>${v}</option>`)];
}

export async function list(main) {
  const env = currentEnv();
  const [{ flags: live }, { insights }, creating] = await Promise.all([
    api("GET", `/environments/${enc(env)}/flags`),
    api("GET", `/insights?environment=${enc(env)}`),
    api("GET", `/changes?status=pending&kind=create&environment=${enc(env)}&limit=200`),
  ]);
  // A flag whose creation waits for approval is listed too, marked pending.
  const flags = [...creating.changes.map(pendingSummary), ...live];
  const flagged = new Map();
  for (const i of insights) flagged.set(i.flag, [...(flagged.get(i.flag) ?? []), i]);
  const owners = [...new Set(flags.map((f) => f.owner).filter(Boolean))].sort();
  const tags = [...new Set(flags.flatMap((f) => f.tags ?? []))].sort();
  const draw = () => {
    const q = filters.q.toLowerCase();
    const shown = flags.filter((f) => {
      const notes = flagged.get(f.key) ?? [];
      return (
        (!q || f.key.includes(q) || (f.name ?? "").toLowerCase().includes(q)) &&
        (!filters.kind || f.kind === filters.kind) &&
        (!filters.risk || f.risk === filters.risk) &&
        (!filters.pack || (f.compliance ?? []).includes(filters.pack)) &&
        (!filters.owner || f.owner === filters.owner) &&
        (!filters.tag || (f.tags ?? []).includes(filters.tag)) &&
        (!filters.status ||
          (filters.status === "enabled" && f.enabled) ||
          (filters.status === "disabled" && !f.enabled && !f.pending_create) ||
          (filters.status === "pending" && f.pending_changes > 0) ||
          (filters.status === "expired" && notes.some((n) => n.kind === "expired")) ||
          (filters.status === "stale" && notes.some((n) => n.kind !== "expired")))
      );
    });
    const rows = shown.map(
      (f) => html`<tr class="${f.pending_create ? "pending" : ""}">
        <td><a href="#/flag/${enc(env)}/${enc(f.key)}">${f.key}</a>${f.name ? html`<div class="hint">${f.name}</div>` : ""}</td>
        <td>${badge(f)}${(f.tags ?? []).length ? html`<div class="hint">${f.tags.join(", ")}</div>` : ""}</td>
        <td>${f.serving}</td>
        <td class="num">${f.rollout_percentage ?? "—"}${f.rollout_percentage !== null ? "%" : ""}</td>
        <td><span class="risk ${f.risk}">${f.risk}</span></td>
        <td>${(f.compliance ?? []).join(", ") || "—"}</td>
        <td>${when(f.updated_at)}<div class="hint">by ${f.updated_by}</div></td>
        <td class="num">${num(f.evaluations_24h)}</td>
        <td>${f.pending_create ? html`<a href="#/change/${f.pending_create}">change #${f.pending_create}</a>` : f.pending_changes ? html`<a href="#/changes">${f.pending_changes} pending</a>` : ""}
            ${(flagged.get(f.key) ?? []).map((n) => html`<span class="badge warn" title="${n.recommendation}">${n.kind.replaceAll("_", " ")}</span>`)}</td>
      </tr>`,
    );
    mount(
      main.querySelector("#table"),
      shown.length
        ? html`<table><caption class="sr">Flags in ${env}</caption><thead><tr><th>Flag</th><th>Status</th><th>Serving</th><th>Rollout</th><th>Risk</th><th>Compliance</th><th>Last change</th><th>Evaluations 24 h</th><th>Notes</th></tr></thead><tbody>${rows}</tbody></table>`
        : flags.length
          ? empty("No flag matches these filters.")
          : empty(`No flags in ${env} yet.`, can("edit") ? "Create one with “New flag”." : "Ask an editor to create one."),
    );
  };
  mount(
    main,
    html`<div class="heading"><h1>Flags in ${env}</h1>${can("edit") ? html`<a class="button primary" href="#/new">New flag</a>` : ""}</div>
    <form class="filters" id="filters" role="search">
      <label>Search <input name="q" type="search" value="${filters.q}" placeholder="key or name"></label>
      <label>Kind <select name="kind">${options(KINDS, filters.kind, "any")}</select></label>
      <label>Risk <select name="risk">${options(RISKS, filters.risk, "any")}</select></label>
      <label>Compliance <select name="pack">${options(PACKS, filters.pack, "any")}</select></label>
      <label>Owner <select name="owner">${options(owners, filters.owner, "any")}</select></label>
      <label>Tag <select name="tag">${options(tags, filters.tag, "any")}</select></label>
      <label>Status <select name="status">${options(STATUSES, filters.status, "any")}</select></label>
    </form>
    <div id="table"></div>`,
  );
  main.querySelector("#filters").addEventListener("input", (e) => {
    filters[e.target.name] = e.target.value;
    draw();
  });
  draw();
}

/** The form of a new flag; `check` validates it with the engine through the origin. */
export async function create(main) {
  const env = currentEnv();
  const expiry = new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10);
  mount(
    main,
    html`<h1>New flag in ${env}</h1>
    <form id="new" class="form">
      <label for="key">Key</label><input id="key" name="key" required placeholder="checkout-v2" aria-describedby="key-hint">
      <p class="hint" id="key-hint">Lowercase words joined by dashes; it is how code asks for the flag.</p>
      <label for="name">Name</label><input id="name" name="name">
      <label for="description">Description</label><textarea id="description" name="description" rows="2"></textarea>
      <label for="owner">Owner</label><input id="owner" name="owner" value="${me()?.name ?? ""}">
      <label for="kind">Kind</label><select id="kind" name="kind">${options(KINDS, "release", "release").slice(1)}</select>
      <label for="strategy">Strategy</label><select id="strategy" name="strategy">${options(STRATEGIES, "progressive_rollout", "").slice(1)}</select>
      <label for="risk">Risk</label><select id="risk" name="risk">${options(RISKS, "low", "").slice(1)}</select>
      <fieldset><legend>Compliance</legend>${PACKS.map((p) => html`<label class="inline"><input type="checkbox" name="compliance" value="${p}"> ${p}</label>`)}</fieldset>
      <label for="expires">Expires</label><input id="expires" name="expires" type="date" value="${expiry}">
      <label for="extra">More fields (JSON, merged into the flag: rules, variants, affected_systems, …)</label>
      <textarea id="extra" name="extra" rows="4" spellcheck="false">{}</textarea>
      <div class="actions">
        <button type="button" id="check">Check</button>
        <button type="submit" class="primary">Create</button>
      </div>
      <div id="result" aria-live="polite"></div>
    </form>`,
  );
  const form = main.querySelector("#new");
  const doc = () => {
    const data = new FormData(form);
    let extra = {};
    try {
      extra = JSON.parse(data.get("extra") || "{}");
    } catch (e) {
      throw Object.assign(new Error(`“More fields” is not JSON: ${e.message}`), { details: [] });
    }
    const flag = {
      key: data.get("key").trim(),
      name: data.get("name") || undefined,
      description: data.get("description") || undefined,
      owner: data.get("owner") || undefined,
      kind: data.get("kind"),
      strategy: data.get("strategy"),
      risk: data.get("risk"),
      compliance: data.getAll("compliance"),
      expires_at: data.get("expires") ? new Date(`${data.get("expires")}T00:00:00Z`).toISOString() : undefined,
      enabled: true,
      variants: { on: true, off: false },
      off_variant: "off",
      fallthrough: { variant: "off" },
      ...extra,
    };
    return flag;
  };
  const result = main.querySelector("#result");
  const check = async () => {
    const v = await api("POST", `/environments/${enc(env)}/validate`, { flag: doc() });
    const problems = [
      ...v.issues.map((i) => html`<li><code>${i.path}</code> ${i.message}</li>`),
      ...v.violations.map((i) => html`<li><code>${i.policy}</code> ${i.message}</li>`),
    ];
    const approvals = v.approvals.map((a) => html`<li>${a.role} <span class="hint">(${a.policy})</span></li>`);
    mount(
      result,
      problems.length
        ? html`<div class="error" role="alert"><strong>This flag cannot be created yet:</strong><ul>${problems}</ul></div>`
        : html`<div class="ok">Valid. ${approvals.length ? html`It will need approval from:<ul>${approvals}</ul>` : "It applies at once."}</div>`,
    );
    return problems.length === 0;
  };
  main.querySelector("#check").addEventListener("click", () => check().catch((e) => mount(result, errorBlock(e))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      if (!(await check())) return;
      const change = await api("POST", `/environments/${enc(env)}/flags`, { flag: doc(), reason: "created in the console" });
      toast(change.status === "applied" ? `${change.flag} created` : `${change.flag}: change #${change.id} waits for approval`);
      location.hash = `#/flag/${enc(env)}/${enc(change.flag)}`;
    } catch (e) {
      mount(result, errorBlock(e));
    }
  });
}

function rulesView(flag) {
  const rules = (flag.rules ?? []).map(
    (r) => html`<li><strong>${r.id}</strong>: when ${clauseText(r.when)}, ${serveText(r.serve)}</li>`,
  );
  return html`
    ${flag.access ? html`<p>Access: only when ${clauseText(flag.access)} (otherwise ${flag.off_variant}, audited)</p>` : ""}
    ${(flag.prerequisites ?? []).length ? html`<p>Prerequisites: ${flag.prerequisites.map((p) => `${p.flag} ∈ {${p.variants.join(", ")}}`).join("; ")}</p>` : ""}
    ${rules.length ? html`<ol class="rules">${rules}</ol>` : html`<p>No rules.</p>`}
    <p>Otherwise: ${serveText(flag.fallthrough)}.</p>`;
}

/** Segment names a clause reads, directly or through other segments. */
function segmentsOf(clause, all, out = new Set()) {
  if (!clause || typeof clause !== "object") return out;
  for (const c of [...(clause.all ?? []), ...(clause.any ?? []), clause.not].filter(Boolean)) segmentsOf(c, all, out);
  if (clause.segment && !out.has(clause.segment)) {
    out.add(clause.segment);
    segmentsOf(all[clause.segment], all, out);
  }
  return out;
}

/** A flag that exists only as a pending create: its change requests, reviewed in place. */
async function pendingDetail(main, env, key, error) {
  const { changes } = await api("GET", `/changes?status=pending&environment=${enc(env)}&flag=${enc(key)}`);
  if (!changes.length) throw error;
  const cache = {};
  const cards = await Promise.all(changes.map((c) => changeCard(c, cache)));
  mount(
    main,
    html`<div class="heading"><h1>${key} <span class="hint">in ${env}</span></h1><span class="badge warn">pending approval</span></div>
    <p class="pending-note">This flag is not live yet: its creation waits for approval. Nothing is published until it is approved.</p>
    ${cards}`,
  );
  wireCards(main, () => detail(main, [env, key]));
}

export async function detail(main, [env, key]) {
  let f;
  try {
    f = await api("GET", `/environments/${enc(env)}/flags/${enc(key)}`);
  } catch (e) {
    if (e.status === 404) return pendingDetail(main, env, key, e);
    throw e;
  }
  const [history, rollouts, defs] = await Promise.all([
    api("GET", `/environments/${enc(env)}/flags/${enc(key)}/history`),
    api("GET", `/environments/${enc(env)}/rollouts?flag=${enc(key)}`),
    api("GET", `/environments/${enc(env)}/segments`),
  ]);
  const flag = f.flag;
  const edit = can("edit") && !f.archived;
  // Pending changes to this flag, reviewed in place (the same cards as on Changes).
  const reviewCache = {};
  const pendingCards = await Promise.all(f.pending.map((id) => api("GET", `/changes/${id}`).then((c) => changeCard(c, reviewCache))));
  const variants = Object.entries(flag.variants ?? {}).map(
    ([name, value]) => html`<tr><td>${name}${name === flag.off_variant ? html` <span class="hint">(off)</span>` : ""}</td><td><code>${JSON.stringify(value)}</code></td></tr>`,
  );
  const revisions = history.revisions.map((r, i) => {
    const older = history.revisions[i + 1];
    const diff = older ? diffLines(JSON.stringify(older.document, null, 2), JSON.stringify(r.document, null, 2)) : [];
    return html`<details><summary>Revision ${r.revision} · ${when(r.at)} · ${r.author} · change #${r.change_id}${r.archived ? " · archived" : ""}</summary>
      ${older ? html`<pre class="diff">${diff.map((d) => html`<span class="${d.op === "+" ? "add" : "del"}">${d.op} ${d.line}\n</span>`)}</pre>` : html`<pre>${JSON.stringify(r.document, null, 2)}</pre>`}
    </details>`;
  });
  mount(
    main,
    html`<div class="heading"><h1>${key} <span class="hint">in ${env}</span></h1>${badge(f)}</div>
    <p>${flag.description ?? ""}</p>
    <dl class="facts">
      <dt>Serving</dt><dd>${f.serving}</dd>
      <dt>Risk</dt><dd><span class="risk ${f.risk}">${f.risk}</span></dd>
      <dt>Kind</dt><dd>${f.kind}${f.strategy ? ` · ${f.strategy}` : ""}</dd>
      <dt>Owner</dt><dd>${f.owner ?? "—"}</dd>
      <dt>Compliance</dt><dd>${(f.compliance ?? []).join(", ") || "—"}</dd>
      <dt>Expires</dt><dd>${when(f.expires_at)}</dd>
      <dt>Revision</dt><dd>${f.revision} · ${when(f.updated_at)} by ${f.updated_by}</dd>
      <dt>Pending</dt><dd>${f.pending.length ? f.pending.map((id) => html`<a href="#/change/${id}">#${id}</a> `) : "none"}</dd>
    </dl>
    <div class="actions">
      ${edit && f.enabled ? html`<button class="danger" id="kill">Kill switch…</button>` : ""}
      ${edit && !f.enabled ? html`<button id="enable">Enable…</button>` : ""}
      <a class="button" href="#/metrics/${enc(env)}/${enc(key)}">Metrics</a>
      ${rollouts.rollouts[0] ? html`<a class="button" href="#/rollout/${rollouts.rollouts[0].id}">Rollout #${rollouts.rollouts[0].id} (${rollouts.rollouts[0].status})</a>` : ""}
    </div>
    <div id="result" aria-live="polite"></div>
    ${pendingCards.length ? html`<section aria-labelledby="pending-changes"><h2 id="pending-changes">Pending changes</h2>${pendingCards}</section>` : ""}
    <section><h2>Variants</h2><table><thead><tr><th>Variant</th><th>Value</th></tr></thead><tbody>${variants}</tbody></table></section>
    <section><h2>Targeting</h2>${rulesView(flag)}
      ${(() => {
        const used = new Set();
        for (const c of [flag.access, ...(flag.rules ?? []).map((r) => r.when)]) segmentsOf(c, defs.segments, used);
        const items = [...used].map((name) => html`<li><strong>${name}</strong>: ${defs.segments[name] ? clauseText(defs.segments[name]) : "(missing)"}</li>`);
        return items.length ? html`<h3>Segments</h3><ul>${items}</ul>` : "";
      })()}
    </section>
    ${edit ? rolloutSection(flag) : ""}
    ${edit ? html`<section><h2>Definition</h2>
      <form id="editor">
        <div class="tabs" role="group" aria-label="Edit the definition as">
          <button type="button" id="show-form" aria-pressed="true">Form</button><button type="button" id="show-json" aria-pressed="false">JSON</button>
        </div>
        <div id="form-view"></div>
        <div id="form-check" aria-live="polite"></div>
        <div id="json-view" hidden><label for="doc">Flag document (JSON)</label>
        <textarea id="doc" rows="16" spellcheck="false">${JSON.stringify(flag, null, 2)}</textarea></div>
        <label for="why">Reason</label><input id="why" name="why">
        <div class="actions"><button type="button" id="check">Check</button><button class="primary" type="submit">Propose change</button></div>
      </form></section>` : html`<section><h2>Definition</h2><pre>${JSON.stringify(flag, null, 2)}</pre></section>`}
    <section><h2>History</h2>${revisions}</section>`,
  );
  const result = main.querySelector("#result");
  wireCards(main, () => detail(main, [env, key]));
  const done = (change, what) => {
    toast(change.status === "applied" ? `${what}: applied (snapshot v${change.applied?.snapshot_version})` : `${what}: change #${change.id} is ${change.status}`);
    detail(main, [env, key]);
  };
  const fail = (e) => mount(result, errorBlock(e));
  main.querySelector("#kill")?.addEventListener("click", async () => {
    const reason = await confirmWithReason({
      title: `Disable ${key} in ${env}?`,
      body: "Everyone gets the off variant at once. No approval is needed; the action is audited.",
      action: "Disable now",
      danger: true,
    });
    if (!reason) return;
    api("POST", `/environments/${enc(env)}/flags/${enc(key)}/kill`, { reason }).then((c) => done(c, "Kill switch"), fail);
  });
  main.querySelector("#enable")?.addEventListener("click", async () => {
    const reason = await confirmWithReason({ title: `Enable ${key} in ${env}?`, body: "This goes through the usual approvals.", action: "Enable" });
    if (!reason) return;
    api("POST", `/environments/${enc(env)}/flags/${enc(key)}/enable`, { reason }).then((c) => done(c, "Enable"), fail);
  });
  if (edit) wireRollout(main, env, key, flag, done, fail);
  const jsonDoc = () => {
    try {
      return JSON.parse(main.querySelector("#doc").value);
    } catch (e) {
      throw Object.assign(new Error(`The definition is not JSON: ${e.message}`), { details: [] });
    }
  };
  // The form and the JSON view edit one document; switching carries the edits across.
  let form = null;
  let formShown = true;
  const parsed = () => (formShown && form ? form.read() : jsonDoc());
  if (edit) {
    let timer = null;
    const check = main.querySelector("#form-check");
    const validate = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        try {
          const v = await api("POST", `/environments/${enc(env)}/validate`, { flag: parsed() });
          mount(check, v.valid ? html`<p class="ok">Valid.${v.approvals.length ? ` Needs ${[...new Set(v.approvals.map((a) => a.role))].join(", ")}.` : " Applies at once."}</p>` : errorBlock({ message: "Not valid yet:", details: [...v.issues, ...v.violations] }));
        } catch (e) {
          mount(check, errorBlock(e));
        }
      }, 400);
    };
    form = formEditor(main.querySelector("#form-view"), flag, { segments: Object.keys(defs.segments), onInput: validate });
    const show = (toForm) => {
      try {
        if (toForm && !formShown) form.load(jsonDoc());
        if (!toForm && formShown) main.querySelector("#doc").value = JSON.stringify(form.read(), null, 2);
      } catch (e) {
        return fail(e);
      }
      formShown = toForm;
      main.querySelector("#form-view").hidden = !toForm;
      main.querySelector("#json-view").hidden = toForm;
      main.querySelector("#show-form").setAttribute("aria-pressed", String(toForm));
      main.querySelector("#show-json").setAttribute("aria-pressed", String(!toForm));
    };
    main.querySelector("#show-form").addEventListener("click", () => show(true));
    main.querySelector("#show-json").addEventListener("click", () => show(false));
  }
  main.querySelector("#check")?.addEventListener("click", async () => {
    try {
      const v = await api("POST", `/environments/${enc(env)}/validate`, { flag: parsed() });
      mount(result, v.valid ? html`<div class="ok">Valid.${v.approvals.length ? ` Needs ${[...new Set(v.approvals.map((a) => a.role))].join(", ")}.` : " Applies at once."}</div>` : errorBlock({ message: "Not valid:", details: [...v.issues, ...v.violations] }));
    } catch (e) {
      fail(e);
    }
  });
  main.querySelector("#editor")?.addEventListener("submit", (e) => {
    e.preventDefault();
    let flagDoc;
    try {
      flagDoc = parsed();
    } catch (err) {
      return fail(err);
    }
    api("PUT", `/environments/${enc(env)}/flags/${enc(key)}`, { flag: flagDoc, reason: main.querySelector("#why").value || undefined }).then((c) => done(c, "Update"), fail);
  });
}

export async function metrics(main, [env, key]) {
  const [m, report] = await Promise.all([
    api("GET", `/flags/${enc(key)}/metrics?env=${enc(env)}`),
    api("GET", `/environments/${enc(env)}/flags/${enc(key)}/insights?days=7`),
  ]);
  const variants = Object.entries(m.variants).map(
    ([name, v]) => html`<tr><td>${name}</td><td class="num">${num(v.count)}</td><td class="num">${num(v.unique_units, 0)}</td><td class="num">${num(v.outcome_error_rate)}</td><td class="num">${num(v.latency_mean_ms, 1)}</td><td>${Object.entries(v.reasons).map(([r, n]) => `${r} ${n}`).join(", ")}</td></tr>`,
  );
  const outcomes = Object.entries(m.outcomes).flatMap(([event, byVariant]) =>
    Object.entries(byVariant).map(([variant, o]) => html`<tr><td>${event}</td><td>${variant}</td><td class="num">${num(o.count)}</td><td class="num">${num(o.success_rate)}</td><td class="num">${num(o.value_mean)}</td><td class="num">${num(o.latency_p95_ms, 1)}</td></tr>`),
  );
  const geo = Object.entries(m.geography).sort((a, b) => b[1] - a[1]).map(([c, n]) => html`<tr><td>${c}</td><td class="num">${n}</td></tr>`);
  const notes = report.recommendations.map((i) => html`<li><strong>${i.reason}</strong> — ${i.recommendation}</li>`);
  const signed = (x) => (x === null || x === undefined ? "—" : `${x > 0 ? "+" : ""}${num(x)}`);
  const { control, events } = report.business_impact;
  const impact = Object.entries(events).flatMap(([event, byVariant]) =>
    Object.entries(byVariant).map(([variant, o]) => html`<tr><td>${event}</td><td>${variant}${variant === control ? html` <span class="hint">(control)</span>` : ""}</td><td class="num">${num(o.count)}</td><td class="num">${num(o.value_mean)}</td><td class="num">${o.vs_control ? signed(o.vs_control.value_mean) : "—"}</td><td class="num">${num(o.success_rate)}</td><td class="num">${o.vs_control ? signed(o.vs_control.success_rate) : "—"}</td></tr>`),
  );
  const life = report.lifecycle;
  mount(
    main,
    html`<h1>Metrics of <a href="#/flag/${enc(env)}/${enc(key)}">${key}</a> in ${env}</h1>
    <p class="hint">${when(m.from)} to ${when(m.to)}</p>
    <dl class="facts">
      <dt>Evaluations</dt><dd>${num(m.total_evaluations)}</dd><dt>Unique units</dt><dd>${num(m.unique_units, 0)} <span class="hint">(estimated, ±3 %)</span></dd>
      <dt>Error rate</dt><dd>${num(m.error_rate)} %</dd><dt>Success rate</dt><dd>${num(m.success_rate)} %</dd>
      <dt>Response time</dt><dd>${num(m.avg_response_time_ms, 1)} ms mean, ${num(m.p95_response_time_ms, 1)} ms p95</dd>
    </dl>
    ${notes.length ? html`<section><h2>Recommendations</h2><ul>${notes}</ul></section>` : ""}
    <section id="lifecycle"><h2>Lifecycle</h2><p>${life.state}, revision ${life.revision}, last changed ${when(life.last_changed_at)} by <strong>${life.last_changed_by}</strong>${life.expires_at ? ` · expires ${when(life.expires_at)} (${life.expires_in_days < 0 ? `${-life.expires_in_days} days ago` : `in ${life.expires_in_days} days`})` : " · no expiry"}</p></section>
    <section id="impact"><h2>Business impact <span class="hint">(last ${report.days} days${control ? `, against the control “${control}”` : ""})</span></h2>${impact.length ? html`<table><thead><tr><th>Event</th><th>Variant</th><th>Count</th><th>Mean value</th><th>Δ value</th><th>Success %</th><th>Δ success</th></tr></thead><tbody>${impact}</tbody></table>` : empty("No outcomes tracked in the last days.", "track(event, { value }) in the SDK attributes outcomes to the variants served.")}</section>
    <section><h2>Evaluations by variant</h2><div id="chart" class="chart"></div></section>
    ${m.total_evaluations ? "" : empty("No evaluations reported yet.", "Edges report metrics when given a metricsUrl and an SDK key.")}
    <section><h2>Variants</h2><table><thead><tr><th>Variant</th><th>Evaluations</th><th>Units</th><th>Outcome errors %</th><th>Latency ms</th><th>Reasons</th></tr></thead><tbody>${variants}</tbody></table></section>
    <section><h2>Tracked outcomes</h2>${outcomes.length ? html`<table><thead><tr><th>Event</th><th>Variant</th><th>Count</th><th>Success %</th><th>Mean value</th><th>p95 ms</th></tr></thead><tbody>${outcomes}</tbody></table>` : empty("No outcomes tracked.")}</section>
    <section><h2>Geography</h2>${geo.length ? html`<table><thead><tr><th>Country</th><th>Evaluations</th></tr></thead><tbody>${geo}</tbody></table>` : empty("No country dimension reported.")}</section>`,
  );
  if (m.series.length) {
    const names = Object.keys(m.variants);
    seriesChart(main.querySelector("#chart"), {
      times: m.series.map((p) => Date.parse(p.at) / 1000),
      series: names.map((n) => ({ label: n, values: m.series.map((p) => p.variants[n] ?? 0) })),
      yLabel: "evaluations",
    });
  }
}
