// The rollout box of a flag's page: which serve a percentage applies to, and the
// forms that change it. A split may live in a rule (`pros` of
// enhanced-order-routing-v2) rather than the fallthrough: the box shows and edits the
// serve that holds the split, and with several makes the user pick, so a proposal
// never turns the fallthrough (users no rule matched) into a split by mistake.
import { api } from "../api.js";
import { html } from "../ui.js";

const enc = encodeURIComponent;
// Option values: `rule:ID`, or this for the fallthrough.
const FALLTHROUGH = "fallthrough";

/** The variant a rollout treats: the first that is not the off variant (as the API). */
export function treatedVariant(flag) {
  return Object.keys(flag.variants ?? {}).find((v) => v !== flag.off_variant) ?? null;
}

/** The share of `serve` on `variant`, percent. */
function share(serve, variant) {
  if (!serve) return 0;
  if (typeof serve.variant === "string") return serve.variant === variant ? 100 : 0;
  return Number(serve.rollout?.weights?.[variant] ?? 0);
}

/**
 * Every serve a rollout can set: each rule's and the fallthrough, with the treated
 * variant's share and whether it holds a split; and the one to edit by default (the
 * only split, the fallthrough when there is none, none when several: the user picks).
 */
export function rolloutTargets(flag) {
  const variant = treatedVariant(flag);
  const targets = (flag.rules ?? [])
    .filter((r) => typeof r.id === "string" && r.serve)
    .map((r) => ({ value: `rule:${r.id}`, rule: r.id, label: `rule ${r.id}`, percent: share(r.serve, variant), split: Boolean(r.serve.rollout) }));
  targets.push({ value: FALLTHROUGH, rule: null, label: "fallthrough (users no rule matched)", percent: share(flag.fallthrough, variant), split: Boolean(flag.fallthrough?.rollout) });
  const splits = targets.filter((t) => t.split);
  const chosen = splits.length === 1 ? splits[0] : splits.length === 0 ? targets[targets.length - 1] : null;
  return { variant, targets, chosen };
}

/** The rollout section's markup. */
export function rolloutSection(flag) {
  const { variant, targets, chosen } = rolloutTargets(flag);
  const several = targets.filter((t) => t.split).length > 1;
  const options = targets.map(
    (t) => html`<option value="${t.value}" ${chosen === t ? "selected" : ""}>${t.label}: ${variant} ${t.percent}%${t.split ? " (split)" : ""}</option>`,
  );
  return html`<section><h2>Rollout</h2>
    <p class="hint">${several ? "Several serves split traffic: choose the one to change." : `Changes the share of ${variant ?? "the on variant"} in the serve chosen below.`}</p>
    <form id="rollout" class="inline-form">
      <label for="rollout-target">Serve</label>
      <select id="rollout-target" name="target" required>
        ${chosen ? "" : html`<option value="" selected>choose a serve…</option>`}${options}
      </select>
      <label for="percentage">serves ${variant ?? "the on variant"} to</label>
      <input id="percentage" name="percentage" type="number" min="0" max="100" step="0.001" required value="${chosen ? chosen.percent : ""}"> %
      <button type="submit">Propose</button>
    </form>
    <form id="progressive" class="inline-form">
      <label for="stages">Progressive rollout stages</label><input id="stages" name="stages" value="5,15,25,50,75,100">
      <label for="stage">each</label><input id="stage" name="stage" value="10m" size="5">
      <button type="submit">Start</button>
    </form></section>`;
}

/**
 * Wires the section's forms on `main`: the percentage follows the chosen serve, and
 * both the proposal and a progressive rollout target it (`rule`, absent for the
 * fallthrough). `done(change, what)` and `fail(error)` report the outcome.
 */
export function wireRollout(main, env, key, flag, done, fail) {
  const { targets } = rolloutTargets(flag);
  const select = main.querySelector("#rollout-target");
  if (!select) return;
  const target = () => targets.find((t) => t.value === select.value) ?? null;
  select.addEventListener("change", () => {
    const t = target();
    if (t) main.querySelector("#percentage").value = t.percent;
  });
  const chosenRule = () => {
    const t = target();
    if (!t) {
      fail({ message: "Choose the serve to change: several serve a split." });
      select.focus();
      return undefined;
    }
    return t.rule;
  };
  main.querySelector("#rollout").addEventListener("submit", (e) => {
    e.preventDefault();
    const rule = chosenRule();
    if (rule === undefined) return;
    const percentage = Number(main.querySelector("#percentage").value);
    const where = rule ? ` in rule ${rule}` : "";
    api("POST", `/environments/${enc(env)}/flags/${enc(key)}/rollout`, { percentage, ...(rule ? { rule } : {}) }).then((c) => done(c, `Rollout ${percentage}%${where}`), fail);
  });
  main.querySelector("#progressive").addEventListener("submit", (e) => {
    e.preventDefault();
    const rule = chosenRule();
    if (rule === undefined) return;
    const stages = main.querySelector("#stages").value.split(",").map((s) => Number(s.trim()));
    api("POST", `/environments/${enc(env)}/flags/${enc(key)}/rollouts`, { stages, stage_duration: main.querySelector("#stage").value, ...(rule ? { rule } : {}) })
      .then((r) => (location.hash = `#/rollout/${r.id}`), fail);
  });
}
