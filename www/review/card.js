// A change request as an approver reviews it: the semantic diff before → after, the impact
// from the last 24 h of edge metrics, the governance assessment policy by policy, who
// approved (with their comments) and who still must; approve or reject with a comment.
import { api } from "../api.js";
import { html, mount, toast, errorBlock, when } from "../ui.js";
import { can, me } from "../app.js";
import { flagDiff, definitionDiff } from "./diff.js";
import { impact } from "./impact.js";

const enc = encodeURIComponent;
const FLAG_KINDS = new Set(["create", "update", "rollout", "enable", "kill", "archive", "rollback", "promote"]);
let policyText = null;

/** Policy descriptions by id, fetched once per page load. */
async function policies() {
  policyText ??= api("GET", "/policies").then((p) => new Map(p.policies.map((x) => [x.id, x.description])));
  return policyText;
}

export const targetOf = (c) => c.flag ?? c.segment ?? c.exclusion_group;

/** Roles the change still needs that the signed-in person holds and may give. */
export function rolesFor(c) {
  if (c.status !== "pending" || c.author === me()?.name) return [];
  if (c.approvals.some((a) => a.approver === me()?.name)) return [];
  return [...new Set(c.required.filter((r) => !r.approved_by).map((r) => r.role))].filter((role) => can(role));
}

/** The document the change was made against, and the section of the diff. */
async function beforeOf(c, cache) {
  if (FLAG_KINDS.has(c.kind)) {
    if (!c.base_revision) return { before: null, known: true };
    const key = `${c.environment}/${c.flag}`;
    cache[key] ??= api("GET", `/environments/${enc(c.environment)}/flags/${enc(c.flag)}/history`).catch(() => ({ revisions: [] }));
    const rev = (await cache[key]).revisions.find((r) => r.revision === c.base_revision);
    return rev ? { before: rev.archived ? null : rev.document, known: true } : { before: null, known: false };
  }
  if (c.status !== "pending") return { before: undefined, known: false };
  cache[`segments/${c.environment}`] ??= api("GET", `/environments/${enc(c.environment)}/segments`);
  const defs = await cache[`segments/${c.environment}`];
  return { before: c.kind === "segment" ? defs.segments[c.segment] : defs.exclusion_groups[c.exclusion_group], known: true };
}

function diffTable(c, rows, known) {
  const label = c.kind === "segment" ? "segment" : c.kind === "exclusion_group" ? "exclusion group" : "flag";
  if (!known) return html`<p class="hint">The ${label}'s earlier version is not kept: only the proposed one is shown.</p><pre>${JSON.stringify(c.document, null, 2)}</pre>`;
  if (!rows.length) return html`<p class="hint">The proposed document is the same as the current one.</p>`;
  const body = rows.map(
    (r) => html`<tr class="${r.change}"><th scope="row"><span class="hint">${r.section}</span> ${r.item}</th>
      <td class="before">${r.before === null ? html`<span class="hint">—</span>` : html`<del>${r.before}</del>`}</td>
      <td class="after">${r.after === null ? html`<span class="hint">removed</span>` : html`<ins>${r.after}</ins>`}</td></tr>`,
  );
  return html`<table class="semantic-diff"><caption class="sr">What change #${c.id} changes</caption>
    <thead><tr><th scope="col">What</th><th scope="col">Before${c.base_revision ? ` (revision ${c.base_revision})` : ""}</th><th scope="col">After</th></tr></thead><tbody>${body}</tbody></table>`;
}

const TRIGGER = {
  proposed: "the proposed version needs it",
  current: "the current version needs it, and the change lowers it",
  both: "both the current and the proposed version need it",
};

function governance(c, text) {
  if (!c.required.length) return html`<p class="hint">Governance needs no approval for this change.</p>`;
  const items = c.required.map(
    (r) => html`<li><strong>${r.role}</strong> ${r.approved_by ? html`<span class="badge on">approved</span> by <strong>${r.approved_by}</strong>` : html`<span class="badge warn">waiting</span>`}
      · policy <code>${r.policy}</code>: ${text.get(r.policy) ?? ""}
      ${r.approvers?.length ? html`<div class="hint">Only ${r.approvers.join(", ")} (on call) may give it.</div>` : ""}
      ${r.triggered_by ? html`<div class="hint">Why: ${TRIGGER[r.triggered_by] ?? r.triggered_by}${r.note ? ` (${r.note})` : ""}${r.flag ? ` · for flag ${r.flag}` : ""}</div>` : r.note ? html`<div class="hint">${r.note}</div>` : ""}</li>`,
  );
  const still = [...new Set(c.required.filter((r) => !r.approved_by).map((r) => r.role))];
  return html`<ul class="approvals">${items}</ul>
    ${c.status === "pending" ? html`<p class="still"><strong>Still needed:</strong> ${still.length ? still.join(", ") : "nothing (waiting to apply)"}</p>` : ""}`;
}

