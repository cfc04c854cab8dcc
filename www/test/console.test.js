// The console and the browser SDK in real Chromium, against a real `vexil serve`
// (which serves www/ and pkg/). Screenshots land in target/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startOrigin, stopOrigin, api, simpleFlag, eventually } from "../../worker/test/origin.js";
import { startExampleSite } from "../examples/site.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
const shots = join(root, "target/screenshots");
let origin, browser, alice, paul, sdkKey, keys, calendars;

before(async () => {
  await mkdir(shots, { recursive: true });
  // A trading venue with a holidays file: last year's Christmas, next year's Christmas
  // Eve (a half day) and Christmas.
  const year = new Date().getUTCFullYear();
  calendars = await mkdtemp(join(tmpdir(), "vexil-console-"));
  const holidays = join(calendars, "xlon.txt");
  await writeFile(holidays, `${year - 1}-12-25\n${year + 1}-12-24 12:30\n${year + 1}-12-25\n`);
  origin = await startOrigin({
    append: `[[governance.venues]]\nname = "XLON"\ntime_zone = "Europe/London"\nholidays_file = ${JSON.stringify(holidays)}\n` +
      `[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = "08:00"\nclose = "16:30"\n`,
  });
  alice = (await api(origin, origin.admin, "POST", "/tokens", { name: "alice", roles: ["editor"] })).token;
  paul = (await api(origin, origin.admin, "POST", "/tokens", { name: "paul", roles: ["PRODUCT_OWNER", "viewer"] })).token;
  sdkKey = (await api(origin, origin.admin, "POST", "/sdk-keys", { name: "web", environment: "production" })).token;
  keys = (await api(origin, origin.admin, "GET", "/keys")).keyring;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
});

after(async () => {
  await browser?.close();
  await stopOrigin(origin);
  if (calendars) await rm(calendars, { recursive: true, force: true });
});

async function signIn(token, hash = "#/flags") {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${origin.url}/#/signin`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Flags in/ }).waitFor();
  if (hash !== "#/flags") await page.goto(`${origin.url}/${hash}`);
  return page;
}

test("sign in, and create a flag through the form with the engine's errors shown", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${origin.url}/`);
  await page.getByLabel("API token").fill("vxt_wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That token is unknown or revoked.").waitFor();
  await page.getByLabel("API token").fill(alice);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("No flags in production yet.").waitFor();
  assert.equal(await page.evaluate(() => location.href.includes("vxt_")), false, "the token never enters the URL");
  await page.screenshot({ path: join(shots, "01-empty-flags.png") });

  await page.getByRole("link", { name: "New flag" }).click();
  await page.getByLabel("Key", { exact: true }).fill("Promo Banner");
  await page.getByRole("button", { name: "Create" }).click();
  await page.locator(".error", { hasText: "naming-convention" }).waitFor();
  await page.getByLabel("Key", { exact: true }).fill("promo-banner");
  await page.getByLabel(/More fields/).fill('{"rules": [{"id": "r", "when": {"attr": "plan", "op": "likes", "values": ["x"]}, "serve": {"variant": "on"}}]}');
  await page.getByRole("button", { name: "Create" }).click();
  const error = page.locator(".error", { hasText: "likes" });
  await error.waitFor();
  assert.match(await error.textContent(), /flags\[0\]\.rules\[0\]\.when\.op/, "the engine's own message, with its path");
  await page.screenshot({ path: join(shots, "02-new-flag-errors.png") });

  await page.getByLabel("Name").fill("Promo banner");
  await page.getByLabel(/More fields/).fill("{}");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("heading", { name: /promo-banner/ }).waitFor();
  assert.equal(await page.locator(".badge.on").first().textContent(), "enabled");
  await page.screenshot({ path: join(shots, "03-flag-page.png"), fullPage: true });
  await page.close();
});

test("an approval across two tokens, with four-eyes visible", async () => {
  const page = await signIn(alice, "#/new");
  await page.getByLabel("Key", { exact: true }).fill("pricing-engine-v2");
  await page.getByLabel("Risk").selectOption("high");
  await page.getByRole("button", { name: "Check" }).click();
  await page.getByText(/will need approval from/).waitFor();
  await page.getByRole("button", { name: "Create" }).click();
  // The pending flag's own page, not "Something went wrong: no flag … in production".
  await page.getByRole("heading", { level: 1, name: /pricing-engine-v2/ }).waitFor();
  await page.getByText("its creation waits for approval").waitFor();
  assert.equal(await page.getByText("Something went wrong").count(), 0);
  await page.goto(`${origin.url}/#/changes`);
  const card = page.locator("article.card", { hasText: "pricing-engine-v2" }).first();
  await card.getByText("You proposed this change").waitFor();
  assert.equal(await card.getByRole("button", { name: /Approve/ }).count(), 0, "the author cannot approve");

  const approver = await signIn(paul, "#/changes");
  const theirs = approver.locator("article.card", { hasText: "pricing-engine-v2" }).first();
  await theirs.getByText("PRODUCT_OWNER").first().waitFor();
  await theirs.getByLabel("Comment").fill("priced correctly");
  await theirs.getByRole("button", { name: "Approve as PRODUCT_OWNER" }).click();
  // Applied, it moves to "Recently decided", its review folded away until opened.
  const decided = approver.locator("article.card", { hasText: "pricing-engine-v2" }).first();
  await decided.locator(".badge.on", { hasText: "applied" }).waitFor();
  await decided.locator("summary").click();
  await decided.getByText("approved by paul").first().waitFor();
  assert.match(await decided.locator("ul.comments").textContent(), /paul approved as PRODUCT_OWNER.*priced correctly/);
  const flag = await api(origin, alice, "GET", "/environments/production/flags/pricing-engine-v2");
  assert.equal(flag.revision, 1);
  await page.close();
  await approver.close();
});

