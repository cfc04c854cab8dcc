// The Vexil console: a hash-routed single page over the origin's API.
import { api, session, follow } from "./api.js";
import { html, mount, toast, errorBlock } from "./ui.js";
import * as signin from "./views/signin.js";
import * as flags from "./views/flags.js";
import * as changes from "./views/changes.js";
import * as rollouts from "./views/rollouts.js";
import * as audit from "./views/audit.js";
import * as playground from "./views/playground.js";
import * as governance from "./views/governance.js";
import { rolesFor } from "./review/card.js";

const routes = [
  [/^#\/signin$/, signin.render],
  [/^#\/flags$/, flags.list],
  [/^#\/new$/, flags.create],
  [/^#\/flag\/([^/]+)\/([^/]+)$/, flags.detail],
  [/^#\/metrics\/([^/]+)\/([^/]+)$/, flags.metrics],
  [/^#\/changes$/, changes.render],
  [/^#\/change\/(\d+)$/, changes.one],
  [/^#\/rollouts$/, rollouts.list],
  [/^#\/rollout\/(\d+)$/, rollouts.detail],
  [/^#\/audit$/, audit.render],
  [/^#\/playground$/, playground.render],
  [/^#\/governance$/, governance.render],
];

const state = { me: null, env: localStorage.getItem("vexil.env") ?? "production", stopEvents: null };

/** What the signed-in person may do. */
export function can(what) {
  const roles = new Set(state.me?.roles ?? []);
  if (what === "edit") return roles.has("editor") || roles.has("admin");
  if (what === "admin") return roles.has("admin");
  return roles.has(what);
}

export function currentEnv() {
  return state.env;
}

export function me() {
  return state.me;
}

async function signedIn() {
  if (!session.token) return false;
  if (state.me) return true;
  try {
    state.me = await api("GET", "/whoami");
    if (state.me.kind !== "token") throw new Error("SDK keys cannot use the console");
    return true;
  } catch {
    session.clear();
    state.me = null;
    return false;
  }
}

async function shell() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  const on = Boolean(state.me);
  nav.hidden = !on;
  who.hidden = !on;
  if (!on) return;
  document.getElementById("me").textContent = `${state.me.name} (${state.me.roles.join(", ")})`;
  const select = document.getElementById("env");
  if (!select.options.length) {
    const { environments } = await api("GET", "/environments");
    if (!environments.some((e) => e.name === state.env)) state.env = environments[0]?.name ?? "production";
    for (const e of environments) select.add(new Option(e.name, e.name, false, e.name === state.env));
    select.addEventListener("change", () => {
      state.env = select.value;
      localStorage.setItem("vexil.env", state.env);
      listen();
      route();
    });
    listen();
  }
  for (const a of nav.querySelectorAll("a")) {
    a.toggleAttribute("aria-current", location.hash.startsWith(a.getAttribute("href")));
  }
  waitingCount().catch(() => {});
}

/** The number of pending changes that wait for the signed-in person's roles, beside "Changes". */
async function waitingCount() {
  const { changes } = await api("GET", "/changes?status=pending&limit=200");
  const n = changes.filter((c) => rolesFor(c).length).length;
  const badge = document.getElementById("waiting");
  badge.hidden = n === 0;
  badge.textContent = String(n);
  badge.title = `${n} change${n === 1 ? "" : "s"} waiting for you`;
}

/** Live updates: a new snapshot or a kill switch refreshes the page within a second. */
function listen() {
  state.stopEvents?.();
  let first = true;
  state.stopEvents = follow(state.env, (event, data) => {
    if (first && event === "snapshot") {
      first = false;
      return;
    }
    if (event === "kill") toast(`Kill switch: ${data.flag} disabled in ${data.environment}${data.reason ? ` (${data.reason})` : ""}`, "warn");
    else if (event === "snapshot") toast(`${data.environment} published snapshot v${data.version}`);
    route({ quiet: true });
  });
}

/**
 * Each route renders into its own view element, so a slow render that a newer route
 * overtook (a live update arriving while the person moves on) never replaces the newer
 * page. A quiet refresh renders off-screen at full width, then swaps in.
 */
function freshView(main, quiet) {
  const view = document.createElement("div");
  view.className = "view";
  if (quiet && main.firstElementChild) {
    Object.assign(view.style, { position: "absolute", left: "-100000px", width: `${main.firstElementChild.clientWidth}px` });
    main.append(view);
  } else {
    main.replaceChildren(view);
  }
  return view;
}

let generation = 0;

/**
 * Drops every route still rendering: a view that re-renders itself in place (paging,
 * filters) calls it first, so a live refresh that started earlier and answers later
 * does not put the old page back.
 */
export function supersede() {
  generation++;
}

export async function route({ quiet = false } = {}) {
  const main = document.getElementById("main");
  const hash = location.hash || "#/flags";
  const mine = ++generation;
  if (!(await signedIn()) && hash !== "#/signin") {
    location.hash = "#/signin";
    return;
  }
  await shell();
  for (const [pattern, render] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    const view = freshView(main, quiet);
    try {
      await render(view, m.slice(1).map(decodeURIComponent), { quiet });
    } catch (e) {
      if (e.status === 401) {
        session.clear();
        state.me = null;
        location.hash = "#/signin";
        return;
      }
      mount(view, html`<h1>Something went wrong</h1>${errorBlock(e)}`);
    }
    if (mine !== generation) {
      view.remove();
      return;
    }
    if (view.style.position) {
      view.removeAttribute("style");
      main.replaceChildren(view);
    }
    if (!quiet) main.focus({ preventScroll: true });
    return;
  }
  location.hash = "#/flags";
}

export function signedOut() {
  state.stopEvents?.();
  state.stopEvents = null;
  state.me = null;
  session.clear();
  const select = document.getElementById("env");
  select.replaceChildren();
}

export function setMe(me) {
  state.me = me;
}

document.getElementById("signout").addEventListener("click", () => {
  signedOut();
  location.hash = "#/signin";
});
window.addEventListener("hashchange", () => route());
document.addEventListener("vexil:decided", () => waitingCount().catch(() => {}));
route();
