// The form editor of a flag's page in real Chromium against a real `vexil serve`: an
// unchanged form writes back exactly the stored document; an edit in the form (a rule's
// values and operator, a split's weights, a variant's value, a prerequisite, expiry)
// gives the same document as that edit made in JSON, shown in the JSON view, validated
// inline by the engine, and stored as such.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startOrigin, stopOrigin, api, simpleFlag, eventually } from "../../worker/test/origin.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const shots = join(fileURLToPath(new URL("../..", import.meta.url)), "target/screenshots");
let origin, browser, editor;

before(async () => {
  await mkdir(shots, { recursive: true });
  origin = await startOrigin();
  editor = (await api(origin, origin.admin, "POST", "/tokens", { name: "erin", roles: ["editor"] })).token;
  await api(origin, editor, "POST", "/environments/production/flags", { flag: simpleFlag("guard", { kind: "ops", strategy: "operational_toggle", fallthrough: { variant: "on" } }) });
  await api(origin, editor, "POST", "/environments/production/flags", {
    flag: simpleFlag("search-ranking", {
      tags: ["search"],
      variants: { on: "ranked", off: "plain" },
      rules: [
        { id: "beta", description: "beta testers", when: { attr: "plan", op: "in", values: ["beta", "staff"] }, serve: { variant: "on" } },
        { id: "complex", when: { any: [{ attr: "country", op: "eq", values: ["DE"] }, { attr: "age", op: "gte", values: [18] }] }, serve: { variant: "off" } },
      ],
      fallthrough: { rollout: { by: "targetingKey", weights: { on: 1, off: 99 } } },
    }),
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
});

after(async () => {
  await browser?.close();
  await stopOrigin(origin);
});

test("a form edit round-trips to the same document as the JSON edit", async () => {
  const stored = (await api(origin, editor, "GET", "/environments/production/flags/search-ranking")).flag;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(`${origin.url}/#/signin`);
  await page.getByLabel("API token").fill(editor);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Flags in/ }).waitFor();
  await page.goto(`${origin.url}/#/flag/production/search-ranking`);
  await page.getByRole("button", { name: "Form", exact: true }).waitFor();
  const jsonView = async () => {
    await page.getByRole("button", { name: "JSON", exact: true }).click();
    return JSON.parse(await page.getByLabel("Flag document (JSON)").inputValue());
  };

  assert.deepEqual(await jsonView(), stored, "an unchanged form writes back the stored document");
  await page.getByRole("button", { name: "Form", exact: true }).click();

  // The same edit, made by hand on the JSON document.
  const expected = structuredClone(stored);
  expected.rules[0].when = { attr: "plan", op: "not_in", values: ["beta", "staff", "vip"] };
  expected.fallthrough.rollout.weights = { on: 5, off: 95 };
  expected.variants.on = "green";
  expected.prerequisites = [{ flag: "guard", variants: ["on"] }];
  expected.expires_at = "2031-03-01T00:00:00Z";

  await page.getByLabel("values").first().fill("beta, staff, vip");
  await page.getByLabel("operator").first().selectOption("not_in");
  await page.locator("#fallthrough-w-on").fill("5");
  await page.locator("#fallthrough-w-off").fill("95");
  await page.getByLabel("Value of variant on").fill('"green"');
  await page.getByRole("button", { name: "Add prerequisite" }).click();
  await page.locator("#pre-0-flag").fill("guard");
  await page.getByLabel("Expires").last().fill("2031-03-01");
  await page.locator("#form-check .ok", { hasText: "Valid." }).waitFor({ timeout: 5000 }).catch(async (e) => assert.fail(`${e.message}: ${await page.locator("#form-check").innerHTML()} ${page.errors}`));
  assert.equal(await page.getByLabel("When (a compound clause, JSON)").count(), 1, "a compound clause stays JSON");
  await page.screenshot({ path: join(shots, "16-form-editor.png"), fullPage: true });

  assert.deepEqual(await jsonView(), expected, "the form's document is the JSON edit's");
  await page.getByRole("button", { name: "Form", exact: true }).click();

  // The engine's validation, inline: weights that do not add up.
  await page.locator("#fallthrough-w-off").fill("90");
  const invalid = page.locator("#form-check .error");
  await invalid.waitFor();
  assert.match(await invalid.textContent(), /fallthrough/);
  await page.locator("#fallthrough-w-off").fill("95");
  await page.locator("#form-check .ok").waitFor();

  await page.getByRole("button", { name: "Propose change" }).click();
  const saved = await eventually(async () => {
    const f = await api(origin, editor, "GET", "/environments/production/flags/search-ranking");
    return f.revision === 2 ? f.flag : null;
  }, 5000, "the stored edit");
  assert.deepEqual(saved, expected);
  assert.deepEqual(page.errors, []);
  await page.close();
});
