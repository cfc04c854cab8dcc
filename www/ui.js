// Small DOM helpers: escaped templates, toasts, a confirm dialog, empty states.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** A template whose interpolations are escaped, except `raw(...)` ones and arrays of them. */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return { __html: out };
}

function render(v) {
  if (v && v.__html !== undefined) return v.__html;
  if (Array.isArray(v)) return v.map(render).join("");
  if (v === null || v === undefined || v === false) return "";
  return esc(v);
}

export const raw = (text) => ({ __html: text });

export function mount(el, template) {
  el.innerHTML = render(template);
}

export function toast(message, kind = "info") {
  const live = document.getElementById("live");
  const item = document.createElement("div");
  item.className = `toast ${kind}`;
  item.textContent = message;
  live.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 10_000 : 5_000);
}

/** An error from the API as a readable block: message plus one line per detail. */
export function errorBlock(e) {
  const details = (e.details ?? []).map((d) => html`<li><code>${d.policy ?? d.path ?? ""}</code> ${d.message}</li>`);
  return html`<div class="error" role="alert"><strong>${e.message}</strong>${details.length ? html`<ul>${details}</ul>` : ""}</div>`;
}

/**
 * Asks for confirmation with a required reason; resolves to the reason, or null.
 */
export function confirmWithReason({ title, body, action, danger = false }) {
  const dialog = document.getElementById("dialog");
  mount(
    dialog,
    html`<form method="dialog" class="confirm">
      <h2>${title}</h2>
      <p>${body}</p>
      <label for="reason">Reason (recorded in the audit log)</label>
      <input id="reason" name="reason" required autocomplete="off">
      <div class="actions">
        <button value="cancel" formnovalidate type="submit">Cancel</button>
        <button value="ok" type="submit" class="${danger ? "danger" : "primary"}">${action}</button>
      </div>
    </form>`,
  );
  dialog.showModal();
  dialog.querySelector("#reason").focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" ? dialog.querySelector("#reason").value.trim() || null : null),
      { once: true },
    );
  });
}

export function empty(message, hint = "") {
  return html`<div class="empty"><p>${message}</p>${hint ? html`<p class="hint">${hint}</p>` : ""}</div>`;
}

/** A figure for people: at most `digits` decimals, thousands separated; "—" when absent. */
export function num(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  const scale = 10 ** digits;
  return (Math.round(v * scale) / scale).toLocaleString("en-US", { maximumFractionDigits: digits });
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

/** A compact line diff of two texts (for revision history). */
export function diffLines(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  // Longest common subsequence over lines: fine for flag documents.
  const dp = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || dp[i][j + 1] >= dp[i + 1][j])) {
      out.push({ op: "+", line: b[j++] });
    } else {
      out.push({ op: "-", line: a[i++] });
    }
  }
  return out;
}
