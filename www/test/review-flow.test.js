// The approver's review in real Chromium against a real `vexil serve` (issue 14): an
// editor proposes 10 % for rule `pros` of the seed's enhanced-order-routing-v2 (5 % now,
// with a day of edge metrics); approvers see it under "Waiting for you", with the
// semantic diff, the impact from the metrics and every policy on the page, approve with
// comments (one by keyboard only) until it applies. A flag whose creation needs approval
// shows as pending in the list and on its own page. Screenshots at 1280 px and 390 px.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startOrigin, stopOrigin, api, simpleFlag, eventually } from "../../worker/test/origin.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
const shots = join(root, "target/screenshots");
const ROUTING = "enhanced-order-routing-v2";
const ENV = "production";
let origin, browser, alice, finance;
const approvers = {};

async function createApproved(flag) {
  let change = await api(origin, alice, "POST", `/environments/${ENV}/flags`, { flag, reason: "from the seed's examples" });
  for (const role of new Set(change.required.map((r) => r.role))) {
    if (change.status !== "pending") break;
    change = await api(origin, approvers[role], "POST", `/changes/${change.id}/approve`, { role, comment: "reviewed" });
  }
  assert.equal(change.status, "applied", `${flag.key}: ${JSON.stringify(change)}`);
}

before(async () => {
  await mkdir(shots, { recursive: true });
  finance = JSON.parse(await readFile(join(root, "examples/finance-flags.json"), "utf8"));
  origin = await startOrigin();
  alice = (await api(origin, origin.admin, "POST", "/tokens", { name: "alice", roles: ["editor"] })).token;
  for (const [name, role] of [["tom", "TECH_LEAD"], ["sara", "SECURITY"], ["paul", "PRODUCT_OWNER"], ["carla", "COMPLIANCE"]]) {
    approvers[role] = (await api(origin, origin.admin, "POST", "/tokens", { name, roles: [role] })).token;
  }
  for (const [name, clause] of Object.entries(finance.segments)) await api(origin, alice, "PUT", `/environments/${ENV}/segments/${name}`, { clause });
  for (const [name, group] of Object.entries(finance.exclusion_groups)) await api(origin, alice, "PUT", `/environments/${ENV}/exclusion-groups/${name}`, { salt: group.salt });
  const expiry = new Date(Date.now() + 90 * 86_400_000).toISOString();
  for (const key of ["trading-kill-switch", "market-data-v3", ROUTING]) {
    const flag = structuredClone(finance.flags.find((f) => f.key === key));
    if (flag.expires_at) flag.expires_at = expiry;
    await createApproved(flag);
  }
  // A day of traffic from an edge: the split of rule pros answered 12,400 evaluations.
  const sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "edge", environment: ENV })).token;
  const end = Date.now() - 60_000;
  await api(origin, sdkKey, "POST", "/metrics", {
    schema: 1, batch_id: "day-1", sdk: "test", environment: ENV, window: { start_ms: end - 3_600_000, end_ms: end },
    flags: { [ROUTING]: { variants: {
      on: { count: 620, reasons: { SPLIT: 620 } },
      off: { count: 18_780, reasons: { SPLIT: 11_780, TARGETING_MATCH: 2_000, DEFAULT: 5_000 } },
    } } },
    events: {}, audit: [], dropped: { audit: 0, events: 0, unknown_flags: 0 },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
});

after(async () => {
  await browser?.close();
  await stopOrigin(origin);
});

async function signIn(token, hash, width = 1280) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(`${origin.url}/#/signin`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Flags in/ }).waitFor();
  await page.goto(`${origin.url}/${hash}`);
  return page;
}

/** The diff table's rows as [what, before, after]. */
const diffRows = (card) =>
  card.locator("table.semantic-diff tbody tr").evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent.replace(/\s+/g, " ").trim())));

