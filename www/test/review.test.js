// The reviewer's semantic diff and impact lines, on the seed's examples (no browser).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { flagDiff, definitionDiff } from "../review/diff.js";
import { impact, serveEvaluations } from "../review/impact.js";

const finance = JSON.parse(readFileSync(fileURLToPath(new URL("../../examples/finance-flags.json", import.meta.url)), "utf8"));
const health = JSON.parse(readFileSync(fileURLToPath(new URL("../../examples/healthcare-flags.json", import.meta.url)), "utf8"));
const routing = finance.flags.find((f) => f.key === "enhanced-order-routing-v2");
const alerts = health.flags.find((f) => f.key === "enhanced-clinical-alerts-v2");
const rowOf = (rows, item) => rows.find((r) => r.item === item);

test("a split's weights change one by one, named by rule", () => {
  const after = structuredClone(routing);
  after.rules[1].serve.rollout.weights = { on: 10, off: 90 };
  const rows = flagDiff(routing, after);
  assert.deepEqual(rows.map((r) => [r.section, r.item, r.before, r.after]), [
    ["Rules", "rule “pros”: serve: weight of “on”", "5 %", "10 %"],
    ["Rules", "rule “pros”: serve: weight of “off”", "95 %", "90 %"],
  ]);
});

test("rules added, removed, moved and re-targeted; clauses in words", () => {
  const after = structuredClone(routing);
  const [noHighRisk, pros] = after.rules;
  pros.when.all[1].values = ["institutional"];
  after.rules = [pros, noHighRisk, { id: "staff", when: { attr: "email", op: "ends_with", values: ["@bank.example"] }, serve: { variant: "on" } }];
  after.rules.splice(1, 1);
  const rows = flagDiff(routing, after);
  assert.deepEqual(rowOf(rows, "rule “pros”: position"), { section: "Rules", item: "rule “pros”: position", before: "#2", after: "#1", change: "changed" });
  assert.match(rowOf(rows, "rule “pros”: when").before, /account_tier is one of "institutional", "premium"/);
  assert.match(rowOf(rows, "rule “pros”: when").after, /account_tier is one of "institutional"\)/);
  assert.equal(rowOf(rows, "rule “staff” (added as #2)").after, 'when email ends with "@bank.example", serve “on”');
  assert.equal(rowOf(rows, "rule “no-high-risk” (was #1)").change, "removed");
});

test("variants, prerequisites, fallthrough and the governance fields (risk, compliance, PHI)", () => {
  const after = structuredClone(alerts);
  after.risk = "critical";
  after.phi = false;
  after.compliance = [];
  after.variants.on = "loud";
  after.prerequisites = [{ flag: "ehr-integration", variants: ["on", "beta"] }];
  after.fallthrough = { rollout: { weights: { on: 1, off: 99 } } };
  const rows = flagDiff(alerts, after);
  const gov = rows.filter((r) => r.section === "Governance").map((r) => [r.item, r.before, r.after]);
  assert.deepEqual(gov, [["risk", "high", "critical"], ["compliance", '["HIPAA"]', "[]"], ["phi", "true", "false"]]);
  assert.deepEqual(rowOf(rows, "variant “on”"), { section: "Variants", item: "variant “on”", before: "true", after: '"loud"', change: "changed" });
  const prereq = rows.filter((r) => r.section === "Prerequisites");
  assert.equal(prereq.length, 1, JSON.stringify(prereq));
  assert.equal(prereq[0].after, "“on”, “beta”");
  assert.deepEqual(rowOf(rows, "otherwise"), { section: "Fallthrough", item: "otherwise", before: "serve “off”", after: "split on 1% / off 99% by targetingKey", change: "changed" });
  assert.deepEqual(flagDiff(alerts, structuredClone(alerts)), []);
});

test("a new flag and a segment", () => {
  const rows = flagDiff(null, routing);
  assert.equal(rows[0].after, "new flag “enhanced-order-routing-v2”");
  assert.ok(rows.some((r) => r.item === "rule “pros” (added as #2)"));
  assert.deepEqual(definitionDiff("segment “vip”", { attr: "plan", op: "eq", values: ["gold"] }, null), [
    { section: "Definition", item: "segment “vip”", before: 'plan is "gold"', after: null, change: "removed" },
  ]);
});

