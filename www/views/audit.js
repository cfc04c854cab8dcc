// The audit log, filterable, with the chain's verification status.
import { api } from "../api.js";
import { html, mount, empty, when } from "../ui.js";
import { currentEnv } from "../app.js";

const filters = { flag: "", action: "", actor: "", all: false };

export async function render(main) {
  const env = currentEnv();
  const query = new URLSearchParams({ limit: "500" });
  if (!filters.all) query.set("environment", env);
  for (const k of ["flag", "action", "actor"]) if (filters[k]) query.set(k, filters[k]);
  const [{ entries }, verify] = await Promise.all([api("GET", `/audit?${query}`), api("GET", "/audit/verify")]);
  const rows = entries
    .slice()
    .reverse()
    .map(
      (l) => html`<tr><td class="num">${l.seq}</td><td>${when(l.at)}</td><td>${l.actor}</td><td><code>${l.action}</code></td><td>${l.subject}</td>
        <td><details><summary>details</summary><pre>${JSON.stringify(l.details, null, 2)}</pre></details></td></tr>`,
    );
  mount(
    main,
    html`<h1>Audit log</h1>
    ${verify.ok ? html`<p class="ok" id="chain">Chain intact: ${verify.entries} entries verify (sha-256 hash chain, authenticated head).</p>` : html`<p class="error" id="chain" role="alert">Chain broken at entry ${verify.broken.seq}: ${verify.broken.reason}</p>`}
    <form class="filters" id="filters" role="search">
      <label>Flag <input name="flag" value="${filters.flag}"></label>
      <label>Action <input name="action" value="${filters.action}" placeholder="flag.killed"></label>
      <label>Actor <input name="actor" value="${filters.actor}"></label>
      <label class="inline"><input type="checkbox" name="all" ${filters.all ? "checked" : ""}> every environment</label>
      <button type="submit">Filter</button>
    </form>
    ${rows.length ? html`<table><thead><tr><th>#</th><th>When</th><th>Who</th><th>Action</th><th>Subject</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : empty("No entries match.")}`,
  );
  main.querySelector("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    filters.flag = data.get("flag").trim();
    filters.action = data.get("action").trim();
    filters.actor = data.get("actor").trim();
    filters.all = data.get("all") === "on";
    render(main);
  });
}