test("signed out, the page shows no navigation, environment list or sign-out", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${origin.url}/`);
  await page.getByLabel("API token").waitFor();
  for (const name of ["Flags", "Changes", "Audit"]) assert.equal(await page.getByRole("link", { name, exact: true }).isVisible(), false, name);
  assert.equal(await page.getByRole("button", { name: "Sign out" }).isVisible(), false);
  assert.equal(await page.getByLabel("Environment").isVisible(), false);
  await page.close();
});

test("a rollout change reviewed across tokens: diff, impact, policies, comments, waiting for you", async () => {
  const editor = await signIn(alice, `#/flag/${ENV}/${ROUTING}`);
  await editor.getByRole("heading", { name: "Rollout" }).waitFor();
  const rules = await editor.locator("ol.rules > li").allTextContents();
  assert.match(rules[0], /^no-high-risk: when/, "rules are numbered once, by the list");
  await editor.locator("#percentage").fill("10");
  await editor.getByRole("button", { name: "Propose", exact: true }).click();
  await editor.getByText(/change #\d+ is pending/).waitFor();
  const { changes } = await api(origin, alice, "GET", `/changes?status=pending&flag=${ROUTING}`);
  const id = changes[0].id;
  // The flag's own page shows the pending change with its diff.
  const onFlagPage = editor.locator("section", { has: editor.getByRole("heading", { name: "Pending changes" }) }).locator(`[data-change="${id}"]`);
  await onFlagPage.waitFor();
  assert.deepEqual((await diffRows(onFlagPage))[0], ["Rules rule “pros”: serve: weight of “on”", "5 %", "10 %"]);

  // The editor is not an approver: the change is under "Other pending changes", no buttons.
  await editor.goto(`${origin.url}/#/changes`);
  const others = editor.locator("section", { has: editor.getByRole("heading", { name: "Other pending changes" }) });
  await others.locator(`[data-change="${id}"]`).getByText("You proposed this change").waitFor();
  assert.equal(await others.locator(`[data-change="${id}"] form.decide`).count(), 0);

  const paul = await signIn(approvers.PRODUCT_OWNER, "#/changes");
  await paul.locator("#waiting", { hasText: "1" }).waitFor();
  const yours = paul.locator("section", { has: paul.getByRole("heading", { name: /Waiting for you/ }) });
  const card = yours.locator(`[data-change="${id}"]`);
  await card.waitFor();
  assert.deepEqual(await diffRows(card), [
    ["Rules rule “pros”: serve: weight of “on”", "5 %", "10 %"],
    ["Rules rule “pros”: serve: weight of “off”", "95 %", "90 %"],
  ]);
  const impact = await card.locator("ul.impact li").allTextContents();
  assert.deepEqual(impact, [
    "~19,400 evaluations in the last 24 h.",
    "rule “pros”: “on” 5 % → 10 %, “off” 95 % → 90 % of its ~12,400 daily evaluations (63.9 % of traffic): ~620 a day change variant",
  ]);
  const governance = await card.locator("ul.approvals").textContent();
  for (const [role, policy, why] of [
    ["TECH_LEAD", "critical-risk-approvals", "critical risk needs TECH_LEAD and SECURITY approval"],
    ["PRODUCT_OWNER", "high-risk-product-owner", "high or critical risk needs PRODUCT_OWNER approval"],
    ["COMPLIANCE", "mifid2-best-execution", "best-execution review"],
  ]) {
    assert.ok(governance.includes(role) && governance.includes(policy) && governance.includes(why), `${role} ${policy}: ${governance}`);
  }
  assert.match(governance, /Why: both the current and the proposed version need it/);
  assert.match(await card.locator(".still").textContent(), /Still needed: TECH_LEAD, SECURITY, PRODUCT_OWNER, COMPLIANCE/);
  await paul.screenshot({ path: join(shots, "04-approval.png"), fullPage: true });
  await card.screenshot({ path: join(shots, "04-approval-card.png") });

  // Approve by keyboard alone: the comment field, then Tab to the button and Enter.
  await card.getByLabel("Comment").focus();
  await paul.keyboard.type("10 % is within the pilot's budget");
  await paul.keyboard.press("Tab");
  assert.equal(await paul.evaluate(() => document.activeElement.textContent), "Approve as PRODUCT_OWNER");
  await paul.keyboard.press("Enter");
  const approved = paul.locator(`[data-change="${id}"]`);
  await approved.locator("ul.comments", { hasText: "10 % is within the pilot's budget" }).waitFor();
  assert.match(await approved.locator(".still").textContent(), /Still needed: TECH_LEAD, SECURITY, COMPLIANCE$/);
  await paul.locator("#waiting").waitFor({ state: "hidden" }); // nothing waits for paul any more

  for (const role of ["TECH_LEAD", "SECURITY"]) await api(origin, approvers[role], "POST", `/changes/${id}/approve`, { comment: `${role} ok` });
  const carla = await signIn(approvers.COMPLIANCE, `#/change/${id}`, 390);
  const last = carla.locator(`[data-change="${id}"]`);
  await last.getByRole("button", { name: "Approve as COMPLIANCE" }).waitFor();
  assert.equal(await last.locator("table.semantic-diff tbody tr").count(), 2);
  await carla.screenshot({ path: join(shots, "13-review-phone.png"), fullPage: true });
  const width = await carla.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no sideways scrolling at phone width: ${width}px`);
  await last.getByLabel("Comment").fill("best execution reviewed");
  await last.getByRole("button", { name: "Approve as COMPLIANCE" }).click();
  await carla.locator(`[data-change="${id}"] .badge.on`, { hasText: "applied" }).waitFor();

  // The author sees who approved, with their comments.
  await editor.goto(`${origin.url}/#/change/${id}`);
  await editor.getByRole("link", { name: "← All change requests" }).waitFor();
  const comments = await editor.locator(`[data-change="${id}"] ul.comments li`).allTextContents();
  assert.equal(comments.length, 4, comments.join("\n"));
  assert.ok(comments.some((c) => /carla approved as COMPLIANCE.*best execution reviewed/.test(c)), comments.join("\n"));
  const doc = (await api(origin, alice, "GET", `/environments/${ENV}/flags/${ROUTING}`)).flag;
  assert.deepEqual(doc.rules.find((r) => r.id === "pros").serve.rollout.weights, { on: 10, off: 90 });
  for (const p of [editor, paul, carla]) {
    assert.deepEqual(p.errors, []);
    await p.close();
  }
});