function comments(c) {
  const items = [
    c.reason ? html`<li><strong>${c.author}</strong> (author) ${when(c.created_at)}: “${c.reason}”</li>` : "",
    ...c.approvals.map((a) => html`<li><strong>${a.approver}</strong> approved as ${a.role} ${when(a.at)}${a.comment ? html`: “${a.comment}”` : ""}</li>`),
    c.rejection ? html`<li class="danger-text"><strong>${c.rejection.by}</strong> rejected ${when(c.rejection.at)}: “${c.rejection.comment}”</li>` : "",
  ].filter(Boolean);
  return items.length ? html`<ul class="comments">${items}</ul>` : html`<p class="hint">No comments.</p>`;
}

/** The card's HTML, with the review loaded (diff, impact for pending changes, policies). */
export async function changeCard(c, cache = {}) {
  const [{ before, known }, text] = await Promise.all([beforeOf(c, cache), policies()]);
  const rows = FLAG_KINDS.has(c.kind) ? flagDiff(before, c.document) : definitionDiff(`${c.kind.replace("_", " ")} “${targetOf(c)}”`, before, c.document);
  let lines = null;
  if (c.status === "pending" && FLAG_KINDS.has(c.kind) && known) {
    const m = before ? await api("GET", `/flags/${enc(c.flag)}/metrics?env=${enc(c.environment)}`).catch(() => null) : null;
    lines = impact(before, c.document, m);
  }
  const mine = c.author === me()?.name;
  const roles = rolesFor(c);
  const canReject = c.status === "pending" && !mine && (c.required.some((r) => can(r.role)) || can("admin"));
  const target = targetOf(c);
  const review = html`<h3>Before → after</h3>${diffTable(c, rows, known)}
    ${lines ? html`<h3>Impact (last 24 h of edge metrics)</h3><ul class="impact">${lines.map((l) => html`<li>${l}</li>`)}</ul>` : ""}
    <h3>Governance</h3>${governance(c, text)}
    <h3>Comments</h3>${comments(c)}`;
  const link = FLAG_KINDS.has(c.kind) ? html`<a href="#/flag/${enc(c.environment)}/${enc(target)}">${target}</a>` : html`<code>${target}</code>`;
  return html`<article class="card change" data-change="${c.id}" aria-labelledby="change-${c.id}">
    <h2 id="change-${c.id}"><a href="#/change/${c.id}">#${c.id}</a> ${c.kind.replace("_", " ")} ${link} <span class="hint">in ${c.environment}</span> <span class="badge ${c.status === "pending" ? "warn" : c.status === "applied" ? "on" : "off"}">${c.status}</span></h2>
    <p>Proposed by <strong>${c.author}</strong> ${when(c.created_at)}${c.oversight_level !== undefined ? html` · clinical oversight level ${c.oversight_level}` : ""}${c.applied ? ` · applied as revision ${c.applied.revision} (snapshot v${c.applied.snapshot_version})` : ""}</p>
    ${c.apply_at && c.status === "pending" ? html`<p class="scheduled"><span class="badge warn">scheduled</span> applies at ${when(c.apply_at)} once approved; until then its author or an admin can cancel it.</p>` : ""}
    ${c.status === "pending" ? review : html`<details><summary>Review: ${rows.length} difference${rows.length === 1 ? "" : "s"}, ${c.approvals.length} approval${c.approvals.length === 1 ? "" : "s"}</summary>${review}</details>`}
    ${c.status === "pending" && mine ? html`<p class="hint">You proposed this change: someone else must approve it (four-eyes).</p>` : ""}
    ${roles.length || canReject ? html`<form class="decide">
      <label for="comment-${c.id}">Comment</label><input id="comment-${c.id}" name="comment">
      ${roles.map((role) => html`<button type="submit" name="decision" value="approve" data-role="${role}" class="primary">Approve as ${role}</button>`)}
      ${canReject ? html`<button type="submit" name="decision" value="reject" class="danger">Reject</button>` : ""}
    </form>` : ""}
    <div class="result" aria-live="polite"></div>
  </article>`;
}

/** Wires the approve and reject buttons of every card in `root`; `after` redraws. */
export function wireCards(root, after) {
  for (const form of root.querySelectorAll("form.decide")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const card = form.closest("[data-change]");
      const id = card.dataset.change;
      const decision = event.submitter?.value ?? "approve";
      const comment = form.querySelector("input").value.trim();
      if (decision === "reject" && !comment) {
        mount(card.querySelector(".result"), errorBlock({ message: "Say why in the comment: a rejection needs a reason.", details: [] }));
        return;
      }
      const body = { comment: comment || undefined };
      if (decision === "approve" && event.submitter?.dataset.role) body.role = event.submitter.dataset.role;
      try {
        const c = await api("POST", `/changes/${id}/${decision}`, body);
        toast(`Change #${id}: ${c.status}`);
        // The shell's "waiting for you" count listens for decisions.
        document.dispatchEvent(new CustomEvent("vexil:decided", { detail: c }));
        after();
      } catch (e) {
        mount(card.querySelector(".result"), errorBlock(e));
      }
    });
  }
}
