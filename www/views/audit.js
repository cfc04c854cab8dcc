// The audit log, newest first a page at a time, filterable, with the chain's verification status.
import { api } from "../api.js";
import { html, mount, empty, when } from "../ui.js";
import { currentEnv, supersede } from "../app.js";

const PAGE = 50;
const filters = { flag: "", action: "", actor: "", all: false };
// The `before` cursor of each page shown so far: "Newer" pops one.
let pages = [];
// The cursor of the page on screen: a live update refreshes that page, not the newest.
let shown;

export async function render(main, _args, { cursor, quiet } = {}) {
  if (quiet && cursor === undefined) cursor = shown;
  else if (cursor === undefined) pages = [];
  shown = cursor;
  const env = currentEnv();
  const query = new URLSearchParams({ limit: String(PAGE), order: "newest" });
  if (!filters.all) query.set("environment", env);
  for (const k of ["flag", "action", "actor"]) if (filters[k]) query.set(k, filters[k]);
  if (cursor) query.set("before", cursor);
  const [{ entries, next }, verify] = await Promise.all([api("GET", `/audit?${query}`), api("GET", "/audit/verify")]);
  const rows = entries.map(
    (l) => html`<tr><td class="num">${l.seq}</td><td>${when(l.at)}</td><td>${l.actor}</td><td><code>${l.action}</code></td><td>${l.subject}</td>
        <td><details><summary>details</summary><pre>${JSON.stringify(l.details, null, 2)}</pre></details></td></tr>`,
  );
  const range = entries.length ? `entries ${entries[entries.length - 1].seq}–${entries[0].seq}` : "";
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
    ${rows.length ? html`<p class="hint" id="range">Newest first: ${range}</p><table><thead><tr><th>#</th><th>When</th><th>Who</th><th>Action</th><th>Subject</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : empty("No entries match.")}
    <nav class="actions" aria-label="Audit pages">
      ${pages.length ? html`<button type="button" id="newer">Newer entries</button>` : ""}
      ${next ? html`<button type="button" id="older">Older entries</button>` : ""}
    </nav>`,
  );
  main.querySelector("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    filters.flag = data.get("flag").trim();
    filters.action = data.get("action").trim();
    filters.actor = data.get("actor").trim();
    filters.all = data.get("all") === "on";
    supersede();
    render(main);
  });
  main.querySelector("#older")?.addEventListener("click", () => {
    pages.push(cursor ?? "");
    supersede();
    render(main, _args, { cursor: String(next) });
  });
  main.querySelector("#newer")?.addEventListener("click", () => {
    const previous = pages.pop();
    supersede();
    render(main, _args, { cursor: previous || "" });
  });
}
