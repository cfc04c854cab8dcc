// The console's rollout box in real Chromium, against a real `vexil serve`: it shows and
// edits the serve that holds a flag's split, not the fallthrough. On the seed's
// enhanced-order-routing-v2 (the 5 % split is inside rule `pros`) it shows 5 % for
// rule `pros`, and proposing 10 % yields a change request for that rule alone; with
// several splits it makes the user pick.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startOrigin, stopOrigin, api, simpleFlag, eventually } from "../../worker/test/origin.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const finance = JSON.parse(readFileSync(fileURLToPath(new URL("../../examples/finance-flags.json", import.meta.url)), "utf8"));
const ROUTING = "enhanced-order-routing-v2";
const ENV = "production";
let origin, browser, alice;
const approvers = {};

/** Creates an example flag through its change request, approved by whom it needs. */
async function createApproved(flag) {
  let change = await api(origin, alice, "POST", `/environments/${ENV}/flags`, { flag, reason: "from the seed's examples" });
  for (const role of new Set(change.required.map((r) => r.role))) {
    if (change.status !== "pending") break;
    change = await api(origin, approvers[role], "POST", `/changes/${change.id}/approve`, { role, comment: "reviewed" });
  }
  assert.equal(change.status, "applied", `${flag.key}: ${JSON.stringify(change)}`);
}

before(async () => {
  origin = await startOrigin();
  alice = (await api(origin, origin.admin, "POST", "/tokens", { name: "alice", roles: ["editor"] })).token;
  for (const [name, role] of [["tom", "TECH_LEAD"], ["sara", "SECURITY"], ["paul", "PRODUCT_OWNER"], ["carla", "COMPLIANCE"]]) {
    approvers[role] = (await api(origin, origin.admin, "POST", "/tokens", { name, roles: [role] })).token;
  }
  for (const [name, clause] of Object.entries(finance.segments)) {
    await api(origin, alice, "PUT", `/environments/${ENV}/segments/${name}`, { clause });
  }
  for (const [name, group] of Object.entries(finance.exclusion_groups)) {
    await api(origin, alice, "PUT", `/environments/${ENV}/exclusion-groups/${name}`, { salt: group.salt });
  }
  const expiry = new Date(Date.now() + 90 * 86_400_000).toISOString();
  for (const key of ["trading-kill-switch", "market-data-v3", ROUTING]) {
    const flag = structuredClone(finance.flags.find((f) => f.key === key));
    if (flag.expires_at) flag.expires_at = expiry;
    await createApproved(flag);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
});

after(async () => {
  await browser?.close();
  await stopOrigin(origin);
});

async function flagPage(key) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${origin.url}/#/signin`);
  await page.getByLabel("API token").fill(alice);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Flags in/ }).waitFor();
  await page.goto(`${origin.url}/#/flag/${ENV}/${key}`);
  await page.getByRole("heading", { name: "Rollout" }).waitFor();
  return page;
}

const rollout = (serve) => serve?.rollout?.weights ?? null;
const ruleOf = (doc, id) => doc.rules.find((r) => r.id === id);

test("on enhanced-order-routing-v2 the box shows rule pros at 5 % and proposes 10 % there", async () => {
  const page = await flagPage(ROUTING);
  assert.equal(await page.locator("#percentage").inputValue(), "5", "the split's share, not the fallthrough's 0");
  assert.equal(await page.getByLabel("Serve", { exact: true }).inputValue(), "rule:pros", "the serve holding the split");
  await page.locator("#percentage").fill("10");
  await page.getByRole("button", { name: "Propose", exact: true }).click();
  // A critical MiFID II flag: the proposal waits for its approvers.
  const change = await eventually(async () => {
    const { changes } = await api(origin, alice, "GET", `/changes?status=pending&flag=${ROUTING}`);
    return changes.find((c) => c.kind === "rollout");
  }, 10_000, "the change request");
  assert.deepEqual(rollout(ruleOf(change.document, "pros").serve), { on: 10, off: 90 }, "rule pros gets 10 %");
  assert.deepEqual(change.document.fallthrough, { variant: "off" }, "users no rule matched keep the off variant");
  assert.deepEqual(ruleOf(change.document, "no-high-risk").serve, { variant: "off" });
  await page.getByText(/change #\d+ is pending/).waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("with several splits the user picks the serve, and only that one changes", async () => {
  const flag = simpleFlag("search-ranking", {
    rules: [
      { id: "beta", when: { attr: "beta", op: "eq", values: [true] }, serve: { rollout: { weights: { on: 50, off: 50 } } } },
      { id: "staff", when: { attr: "staff", op: "eq", values: [true] }, serve: { rollout: { weights: { on: 20, off: 80 } } } },
    ],
    fallthrough: { rollout: { weights: { on: 1, off: 99 } } },
  });
  await api(origin, alice, "POST", `/environments/${ENV}/flags`, { flag });
  const page = await flagPage("search-ranking");
  const target = page.getByLabel("Serve", { exact: true });
  assert.equal(await target.inputValue(), "", "no serve chosen for the user");
  assert.equal(await page.locator("#percentage").inputValue(), "");
  await page.getByRole("button", { name: "Propose", exact: true }).click();
  assert.equal(await target.evaluate((s) => s.validity.valueMissing), true, "the browser asks for a serve");
  const { changes: before } = await api(origin, alice, "GET", "/changes?flag=search-ranking");
  await target.selectOption("rule:staff");
  assert.equal(await page.locator("#percentage").inputValue(), "20");
  await page.locator("#percentage").fill("30");
  await page.getByRole("button", { name: "Propose", exact: true }).click();
  await page.getByText(/Rollout 30% in rule staff: applied/).waitFor();
  const { changes: afterwards } = await api(origin, alice, "GET", "/changes?flag=search-ranking");
  assert.equal(afterwards.length, before.length + 1, "one change, made after the pick");
  const doc = (await api(origin, alice, "GET", `/environments/${ENV}/flags/search-ranking`)).flag;
  assert.deepEqual(rollout(ruleOf(doc, "staff").serve), { on: 30, off: 70 });
  assert.deepEqual(rollout(ruleOf(doc, "beta").serve), { on: 50, off: 50 });
  assert.deepEqual(rollout(doc.fallthrough), { on: 1, off: 99 });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a flag with no split edits its fallthrough, as before", async () => {
  await api(origin, alice, "POST", `/environments/${ENV}/flags`, { flag: simpleFlag("promo") });
  const page = await flagPage("promo");
  assert.equal(await page.getByLabel("Serve", { exact: true }).inputValue(), "fallthrough");
  assert.equal(await page.locator("#percentage").inputValue(), "0");
  await page.locator("#percentage").fill("25");
  await page.getByRole("button", { name: "Propose", exact: true }).click();
  await page.getByText(/Rollout 25%: applied/).waitFor();
  const doc = (await api(origin, alice, "GET", `/environments/${ENV}/flags/promo`)).flag;
  assert.deepEqual(rollout(doc.fallthrough), { on: 25, off: 75 });
  await page.close();
});
