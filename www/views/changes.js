// Change requests: who must approve, policy by policy; approve or reject with a comment.
import { api } from "../api.js";
import { html, mount, toast, errorBlock, empty, when } from "../ui.js";
import { can, me } from "../app.js";

function changeCard(c) {
  const mine = c.author === me()?.name;
  const needed = c.required.filter((r) => !r.approved_by).map((r) => r.role);
  const canApprove = c.status === "pending" && !mine && needed.some((role) => can(role));
  const canReject = c.status === "pending" && !mine && (c.required.some((r) => can(r.role)) || can("admin"));
  const target = c.flag ?? c.segment ?? c.exclusion_group;
  const required = c.required.map(
    (r) => html`<li>${r.approved_by ? html`<span class="badge on">approved</span> by ${r.approved_by}` : html`<span class="badge warn">waiting</span>`} <strong>${r.role}</strong> <span class="hint">${r.policy}</span></li>`,
  );
  return html`<article class="card" data-change="${c.id}">
    <h2>#${c.id} ${c.kind} <a href="#/flag/${encodeURIComponent(c.environment)}/${encodeURIComponent(target)}">${target}</a> <span class="hint">in ${c.environment}</span></h2>
    <p>Proposed by <strong>${c.author}</strong> ${when(c.created_at)}${c.reason ? html` — “${c.reason}”` : ""}. Status: <strong>${c.status}</strong>${c.oversight_level !== undefined ? html` · clinical oversight level ${c.oversight_level}` : ""}</p>
    ${required.length ? html`<ul class="approvals">${required}</ul>` : html`<p class="hint">No approval needed.</p>`}
    ${c.rejection ? html`<p class="error">Rejected by ${c.rejection.by}: ${c.rejection.comment}</p>` : ""}
    ${c.status === "pending" && mine ? html`<p class="hint">You proposed this change: someone else must approve it (four-eyes).</p>` : ""}
    ${canApprove || canReject ? html`<form class="decide">
      <label for="comment-${c.id}">Comment</label><input id="comment-${c.id}" name="comment">
      ${canApprove ? html`<button type="submit" name="decision" value="approve" class="primary">Approve as ${needed.find((r) => can(r))}</button>` : ""}
      ${canReject ? html`<button type="submit" name="decision" value="reject" class="danger">Reject</button>` : ""}
    </form>` : ""}
    <div class="result" aria-live="polite"></div>
  </article>`;
}

export async function render(main) {
  const [pending, recent] = await Promise.all([api("GET", "/changes?status=pending"), api("GET", "/changes?limit=20")]);
  const decided = recent.changes.filter((c) => c.status !== "pending");
  mount(
    main,
    html`<h1>Change requests</h1>
    <section><h2>Waiting for approval</h2>${pending.changes.length ? pending.changes.map(changeCard) : empty("Nothing waits for approval.")}</section>
    <section><h2>Recently decided</h2>${decided.length ? decided.map(changeCard) : empty("No decided changes yet.")}</section>`,
  );
  for (const form of main.querySelectorAll("form.decide")) {
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
      try {
        const c = await api("POST", `/changes/${id}/${decision}`, { comment: comment || undefined });
        toast(`Change #${id}: ${c.status}`);
        render(main);
      } catch (e) {
        mount(card.querySelector(".result"), errorBlock(e));
      }
    });
  }
}
