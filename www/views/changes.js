// Change requests: what waits for the signed-in approver's roles, what else is pending,
// and the decided ones a page at a time; each card is the full review (review/card.js).
import { api } from "../api.js";
import { html, mount, empty } from "../ui.js";
import { changeCard, wireCards, rolesFor } from "../review/card.js";
import { me } from "../app.js";

const PAGE = 10;

async function cards(list, cache) {
  return Promise.all(list.map((c) => changeCard(c, cache)));
}

export async function render(main, _args, { before } = {}) {
  const decidedQuery = new URLSearchParams({ limit: String(PAGE * 3) });
  if (before) decidedQuery.set("before", before);
  const [pending, recent] = await Promise.all([api("GET", "/changes?status=pending&limit=200"), api("GET", `/changes?${decidedQuery}`)]);
  const yours = pending.changes.filter((c) => rolesFor(c).length);
  const others = pending.changes.filter((c) => !rolesFor(c).length);
  const decided = recent.changes.filter((c) => c.status !== "pending").slice(0, PAGE);
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
    <section aria-labelledby="decided"><h2 id="decided">Recently decided</h2>${decidedCards.length ? decidedCards : empty("No decided changes yet.")}
      <div class="actions">${before ? html`<button type="button" id="newest">Newest</button>` : ""}${older ? html`<button type="button" id="older" data-before="${older}">Older changes</button>` : ""}</div></section>`,
  );
  wireCards(main, () => render(main, _args, { before }));
  main.querySelector("#older")?.addEventListener("click", (e) => render(main, _args, { before: e.target.dataset.before }));
  main.querySelector("#newest")?.addEventListener("click", () => render(main, _args));
}

/** One change on its own page (`#/change/ID`), linked from flag pages and toasts. */
export async function one(main, [id]) {
  const c = await api("GET", `/changes/${id}`);
  mount(main, html`<p><a href="#/changes">← All change requests</a></p>${await changeCard(c)}`);
  wireCards(main, () => one(main, [id]));
}
