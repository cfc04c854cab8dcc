// Governance: the policies the origin enforces and the settings they read — the
// naming pattern, the audit retention floor, and the trading venues whose sessions
// freeze MiFID II flags, with their coming holidays and early closes.
import { api } from "../api.js";
import { html, mount, empty } from "../ui.js";

const WEEKDAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
// How many coming closures each venue lists.
const COMING = 6;

function weekdays(days) {
  return days.map((d) => WEEKDAYS[d] ?? String(d)).join(" ");
}

function sessions(list) {
  return list.map((s) => `${weekdays(s.weekdays)} ${s.open}–${s.close}${s.close <= s.open ? " (next day)" : ""}`).join("; ");
}

/** The venue's holidays and early closes from `today` (an ISO date) on, soonest first. */
export function comingClosures(venue, today) {
  const days = [
    ...venue.holidays.map((date) => ({ date, what: "closed" })),
    ...venue.early_closes.map((e) => ({ date: e.date, what: `closes ${e.close}` })),
  ];
  return days.filter((d) => d.date >= today).sort((a, b) => (a.date < b.date ? -1 : 1)).slice(0, COMING);
}

export async function render(main) {
  const { policies, config } = await api("GET", "/policies");
  const today = new Date().toISOString().slice(0, 10);
  const venues = config.trading_hours
    ? [{ name: "trading_hours", time_zone: "UTC", sessions: [config.trading_hours], holidays: [], early_closes: [] }, ...config.venues]
    : config.venues;
  const venueRows = venues.map((v) => {
    const coming = comingClosures(v, today);
    return html`<tr><th scope="row">${v.name}</th><td data-label="Time zone">${v.time_zone}</td><td data-label="Sessions">${sessions(v.sessions)}</td>
      <td data-label="Coming closures">${coming.length ? html`<ul class="closures">${coming.map((d) => html`<li><time datetime="${d.date}">${d.date}</time> ${d.what}</li>`)}</ul>` : "none listed"}</td></tr>`;
  });
  const policyRows = policies.map((p) => html`<tr><td><code>${p.id}</code></td><td>${p.description}</td></tr>`);
  mount(
    main,
    html`<h1>Governance</h1>
    <p>Flag keys match <code>${config.naming}</code>; compliance packs keep their audit trail at least ${config.min_retention_days} days.</p>
    <section><h2>Trading venues</h2>
    ${venueRows.length
      ? html`<p>A MiFID II flag does not change while any of its venues is in session; held changes apply when they have all closed.</p>
        <table class="venues"><thead><tr><th>Venue</th><th>Time zone</th><th>Sessions (local time)</th><th>Coming closures</th></tr></thead><tbody>${venueRows}</tbody></table>`
      : empty("No trading venues configured.", "Add [[governance.venues]] to vexil.toml to freeze MiFID II flags while markets trade.")}
    </section>
    <section><h2>Policies</h2><table class="policies"><thead><tr><th>Policy</th><th>What it requires</th></tr></thead><tbody>${policyRows}</tbody></table></section>`,
  );
}
