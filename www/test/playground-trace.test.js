// The playground's evaluation trace in real Chromium against a real `vexil serve`
// (issue 18, item 9): the seed's enhanced-order-routing-v2 (two prerequisites, an
// exclusion group, a rule of one clause, a rule of four and a 5 % rollout), traced by
// the page's wasm engine. What the page shows must be what the Node engine's trace of
// the same signed snapshot says: the same steps, the same buckets. Screenshots in
// target/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startOrigin, stopOrigin, api } from "../../worker/test/origin.js";
import { Engine } from "../../pkg/node.js";
import { traceEvaluation } from "../../pkg/trace.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
const shots = join(root, "target/screenshots");
const ROUTING = "enhanced-order-routing-v2";
const ENV = "production";
let origin, browser, alice, node;
const approvers = {};

before(async () => {
  await mkdir(shots, { recursive: true });
  const finance = JSON.parse(await readFile(join(root, "examples/finance-flags.json"), "utf8"));
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
    let change = await api(origin, alice, "POST", `/environments/${ENV}/flags`, { flag, reason: "from the seed's examples" });
    for (const role of new Set(change.required.map((r) => r.role))) {
      if (change.status !== "pending") break;
      change = await api(origin, approvers[role], "POST", `/changes/${change.id}/approve`, { role, comment: "reviewed" });
    }
    assert.equal(change.status, "applied", `${flag.key}: ${JSON.stringify(change)}`);
  }
  // The same signed snapshot in Node, to check the page against.
  const { keyring } = await api(origin, origin.admin, "GET", "/keys");
  const envelope = await (await fetch(`${origin.url}/api/v1/environments/${ENV}/snapshot`, { headers: { authorization: `Bearer ${alice}` } })).text();
  node = new Engine({ keys: keyring, environment: ENV });
  node.load(envelope);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
});

after(async () => {
  await browser?.close();
  node?.free();
  await stopOrigin(origin);
});

const trader = (targetingKey, experience_level) => ({
  targetingKey, segments: ["institutional"], account_tier: "institutional", experience_level, risk_tolerance: "high", market_data: { gateway_version: "3.2.0" },
});

/** The first account inside the flag's half of its exclusion group. */
function insideAccount() {
  for (let i = 0; i < 100; i++) {
    const t = traceEvaluation(node, ROUTING, trader(`acct-${i}`, "expert"));
    if (t.steps.find((s) => s.step === "exclusion").inside) return `acct-${i}`;
  }
  throw new Error("no account inside the exclusion range among 100");
}

async function evaluate(page, ctx) {
  await page.getByLabel("Context (JSON)").fill(JSON.stringify(ctx));
  await page.getByLabel("Flag", { exact: true }).selectOption(ROUTING);
  await page.getByRole("button", { name: "Evaluate" }).click();
  await page.locator("#trace").waitFor();
  return page.locator("#trace ol.steps li").allInnerTexts();
}

test("the playground traces an evaluation: prerequisites, the exclusion bucket, each rule and why, the rollout's unit and bucket", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(`${origin.url}/#/signin`);
  await page.getByLabel("API token").fill(alice);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Flags in/ }).waitFor();
  await page.goto(`${origin.url}/#/playground`);
  await page.getByRole("button", { name: /Fetch production/ }).click();
  await page.locator("#verified").waitFor();
  const account = insideAccount();
  const bucketOf = (t, step) => t.steps.find((s) => s.step === step).bucket.toLocaleString("en");

  // A novice: the four-clause rule fails at its third clause; the fallthrough serves.
  const novice = trader(account, "novice");
  const noviceTrace = traceEvaluation(node, ROUTING, novice);
  let steps = await evaluate(page, novice);
  assert.equal(steps.length, noviceTrace.steps.length + 1, steps.join("\n"));
  assert.match(steps[0], /^prerequisite trading-kill-switch met$/);
  assert.match(steps[1], /^prerequisite market-data-v3 met$/);
  assert.equal(steps[2], `exclusion group routing-experiments: bucket ${bucketOf(noviceTrace, "exclusion")} of 100,000 (${(noviceTrace.steps[2].bucket / 1000).toFixed(3)} %) — inside the flag's range [0, 50,000)`);
  assert.match(steps[3], /^rule no-high-risk did not match: in segment “high-risk-accounts” is false$/);
  assert.match(steps[4], /^rule pros did not match: clause 3 of 4 failed — experience_level is one of "expert", "professional"$/);
  assert.match(steps[5], /^no rule matched: the fallthrough, serve “off”$/);
  const meta = await page.locator("#trace .trace-meta").innerText();
  assert.match(meta, /^Evaluated at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z in (\d+\.\d{3} ms|under the page clock's resolution) \(/);
  assert.match(await page.locator("#result").innerText(), /DEFAULT/);
  await page.screenshot({ path: join(shots, "30-playground-trace-rule-failed.png"), fullPage: true });

  // An expert: the rule matches and its rollout places the account by its bucket.
  const expert = trader(account, "expert");
  const expertTrace = traceEvaluation(node, ROUTING, expert);
  steps = await evaluate(page, expert);
  assert.match(steps[4], /^rule pros matched: /);
  assert.equal(steps[5], `rollout of rule pros by targetingKey = "${account}": bucket ${bucketOf(expertTrace, "rollout")} of 100,000 (${(expertTrace.steps[5].bucket / 1000).toFixed(3)} %) → ${expertTrace.variant}`);
  assert.equal(steps.length, 6, steps.join("\n"));
  await page.screenshot({ path: join(shots, "31-playground-trace-rollout.png"), fullPage: true });

  // A failed prerequisite ends the trace there, and says what it served.
  steps = await evaluate(page, { targetingKey: account, account_tier: "premium" });
  assert.deepEqual(steps, ["prerequisite trading-kill-switch met", "prerequisite market-data-v3 not met: it served “off” (DEFAULT) and needs “on”"]);
  assert.match(await page.locator("#trace .not-reached").innerText(), /^Not reached: no-high-risk, pros\.$/);
  assert.deepEqual(page.errors, []);
  await page.close();
});
