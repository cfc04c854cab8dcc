// The form editor of a flag's definition: variants and values, prerequisites, rules (a
// clause on one attribute with the engine's operators, or a segment; anything else
// stays JSON), serves and weights, expiry. It edits a copy of the document: fields the
// form does not show are kept as they are, so an unchanged form writes back exactly the
// document it was given. The JSON view stays one click away and edits the same document.
import { html, mount, raw } from "../ui.js";
import { OPS } from "../clauses.js";

const OPERATORS = Object.keys(OPS);

/** A value as typed: JSON when it parses (`true`, `3`, `"x"`), else the text. */
export function typedValue(text) {
  const t = text.trim();
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

const shown = (v) => (typeof v === "string" ? v : JSON.stringify(v));
const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const simpleClause = (c) => c && typeof c.attr === "string" && Object.keys(c).every((k) => ["attr", "op", "values", "ignore_case"].includes(k));
const segmentClause = (c) => c && Object.keys(c).length === 1 && typeof c.segment === "string";

function serveFields(prefix, label, serve, variants) {
  const split = Boolean(serve?.rollout);
  const weights = serve?.rollout?.weights ?? {};
  return html`<div class="serve" data-serve="${prefix}">
    <label for="${prefix}-mode">${label}</label>
    <select id="${prefix}-mode" data-field="mode">
      ${variants.map((v) => html`<option value="variant:${v}" ${!split && serve?.variant === v ? raw("selected") : ""}>variant “${v}”</option>`)}
      <option value="split" ${split ? raw("selected") : ""}>a split by weight</option>
    </select>
    <fieldset class="weights" ${split ? "" : raw("hidden")}><legend>Weights (%)</legend>
      ${variants.map((v) => html`<label class="inline" for="${prefix}-w-${v}">${v} <input id="${prefix}-w-${v}" data-weight="${v}" type="number" min="0" max="100" step="0.001" value="${weights[v] ?? 0}"></label>`)}
    </fieldset>
  </div>`;
}

function ruleFields(rule, i, variants, segments) {
  const p = `rule-${i}`;
  const w = rule.when;
  const kind = simpleClause(w) ? "attr" : segmentClause(w) ? "segment" : "json";
  return html`<fieldset class="rule" data-rule="${i}"><legend>Rule ${i + 1}: ${rule.id}</legend>
    <label for="${p}-id">Id</label><input id="${p}-id" data-field="id" value="${rule.id}">
    ${kind === "attr" ? html`<div class="inline-form">
        <label for="${p}-attr">When attribute</label><input id="${p}-attr" data-field="attr" value="${w.attr}">
        <label for="${p}-op">operator</label><select id="${p}-op" data-field="op">${OPERATORS.map((o) => html`<option value="${o}" ${o === w.op ? raw("selected") : ""}>${o} (${OPS[o]})</option>`)}</select>
        <label for="${p}-values">values</label><input id="${p}-values" data-field="values" value="${(w.values ?? []).map(shown).join(", ")}" aria-describedby="values-hint">
      </div>` : ""}
    ${kind === "segment" ? html`<label for="${p}-segment">When in segment</label><select id="${p}-segment" data-field="segment">${[...new Set([...segments, w.segment])].map((s) => html`<option ${s === w.segment ? raw("selected") : ""}>${s}</option>`)}</select>` : ""}
    ${kind === "json" ? html`<label for="${p}-when">When (a compound clause, JSON)</label><textarea id="${p}-when" data-field="when" rows="4" spellcheck="false">${JSON.stringify(w, null, 2)}</textarea>` : ""}
    ${serveFields(p, `Rule ${rule.id} serves`, rule.serve, variants)}
    <button type="button" data-remove-rule="${i}">Remove rule ${rule.id}</button>
  </fieldset>`;
}

/** Renders the form for `doc` into `el`; returns `read()`, which gives the edited document. */
export function formEditor(el, doc, { segments = [], onInput = () => {} } = {}) {
  let base = structuredClone(doc);
  const draw = () => {
    const variants = Object.keys(base.variants ?? {});
    mount(
      el,
      html`<p class="hint" id="values-hint">Values are separated by commas; each is read as JSON when it can be (<code>true</code>, <code>3</code>), else as text.</p>
      <label for="form-expires">Expires</label><input id="form-expires" type="date" value="${(base.expires_at ?? "").slice(0, 10)}">
      <fieldset><legend>Variants</legend>
        <table class="form-variants"><thead><tr><th>Name</th><th>Value (JSON)</th><th></th></tr></thead><tbody>
        ${variants.map((v, i) => html`<tr data-variant="${v}"><td><input aria-label="Name of variant ${i + 1}" data-field="name" value="${v}"></td>
          <td><input aria-label="Value of variant ${v}" data-field="value" value="${JSON.stringify(base.variants[v])}"></td>
          <td><button type="button" data-remove-variant="${v}">Remove ${v}</button></td></tr>`)}
        </tbody></table>
        <button type="button" id="add-variant">Add variant</button>
      </fieldset>
      <fieldset><legend>Prerequisites</legend>
        ${(base.prerequisites ?? []).map((p, i) => html`<div class="inline-form prerequisite" data-prerequisite="${i}">
          <label for="pre-${i}-flag">Flag</label><input id="pre-${i}-flag" data-field="flag" value="${p.flag}">
          <label for="pre-${i}-variants">serves one of</label><input id="pre-${i}-variants" data-field="variants" value="${p.variants.join(", ")}">
          <button type="button" data-remove-prerequisite="${i}">Remove</button></div>`)}
        <button type="button" id="add-prerequisite">Add prerequisite</button>
      </fieldset>
      <h3>Rules, in order</h3>
      ${(base.rules ?? []).map((r, i) => ruleFields(r, i, variants, segments))}
      <button type="button" id="add-rule">Add rule</button>
      <fieldset class="fallthrough"><legend>Otherwise (fallthrough)</legend>${serveFields("fallthrough", "Otherwise serves", base.fallthrough, variants)}</fieldset>`,
    );
    for (const select of el.querySelectorAll('[data-field="mode"]')) {
      select.addEventListener("change", () => {
        select.closest(".serve").querySelector(".weights").hidden = select.value !== "split";
      });
    }
    const redraw = (change) => () => {
      base = read();
      change(base);
      draw();
      onInput();
    };
    el.querySelector("#add-variant").addEventListener("click", redraw((d) => {
      let n = Object.keys(d.variants ?? {}).length + 1;
      while (`variant-${n}` in (d.variants ?? {})) n++;
      d.variants = { ...d.variants, [`variant-${n}`]: null };
    }));
    el.querySelector("#add-prerequisite").addEventListener("click", redraw((d) => (d.prerequisites = [...(d.prerequisites ?? []), { flag: "", variants: ["on"] }])));
    el.querySelector("#add-rule").addEventListener("click", redraw((d) => {
      d.rules = [...(d.rules ?? []), { id: `rule-${(d.rules ?? []).length + 1}`, when: { attr: "targetingKey", op: "in", values: [] }, serve: { variant: Object.keys(d.variants ?? {})[0] } }];
    }));
    for (const b of el.querySelectorAll("[data-remove-variant]")) b.addEventListener("click", redraw((d) => delete d.variants[b.dataset.removeVariant]));
    for (const b of el.querySelectorAll("[data-remove-prerequisite]")) b.addEventListener("click", redraw((d) => d.prerequisites.splice(Number(b.dataset.removePrerequisite), 1)));
    for (const b of el.querySelectorAll("[data-remove-rule]")) b.addEventListener("click", redraw((d) => d.rules.splice(Number(b.dataset.removeRule), 1)));
  };

  const serveOf = (box, before) => {
    const mode = box.querySelector('[data-field="mode"]').value;
    if (mode !== "split") {
      const variant = mode.slice("variant:".length);
      return before?.variant === variant ? before : { variant };
    }
    const typed = Object.fromEntries([...box.querySelectorAll("[data-weight]")].map((i) => [i.dataset.weight, Number(i.value)]));
    // The split's own variants in its order; another variant joins only with a weight.
    const weights = {};
    for (const v of Object.keys(before?.rollout?.weights ?? {})) if (v in typed) weights[v] = typed[v];
    for (const [v, w] of Object.entries(typed)) if (!(v in weights) && w) weights[v] = w;
    const rollout = { ...(before?.rollout ?? {}), weights };
    return { ...(before?.rollout ? before : {}), rollout };
  };

  /** The edited document: `doc` with the form's fields written over it, others kept. */
  function read() {
    const d = structuredClone(base);
    const expires = el.querySelector("#form-expires").value;
    const oldDay = (base.expires_at ?? "").slice(0, 10);
    if (!expires) delete d.expires_at;
    else if (expires !== oldDay) d.expires_at = `${expires}T00:00:00Z`;
    d.variants = {};
    const renamed = {};
    for (const row of el.querySelectorAll("[data-variant]")) {
      const name = row.querySelector('[data-field="name"]').value.trim();
      const text = row.querySelector('[data-field="value"]').value;
      const before = base.variants[row.dataset.variant];
      d.variants[name] = text === JSON.stringify(before) ? before : typedValue(text);
      renamed[row.dataset.variant] = name;
    }
    if (base.off_variant in renamed) d.off_variant = renamed[base.off_variant];
    const prereqs = [...el.querySelectorAll("[data-prerequisite]")].map((row) => ({
      ...base.prerequisites[Number(row.dataset.prerequisite)],
      flag: row.querySelector('[data-field="flag"]').value.trim(),
      variants: list(row.querySelector('[data-field="variants"]').value),
    }));
    if (prereqs.length || base.prerequisites) d.prerequisites = prereqs;
    d.rules = [...el.querySelectorAll("[data-rule]")].map((box) => {
      const old = base.rules[Number(box.dataset.rule)];
      const rule = { ...old, id: box.querySelector('[data-field="id"]').value.trim() };
      const f = (name) => box.querySelector(`[data-field="${name}"]`);
      if (f("attr")) {
        const valuesText = f("values").value;
        const values = valuesText === (old.when.values ?? []).map(shown).join(", ") ? old.when.values : list(valuesText).map(typedValue);
        rule.when = { ...old.when, attr: f("attr").value.trim(), op: f("op").value, values };
      } else if (f("segment")) {
        rule.when = { segment: f("segment").value };
      } else {
        try {
          rule.when = JSON.parse(f("when").value);
        } catch (e) {
          throw Object.assign(new Error(`rule ${rule.id}: the clause is not JSON: ${e.message}`), { details: [] });
        }
      }
      rule.serve = serveOf(box.querySelector(".serve"), old.serve);
      return rule;
    });
    if (!base.rules && !d.rules.length) delete d.rules;
    d.fallthrough = serveOf(el.querySelector('[data-serve="fallthrough"]'), base.fallthrough);
    return d;
  }

  draw();
  el.addEventListener("input", () => onInput());
  el.addEventListener("change", () => onInput());
  return {
    read,
    /** Shows another document (the JSON view's) in the form. */
    load(next) {
      base = structuredClone(next);
      draw();
    },
  };
}
