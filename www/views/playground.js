// The playground: the wasm engine in this browser verifies the environment's signed
// snapshot against the public keys and evaluates a context, as an edge would.
import { api, fetchText } from "../api.js";
import { html, mount, errorBlock, esc } from "../ui.js";
import { clauseText, serveText } from "../clauses.js";
import { currentEnv } from "../app.js";
import { traceSection } from "./trace.js";

const EXAMPLES = {
  "A signed-in user": { targetingKey: "user-123", email: "ada@example.com", country: "DE", plan: "premium" },
  "An anonymous visitor": { country: "US" },
  "Institutional trader": { targetingKey: "acct-27", segments: ["institutional"], account_tier: "institutional", experience_level: "expert", risk_tolerance: "high", market_data: { gateway_version: "3.2.0" } },
  "ICU physician, day shift": { targetingKey: "prov-1", provider: { id: "prov-1", type: "physician", authorized: true, phi_access: true }, shift: "day", patient: { population: "intensive_care" } },
};

let vexil = null;
/** `vexil/trace`: each evaluation here is traced too. */
let tracing = null;
let engine = null;
let loaded = null;

function saved() {
  try {
    return JSON.parse(localStorage.getItem("vexil.contexts") ?? "{}");
  } catch {
    return {};
  }
}

export async function render(main) {
  const env = currentEnv();
  const keys = await api("GET", "/keys");
  const examples = { ...EXAMPLES, ...saved() };
  mount(
    main,
    html`<h1>Playground</h1>
    <p>The wasm engine runs in this page: it verifies <strong>${env}</strong>'s signed snapshot with the public keys below and evaluates contexts locally.</p>
    <section><h2>1. Verify the snapshot</h2>
      <label for="keyring">Public keys (keyring JSON)</label>
      <textarea id="keyring" rows="3" spellcheck="false">${JSON.stringify(keys.keyring, null, 2)}</textarea>
      <label for="envelope">Signed snapshot envelope</label>
      <textarea id="envelope" rows="5" spellcheck="false"></textarea>
      <div class="actions"><button id="fetch" type="button">Fetch ${env}'s snapshot</button><button id="verify" type="button" class="primary">Verify</button></div>
      <div id="verdict" aria-live="polite"></div>
    </section>
    <section><h2>2. Evaluate</h2>
      <label for="example">Saved contexts</label>
      <select id="example">${Object.keys(examples).map((k) => html`<option>${k}</option>`)}</select>
      <label for="context">Context (JSON)</label>
      <textarea id="context" rows="6" spellcheck="false">${JSON.stringify(Object.values(examples)[0], null, 2)}</textarea>
      <div class="actions"><button id="save" type="button">Save context as…</button></div>
      <label for="flag">Flag</label><select id="flag" disabled><option>verify a snapshot first</option></select>
      <div class="actions"><button id="evaluate" type="button" class="primary" disabled>Evaluate</button></div>
      <div id="answer" aria-live="polite"></div>
    </section>`,
  );
  const $ = (s) => main.querySelector(s);
  $("#example").addEventListener("change", () => {
    $("#context").value = JSON.stringify(examples[$("#example").value], null, 2);
  });
  $("#save").addEventListener("click", () => {
    const name = prompt("Name this context");
    if (!name) return;
    try {
      const all = saved();
      all[name] = JSON.parse($("#context").value);
      localStorage.setItem("vexil.contexts", JSON.stringify(all));
      render(main);
    } catch (e) {
      mount($("#answer"), errorBlock({ message: `The context is not JSON: ${e.message}` }));
    }
  });
  $("#fetch").addEventListener("click", async () => {
    try {
      $("#envelope").value = await fetchText(`/environments/${encodeURIComponent(env)}/snapshot`);
      await verify(main, env);
    } catch (e) {
      mount($("#verdict"), errorBlock(e));
    }
  });
  $("#verify").addEventListener("click", () => verify(main, env));
  $("#evaluate").addEventListener("click", () => evaluate(main));
}