test("the kill switch: confirmed with a reason, and seen by another open page in under 2 s", async () => {
  const watcher = await signIn(paul, "#/flags");
  await watcher.getByRole("link", { name: "promo-banner" }).waitFor();
  const editor = await signIn(alice, "#/flag/production/promo-banner");
  await editor.getByRole("button", { name: "Kill switch…" }).click();
  await editor.getByRole("dialog").getByLabel(/Reason/).fill("broken layout on mobile");
  await editor.screenshot({ path: join(shots, "05-kill-confirm.png") });
  const started = Date.now();
  await editor.getByRole("button", { name: "Disable now" }).click();
  await watcher.locator("tr", { hasText: "promo-banner" }).locator(".badge.off").waitFor({ timeout: 2000 });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 2000, `${elapsed} ms`);
  await watcher.screenshot({ path: join(shots, "06-killed-elsewhere.png") });
  assert.deepEqual(watcher.errors, []);
  await watcher.close();
  await editor.close();
});

test("a rollout's best-execution checks show treatment against control", async () => {
  await api(origin, alice, "POST", "/environments/production/flags", { flag: simpleFlag("smart-router") });
  const guard = { event: "order.executed", metric: "value", tolerance: 0.5, confidence: 0.95, min_samples: 50 };
  const rollout = await api(origin, alice, "POST", "/environments/production/flags/smart-router/rollouts", { stages: [10, 100], stage_duration: "1h", min_samples: 10, best_execution: [guard] });
  await eventually(async () => (await api(origin, alice, "GET", `/rollouts/${rollout.id}`)).status === "running", 15_000, "running");
  // 200 fills each, variance 4: the treatment improves prices 2 bps less than control.
  const executed = (n, mean) => ({ count: n, value_sum: n * mean, value_sq_sum: 4 * (n - 1) + n * mean * mean, value_count: n });
  const end = Date.now() + 1000;
  await api(origin, sdkKey, "POST", "/metrics", {
    schema: 1, batch_id: "best-ex-1", sdk: "test", environment: "production", window: { start_ms: end - 1000, end_ms: end },
    flags: { "smart-router": { variants: { on: { count: 300, reasons: { SPLIT: 300 } }, off: { count: 300, reasons: { SPLIT: 300 } } } } },
    events: { "order.executed": { count: 400, attributions: { "smart-router": { on: executed(200, 0), off: executed(200, 2) } } } },
    audit: [], dropped: { audit: 0, events: 0, unknown_flags: 0 },
  });
  await eventually(async () => (await api(origin, alice, "GET", `/rollouts/${rollout.id}`)).status === "rolled_back", 20_000, "rolled back");
  const page = await signIn(alice, `#/rollout/${rollout.id}`);
  const row = page.locator("#best-execution tbody tr").last();
  await row.waitFor();
  assert.equal(await page.locator("#best-execution tbody tr").count(), 1, "the rollback's check, once");
  await row.locator("svg.interval").waitFor();
  const cells = await row.locator("td").allTextContents();
  assert.deepEqual(cells.slice(1, 4), ["order.executed", "2 (200)", "0 (200)"]);
  assert.match(cells[4].trim(), /^\[-\d+\.\d+, -\d+\.\d+\]$/);
  assert.equal(cells[5], "≥ -0.5");
  assert.equal(cells[6], "worse: rolls back");
  await page.screenshot({ path: join(shots, "07b-rollout-best-execution.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a rollout's charts render from edge metrics", async () => {
  await api(origin, alice, "POST", "/environments/production/flags", { flag: simpleFlag("new-checkout") });
  const rollout = await api(origin, alice, "POST", "/environments/production/flags/new-checkout/rollouts", { stages: [10, 50, 100], stage_duration: "1h", min_samples: 1000 });
  const now = Date.now();
  for (const [i, end] of [now - 40_000, now - 20_000, now].entries()) {
    const outcome = (success, failure, ms) => ({ count: success + failure, success, failure, value_sum: 0, value_count: 0 });
    await api(origin, sdkKey, "POST", "/metrics", {
      schema: 1, batch_id: `chart-${i}`, sdk: "test", environment: "production", window: { start_ms: end - 1000, end_ms: end },
      flags: { "new-checkout": { variants: { on: { count: 20 + i * 10, reasons: { SPLIT: 20 + i * 10 } }, off: { count: 180, reasons: { SPLIT: 180 } } } } },
      events: { request: { count: 200 + i, attributions: { "new-checkout": { on: outcome(20, i, 0), off: outcome(180, 0, 0) } } } },
      audit: [], dropped: { audit: 0, events: 0, unknown_flags: 0 },
    });
  }
  const page = await signIn(alice, `#/rollout/${rollout.id}`);
  await page.getByRole("heading", { name: `Rollout #${rollout.id} of new-checkout` }).waitFor();
  await page.locator("#evaluations canvas").first().waitFor();
  await page.locator("#errors canvas").first().waitFor();
  await page.locator("#latency").getByText("No latencies tracked yet").waitFor();
  assert.equal(await page.locator("ol.stages li.current").textContent(), "10%");
  await page.screenshot({ path: join(shots, "07-rollout.png"), fullPage: true });
  await page.goto(`${origin.url}/#/metrics/production/new-checkout`);
  await page.locator("#chart canvas").first().waitFor();
  // The insights report: lifecycle, and each tracked event against the control.
  assert.match(await page.locator("#lifecycle").textContent(), /active, revision \d+, last changed .+ by alice/);
  const onRow = page.locator("#impact tbody tr").filter({ has: page.locator("td:nth-child(2)", { hasText: /^on$/ }) });
  // Treated outcomes failed now and then while the control's never did: Δ success < 0.
  assert.match(await onRow.textContent(), /^requeston\d+——[\d.]+-\d/);
  assert.match(await page.locator("#impact tbody tr", { hasText: "(control)" }).textContent(), /off \(control\)/);
  assert.match(await page.locator("#impact h2").textContent(), /against the control “off”/);
  await page.screenshot({ path: join(shots, "08-metrics.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the audit log shows the chain verified and the kill switch", async () => {
  const page = await signIn(paul, "#/audit");
  await page.getByText(/Chain intact/).waitFor();
  await page.locator("tr", { hasText: "flag.killed" }).first().waitFor();
  await page.getByLabel("Action").fill("flag.killed");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
  assert.match(await page.locator("tbody tr").textContent(), /promo-banner/);
  await page.screenshot({ path: join(shots, "09-audit.png"), fullPage: true });
  await page.close();
});

test("the playground verifies a good snapshot in the browser and rejects a tampered one", async () => {
  const page = await signIn(alice, "#/playground");
  await page.getByRole("button", { name: /Fetch production/ }).click();
  await page.locator("#verified").waitFor();
  assert.match(await page.locator("#verified").textContent(), /Signed by key k\d+-[0-9a-f]+, version \d+/);
  await page.getByLabel("Flag", { exact: true }).selectOption("promo-banner");
  await page.getByRole("button", { name: "Evaluate" }).click();
  await page.locator("#result").waitFor();
  assert.match(await page.locator("#result").textContent(), /DISABLED/);
  await page.screenshot({ path: join(shots, "10-playground.png"), fullPage: true });

  const envelope = JSON.parse(await page.getByLabel("Signed snapshot envelope").inputValue());
  const payload = Buffer.from(envelope.payload, "base64");
  payload[payload.length - 1] ^= 1; // one byte of the signed payload changed
  envelope.payload = payload.toString("base64");
  await page.getByLabel("Signed snapshot envelope").fill(JSON.stringify(envelope));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.locator("#rejected").waitFor();
  assert.match(await page.locator("#rejected").textContent(), /BAD_SIGNATURE/);
  await page.screenshot({ path: join(shots, "11-playground-tampered.png") });
  await page.close();
});

test("the governance page shows the policies and the venues' coming closures", async () => {
  const page = await signIn(paul, "#/governance");
  await page.getByRole("heading", { name: "Governance" }).waitFor();
  const year = new Date().getUTCFullYear();
  const row = page.getByRole("row", { name: /XLON/ });
  assert.match(await row.innerText(), /Europe\/London\s+Mon Tue Wed Thu Fri 08:00–16:30/);
  assert.match(await row.innerText(), new RegExp(`${year + 1}-12-24 closes 12:30\\s+${year + 1}-12-25 closed`));
  assert.doesNotMatch(await row.innerText(), new RegExp(`${year - 1}-12-25`), "past closures are not listed");
  await page.getByRole("cell", { name: "mifid2-trading-hours-freeze" }).waitFor();
  await page.screenshot({ path: join(shots, "17-governance.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, "18-governance-phone.png") });
  const wide = await page.evaluate(() => [...document.querySelectorAll("main table")].filter((t) => t.scrollWidth > t.clientWidth + 1).length);
  assert.equal(wide, 0, "at phone width no table needs scrolling sideways");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the SDK example page: bootstrapped without flicker, beacons without unit ids", async () => {
  // The server's part (www/examples/site.mjs) evaluates for the user and embeds the signed
  // snapshot and the result in the page.
  await api(origin, alice, "POST", "/environments/production/flags/new-checkout/rollout", { percentage: 100 }).catch(() => {});
  const user = { targetingKey: "user-42", email: "ada@example.com", country: "DE" };
  // The site passes beacons on to the origin, so the test sees exactly what leaves the page.
  const beacons = [];
  const site = await startExampleSite({ origin: origin.url, environment: "production", sdkKey, keys, user: () => user, onBeacon: (b) => beacons.push(b) });
  const page = await browser.newPage();
  // Record every variant the page ever shows, from the very first moment.
  await page.addInitScript(() => {
    window.__seen = [];
    new MutationObserver(() => window.__seen.push(document.documentElement.dataset.checkout)).observe(document.documentElement, { attributes: true, attributeFilter: ["data-checkout"] });
  });
  await page.goto(`${site.url}/`, { waitUntil: "commit" });
  await page.waitForFunction(() => window.vexilClient !== undefined);
  const seen = await page.evaluate(() => [...new Set(window.__seen.concat(document.documentElement.dataset.checkout))]);
  assert.deepEqual(seen, ["on"], "the first paint already shows the right variant, and it never changes");
  await page.screenshot({ path: join(shots, "12-sdk-example.png") });
  await page.getByRole("button", { name: "Buy now" }).click();
  await page.getByText("Thanks!").waitFor();
  await page.goto("about:blank"); // pagehide: the beacon goes out
  await eventually(() => beacons.length > 0, 5000, "a metrics beacon");
  for (const b of beacons) {
    assert.ok(!b.body.includes("user-42") && !b.body.includes("ada@example.com"), "no unit id or private attribute leaves the page");
    assert.ok(!b.url.includes("user-42"));
    assert.match(b.url, /key=vxs_/, "a beacon carries the SDK key in the query");
  }
  const m = await eventually(async () => {
    const r = await api(origin, alice, "GET", "/flags/new-checkout/metrics?env=production");
    return r.outcomes.checkout ? r : null;
  }, 5000, "the outcome at the origin");
  assert.equal(m.outcomes.checkout.on.count, 1);
  assert.equal(m.geography.DE >= 1, true);
  site.close();
  await page.close();
});
