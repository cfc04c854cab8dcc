// Change requests: what waits for the signed-in approver's roles, what else is pending,
// and the decided ones a page at a time; each card is the full review (review/card.js).
import { api } from "../api.js";
import { html, mount, empty } from "../ui.js";
import { changeCard, wireCards, rolesFor } from "../review/card.js";
import { me, currentEnv, supersede } from "../app.js";

const PAGE = 10;
const KINDS = ["create", "update", "rollout", "enable", "kill", "archive", "rollback", "promote", "segment", "exclusion_group"];
const DECIDED = ["applied", "rejected", "cancelled", "conflict"];
const filters = { status: "", kind: "", author: "", flag: "", all: true };

async function cards(list, cache) {
  return Promise.all(list.map((c) => changeCard(c, cache)));
}

const choice = (name, values, selected, any) =>
  html`<select name="${name}"><option value="">${any}</option>${values.map((v) => html`<option value="${v}" ${v === selected ? "selected" : ""}>${v.replace("_", " ")}</option>`)}</select>`;

// The page of decided changes on screen: a live update refreshes that page, not the newest.
let shownBefore;

export async function render(main, _args, { before, quiet } = {}) {
  if (quiet && before === undefined) before = shownBefore;
  shownBefore = before;
  const decidedQuery = new URLSearchParams({ limit: String(PAGE) });
  if (before) decidedQuery.set("before", before);
  for (const k of ["status", "kind", "author", "flag"]) if (filters[k]) decidedQuery.set(k, filters[k]);
  if (!filters.all) decidedQuery.set("environment", currentEnv());
  const [pending, recent] = await Promise.all([api("GET", "/changes?status=pending&limit=200"), api("GET", `/changes?${decidedQuery}`)]);
  const yours = pending.changes.filter((c) => rolesFor(c).length);
  const others = pending.changes.filter((c) => !rolesFor(c).length);
  // Pending ones are above; a page of "any state" may so show fewer than PAGE.
  const decided = recent.changes.filter((c) => c.status !== "pending");
  const cache = {};
  const [yourCards, otherCards, decidedCards] = await Promise.all([cards(yours, cache), cards(others, cache), cards(decided, cache)]);
  const roles = (me()?.roles ?? []).join(", ");
  const older = recent.next ?? null;
  mount(
    main,
    html`<h1>Change requests</h1>
    <section aria-labelledby="yours"><h2 id="yours">Waiting for you <span class="badge ${yours.length ? "warn" : "muted"}">${yours.length}</span></h2>
      ${yourCards.length ? yourCards : empty("Nothing waits for your approval.", `Changes appear here when they need a role you hold (${roles}) and someone else proposed them.`)}</section>
    <section aria-labelledby="others"><h2 id="others">Other pending changes</h2>${otherCards.length ? otherCards : empty("No other change is pending.")}</section>
    <section aria-labelledby="decided"><h2 id="decided">Decided changes</h2>
      <form class="filters" id="change-filters" role="search" aria-label="Filter decided changes">
        <label>State ${choice("status", DECIDED, filters.status, "any")}</label>
        <label>Kind ${choice("kind", KINDS, filters.kind, "any")}</label>
        <label>Author <input name="author" value="${filters.author}" autocomplete="off"></label>
        <label>Flag or segment <input name="flag" value="${filters.flag}" autocomplete="off"></label>
        <label class="inline"><input type="checkbox" name="all" ${filters.all ? "checked" : ""}> every environment</label>
        <button type="submit">Filter</button>
      </form>
      ${decidedCards.length ? decidedCards : empty("No decided change matches.")}
      <nav class="actions" aria-label="Change pages">${before ? html`<button type="button" id="newest">Newest</button>` : ""}${older ? html`<button type="button" id="older" data-before="${older}">Older changes</button>` : ""}</nav></section>`,
  );
  // Re-rendering in place drops any live refresh still in flight (see `supersede`).
  const again = (options) => {
    supersede();
    return render(main, _args, options);
  };
  wireCards(main, () => again({ before }));
  main.querySelector("#older")?.addEventListener("click", (e) => again({ before: e.target.dataset.before }));
  main.querySelector("#newest")?.addEventListener("click", () => again());
  main.querySelector("#change-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    for (const k of ["status", "kind", "author", "flag"]) filters[k] = String(data.get(k) ?? "").trim();
    filters.all = data.get("all") === "on";
    again();
  });
}

/** One change on its own page (`#/change/ID`), linked from flag pages and toasts. */
export async function one(main, [id]) {
  const c = await api("GET", `/changes/${id}`);
  mount(main, html`<p><a href="#/changes">← All change requests</a></p>${await changeCard(c)}`);
  wireCards(main, () => one(main, [id]));
}