async function verify(main, env) {
  const $ = (s) => main.querySelector(s);
  const verdict = $("#verdict");
  try {
    vexil ??= await import("/pkg/index.js");
    tracing ??= await import("/pkg/trace.js");
    await vexil.ready(); // the wasm loads on the first ready(), not at import
    const keys = JSON.parse($("#keyring").value);
    engine?.free?.();
    engine = new vexil.Engine({ keys, environment: env });
    const info = engine.load($("#envelope").value);
    // The payload is binary; the origin reads out the same version as a document,
    // for showing the rules. A snapshot from elsewhere is evaluated without them.
    loaded = await api("GET", `/environments/${encodeURIComponent(env)}/snapshots/${info.version}/document`).catch(() => null);
    mount(
      verdict,
      html`<div class="ok" id="verified"><strong>Verified.</strong> Signed by key <code>${info.keyId}</code>, version ${info.version}, ${info.flags} flags, expires ${new Date(info.expiresAt).toLocaleString()}.</div>`,
    );
    const select = $("#flag");
    select.replaceChildren(...engine.flagKeys.map((k) => new Option(k, k)));
    select.disabled = false;
    $("#evaluate").disabled = false;
  } catch (e) {
    engine = null;
    loaded = null;
    $("#flag").disabled = true;
    $("#evaluate").disabled = true;
    mount(
      verdict,
      html`<div class="error" role="alert" id="rejected"><strong>Rejected${e.code ? html`: <code>${e.code}</code>` : ""}.</strong> ${e.message} Nothing from this snapshot is used.</div>`,
    );
  }
}

/** Which of `flag`'s prerequisites the context fails: each evaluated with the same engine. */
function failedPrerequisites(flag, ctx) {
  return (flag.prerequisites ?? []).flatMap((p) => {
    const d = engine.evaluate(p.flag, ctx, null);
    return p.variants.includes(d.variant) ? [] : [{ flag: p.flag, variant: d.variant, reason: d.reason, needs: p.variants }];
  });
}

function evaluate(main) {
  const $ = (s) => main.querySelector(s);
  let ctx;
  try {
    ctx = JSON.parse($("#context").value);
  } catch (e) {
    mount($("#answer"), errorBlock({ message: `The context is not JSON: ${e.message}` }));
    return;
  }
  const key = $("#flag").value;
  const d = engine.evaluate(key, ctx, null);
  // The same evaluation again, traced (the trace is not counted).
  const trace = tracing.traceEvaluation(engine, key, ctx);
  const flag = loaded?.flags.find((f) => f.key === key) ?? null;
  const tried = new Map((trace?.steps ?? []).filter((s) => s.step === "rule").map((s) => [s.index, s]));
  const rules = (flag?.rules ?? []).map((r, i) => {
    const step = tried.get(i);
    const state = step === undefined ? "not reached" : step.matched ? "matched" : "did not match";
    return html`<li class="${state.replace(/ /g, "-")}"><strong>${r.id}</strong> (${state}): when ${clauseText(r.when)}, ${serveText(r.serve)}</li>`;
  });
  const why = {
    DISABLED: "the flag is disabled (kill switch)",
    PREREQUISITE_FAILED: "a prerequisite flag did not serve one of its required variants",
    EXCLUDED: "the unit falls outside this flag's share of its exclusion group",
    DENIED: "the access check failed (audited)",
    DEFAULT: "no rule matched; the fallthrough served",
    STATIC: "the flag serves one variant to everyone",
    TARGETING_MATCH: "a rule matched",
    SPLIT: "a percentage rollout placed the unit",
    ERROR: "the evaluation failed; the caller's default is returned",
  }[d.reason];
  const failed = d.reason === "PREREQUISITE_FAILED" && flag ? failedPrerequisites(flag, ctx) : [];
  mount(
    $("#answer"),
    html`<div class="result-card" id="result">
      <dl class="facts">
        <dt>Value</dt><dd><code>${JSON.stringify(d.value)}</code></dd>
        <dt>Variant</dt><dd>${d.variant ?? "—"}</dd>
        <dt>Reason</dt><dd><code>${d.reason}</code> — ${why ?? ""}${failed.length ? html`<ul class="prerequisites">${failed.map((f) => html`<li>prerequisite <strong>${f.flag}</strong> served ${f.variant ? html`“${f.variant}”` : "no variant"} (<code>${f.reason}</code>); it needs ${f.needs.map((v) => `“${v}”`).join(" or ")}</li>`)}</ul>` : ""}</dd>
        <dt>Rule</dt><dd>${d.ruleId ?? "—"}</dd>
        ${d.errorCode ? html`<dt>Error</dt><dd><code>${d.errorCode}</code> ${d.errorMessage}</dd>` : ""}
      </dl>
      ${trace ? traceSection(trace, flag, ctx, failed) : ""}
      ${rules.length ? html`<h3>Rules, in order</h3><ol class="rules">${rules}</ol>` : ""}
      ${flag?.fallthrough ? html`<p>Fallthrough: ${esc(serveText(flag.fallthrough))}.</p>` : ""}
    </div>`,
  );
}