test("a flag whose creation needs approval is pending in the list and on its page", async () => {
  const page = await signIn(alice, "#/new");
  await page.getByLabel("Key", { exact: true }).fill("fx-quotes-v2");
  await page.getByLabel("Risk").selectOption("high");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("heading", { level: 1, name: /fx-quotes-v2/ }).waitFor();
  assert.equal(await page.getByText("Something went wrong").count(), 0);
  await page.getByText("its creation waits for approval").waitFor();
  const rows = await diffRows(page.locator("[data-change]"));
  assert.deepEqual(rows[0], ["Flag flag", "—", "new flag “fx-quotes-v2”"]);
  assert.ok(rows.some(([what, , after]) => what === "Governance risk" && after === "high"), JSON.stringify(rows));
  await page.getByText("A new flag: no evaluations yet.").waitFor();
  await page.screenshot({ path: join(shots, "14-pending-flag.png"), fullPage: true });

  await page.goto(`${origin.url}/#/flags`);
  const row = page.locator("tr", { hasText: "fx-quotes-v2" });
  await row.locator(".badge", { hasText: "pending approval" }).waitFor();
  assert.match(await row.textContent(), /waits for PRODUCT_OWNER/);
  await page.getByLabel("Status").selectOption("pending");
  assert.deepEqual(await page.locator("tbody tr td:first-child a").allTextContents(), ["fx-quotes-v2"]);
  await page.screenshot({ path: join(shots, "15-flags-pending.png"), fullPage: true });

  const paul = await signIn(approvers.PRODUCT_OWNER, "#/flags", 390);
  await paul.locator("tr", { hasText: "fx-quotes-v2" }).getByRole("link", { name: /change #/ }).click();
  await paul.getByRole("button", { name: "Approve as PRODUCT_OWNER" }).click();
  await eventually(async () => (await api(origin, alice, "GET", `/environments/${ENV}/flags/fx-quotes-v2`).catch(() => null))?.revision === 1, 5000, "the flag applied");
  assert.deepEqual(page.errors, []);
  assert.deepEqual(paul.errors, []);
  await page.close();
  await paul.close();
});

test("the playground says which prerequisite failed", async () => {
  const page = await signIn(alice, "#/playground");
  await page.getByRole("button", { name: /Fetch production/ }).click();
  await page.locator("#verified").waitFor();
  await page.getByLabel("Context (JSON)").fill(JSON.stringify({ targetingKey: "acct-1", account_tier: "premium" }));
  await page.getByLabel("Flag", { exact: true }).selectOption(ROUTING);
  await page.getByRole("button", { name: "Evaluate" }).click();
  const reason = page.locator("#result dd", { hasText: "PREREQUISITE_FAILED" });
  await reason.waitFor();
  assert.match(await reason.textContent(), /prerequisite market-data-v3 served “off” \(DEFAULT\); it needs “on”/);
  assert.doesNotMatch(await reason.textContent(), /trading-kill-switch/, "only the one that failed");
  await page.close();
});

test("decided changes filter by state, kind and author; the audit log pages newest first", async () => {
  const page = await signIn(approvers.PRODUCT_OWNER, "#/changes");
  const decided = page.locator("section", { has: page.getByRole("heading", { name: "Decided changes" }) });
  await decided.locator("article").first().waitFor();
  await decided.getByLabel("Kind").selectOption("rollout");
  await decided.getByLabel("Author").fill("ALICE");
  await decided.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => [...document.querySelectorAll("#decided ~ article h2")].every((h) => /rollout/.test(h.textContent)));
  const titles = await decided.locator("article h2").allTextContents();
  assert.equal(titles.length, 1, titles.join("\n"));
  assert.match(titles[0], /rollout enhanced-order-routing-v2 in production applied/);
  await decided.getByLabel("Kind").selectOption("");
  await decided.getByLabel("State").selectOption("rejected");
  await decided.getByRole("button", { name: "Filter" }).click();
  await decided.getByText("No decided change matches.").waitFor();

  // More history: a low-risk flag switched off and on again.
  await api(origin, alice, "POST", `/environments/${ENV}/flags`, { flag: simpleFlag("banner") });
  for (let i = 0; i < 6; i++) {
    await api(origin, alice, "POST", `/environments/${ENV}/flags/banner/kill`, { reason: `drill ${i}` });
    await api(origin, alice, "POST", `/environments/${ENV}/flags/banner/enable`, { reason: `drill ${i} over` });
  }
  const { entries } = await api(origin, origin.admin, "GET", "/audit?limit=1000&environment=production");
  assert.ok(entries.length > 50, `enough entries for two pages: ${entries.length}`);
  await page.goto(`${origin.url}/#/audit`);
  const seqs = () => page.locator("tbody tr td:first-child").allTextContents().then((t) => t.map(Number));
  await page.locator("#range").waitFor();
  const first = await seqs();
  assert.equal(first.length, 50, await page.locator("main").innerHTML());
  assert.deepEqual(first, [...first].sort((a, b) => b - a), "newest first");
  assert.equal(first[0], entries[entries.length - 1].seq, "the newest entry on top");
  await page.getByRole("button", { name: "Older entries" }).click();
  await page.waitForFunction((top) => Number(document.querySelector("tbody tr td").textContent) < top, first[first.length - 1] + 1);
  const second = await seqs();
  assert.deepEqual(second, entries.slice(0, entries.length - 50).map((e) => e.seq).reverse().slice(0, 50));
  // A live update (a kill switch elsewhere) refreshes the page on screen, not the newest one.
  await page.evaluate(() => (document.querySelector("tbody").dataset.before = "update"));
  await api(origin, alice, "POST", `/environments/${ENV}/flags/banner/kill`, { reason: "while reading page two" });
  await page.waitForFunction(() => !document.querySelector("tbody")?.dataset.before, null, { timeout: 10000 });
  assert.deepEqual(await seqs(), second, "still the second page after a live update");
  await page.getByRole("button", { name: "Newer entries" }).click();
  await page.waitForFunction((top) => Number(document.querySelector("tbody tr td").textContent) > top, first[0]);
  assert.equal(await page.getByRole("button", { name: "Newer entries" }).count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a live refresh still in flight when the person pages on does not put the old page back", async () => {
  const page = await signIn(approvers.PRODUCT_OWNER, "#/audit");
  await page.locator("#range").waitFor();
  const top = () => page.locator("tbody tr td").first().textContent().then(Number);
  const newest = await top();
  // The newest page answers slowly from now on: a live refresh of it is still in flight.
  await page.route(/\/api\/v1\/audit\?/, async (r) => {
    if (!r.request().url().includes("before=")) await new Promise((done) => setTimeout(done, 1500));
    await r.continue();
  });
  const refreshing = page.waitForRequest((r) => /\/api\/v1\/audit\?/.test(r.url()) && !r.url().includes("before="));
  await api(origin, alice, "POST", `/environments/${ENV}/flags/banner/enable`, { reason: "a live update" });
  await refreshing;
  await page.getByRole("button", { name: "Older entries" }).click();
  await page.waitForFunction((t) => Number(document.querySelector("tbody tr td").textContent) < t - 40, newest);
  await page.waitForTimeout(2500); // the slow refresh answers meanwhile
  assert.ok((await top()) < newest - 40, "still the older page");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a scheduled change says when it applies and that it can still be cancelled", async () => {
  const applyAt = new Date(Date.now() + 86_400_000).toISOString();
  const change = await api(origin, alice, "POST", `/environments/${ENV}/flags`, { flag: simpleFlag("holiday-banner"), apply_at: applyAt });
  assert.equal(change.status, "pending");
  const page = await signIn(alice, `#/change/${change.id}`);
  const note = page.locator("p.scheduled");
  await note.waitFor();
  assert.match(await note.textContent(), /scheduled\s+applies at .+ once approved; until then its author or an admin can cancel it/);
  assert.deepEqual(page.errors, []);
  await page.close();
});