// 24 h of metrics: the split (rule pros) answered 12,400 evaluations, 620 of them "on".
const metrics = {
  total_evaluations: 20_000,
  variants: {
    on: { count: 620, reasons: { SPLIT: 620 } },
    off: { count: 19_380, reasons: { SPLIT: 11_780, TARGETING_MATCH: 2_000, DEFAULT: 5_000, PREREQUISITE_FAILED: 600 } },
  },
};

test("impact: the one split's traffic from SPLIT, in words and figures", () => {
  const after = structuredClone(routing);
  after.rules[1].serve.rollout.weights = { on: 10, off: 90 };
  const lines = impact(routing, after, metrics);
  assert.equal(lines[0], "~20,000 evaluations in the last 24 h.");
  assert.equal(lines[1], "rule “pros”: “on” 5 % → 10 %, “off” 95 % → 90 % of its ~12,400 daily evaluations (62 % of traffic): ~620 a day change variant");
  assert.equal(lines.length, 2);
});

test("impact: fixed serves, the fallthrough, variants, prerequisites, and what cannot be told apart", () => {
  const after = structuredClone(routing);
  after.fallthrough = { variant: "on" };
  after.variants.on = "yes";
  after.prerequisites = [];
  after.rules[0].when = { segment: "institutional" };
  const lines = impact(routing, after, metrics);
  assert.ok(lines.includes("the fallthrough: serves differently for its ~5,000 daily evaluations (25 % of traffic)"), lines.join("\n"));
  assert.ok(lines.includes("variant “on”: its value changes for ~620 daily evaluations (3.1 % of traffic)"), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("prerequisites change") && l.includes("~600")), lines.join("\n"));
  assert.ok(lines.includes("rule “no-high-risk”: who matches changes (it matched ~2,000 daily evaluations, 10 % of traffic)"), lines.join("\n"));
  // Two splits: SPLIT cannot be attributed to one of them.
  const two = structuredClone(routing);
  two.fallthrough = { rollout: { weights: { on: 50, off: 50 } } };
  assert.equal(serveEvaluations(two, { serve: two.rules[1].serve }, metrics), null);
  const moved = structuredClone(two);
  moved.rules[1].serve.rollout.weights = { on: 10, off: 90 };
  assert.match(impact(two, moved, metrics)[1], /edges report all splits together/);
});

test("impact: kill switch, no metrics, a new flag, metadata only", () => {
  assert.match(impact(routing, { ...routing, enabled: false }, metrics)[1], /serves “off” to all ~20,000/);
  assert.deepEqual(impact(routing, routing, { total_evaluations: 0, variants: {} }), ["No edge metrics in the last 24 h: the impact cannot be estimated from traffic."]);
  assert.deepEqual(impact(null, routing, metrics), ["A new flag: no evaluations yet."]);
  assert.match(impact(routing, { ...routing, risk: "high" }, metrics)[1], /does not change/);
});

test("figures for people: no fifteen decimals, thousands separated, absent as a dash", async () => {
  const { num } = await import("../ui.js");
  assert.equal(num(100.52439024390245, 1), "100.5");
  assert.equal(num(0.333333), "0.33");
  assert.equal(num(12400), "12,400");
  assert.equal(num(null), "—");
  assert.equal(num(undefined), "—");
  assert.equal(num(7, 0), "7");
});

test("chart mark labels close in time stack instead of overlapping; at the edge they go left", async () => {
  const { placeLabels } = await import("../views/chart-labels.js");
  // "→ 50%" at x=100 and "rolled back" at x=110: the second takes the next row.
  assert.deepEqual(placeLabels([{ x: 100, width: 40 }, { x: 110, width: 70 }, { x: 300, width: 40 }], { right: 1000 }), [
    { left: 104, row: 0 }, { left: 114, row: 1 }, { left: 304, row: 0 },
  ]);
  assert.deepEqual(placeLabels([{ x: 990, width: 40 }], { right: 1000 }), [{ left: 946, row: 0 }]);
});
