// Migrating from Unleash: every `isEnabled` case of Unleash's published client
// specification (@unleash/client-specification), imported with `vexil import --from
// unleash` and evaluated by the wasm engine. Prints the pass rate per file; the
// README explains each case that cannot pass.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { Engine } from "../node.js";
import { envelope, makeKey, payload } from "./helpers.js";
import { VEXIL } from "../../worker/test/origin.js";

const require = createRequire(import.meta.url);
const specDir = join(require.resolve("@unleash/client-specification/package.json"), "..", "specifications");
const key = makeKey("k1");
const dir = mkdtempSync(join(tmpdir(), "vexil-unleash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An Unleash context as a Vexil one. */
function context(c = {}) {
  const { userId, properties = {}, currentTime, ...rest } = c;
  const out = { ...rest, ...properties };
  if (userId !== undefined) out.targetingKey = userId;
  return { ctx: out, now: currentTime ? Date.parse(currentTime) : undefined };
}

/** Imports a specification file's features and evaluates its isEnabled and getVariant cases. */
function run(file) {
  const spec = JSON.parse(readFileSync(join(specDir, file), "utf8"));
  const enabledCases = spec.tests ?? [];
  const variantCases = spec.variantTests ?? [];
  if ((!enabledCases.length && !variantCases.length) || !spec.state?.features) return null;
  const input = join(dir, file);
  writeFileSync(input, JSON.stringify(spec.state));
  const result = { file, passed: 0, total: enabledCases.length, failures: [], variantsPassed: 0, variantsTotal: variantCases.length, variantFailures: [] };
  let flags;
  try {
    flags = JSON.parse(execFileSync(VEXIL, ["import", "--from", "unleash", input, "--allow-lossy"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  } catch (e) {
    result.failures.push(`import failed: ${String(e.stderr).trim().split("\n").slice(-3).join(" ")}`);
    return result;
  }
  const evaluate = (t) => {
    const { ctx, now } = context(t.context);
    const engine = new Engine({ keys: { [key.id]: key.publicKey }, environment: "production", now: now === undefined ? undefined : () => now });
    engine.load(envelope(key, payload({ ...flags, now: now ?? Date.now() })));
    return engine.evaluate(t.toggleName, ctx, null);
  };
  for (const t of enabledCases) {
    const d = evaluate(t);
    const enabled = d.variant !== undefined && d.variant !== "off" && d.variant !== "disabled";
    if (enabled === t.expectedResult) result.passed++;
    else result.failures.push(`${t.description}: got ${enabled} (${d.reason}${d.errorCode ? ` ${d.errorCode}` : ""})`);
  }
  for (const t of variantCases) {
    const d = evaluate(t);
    // Features with variants import as string flags named after them; others as booleans.
    const name = typeof d.value === "string" && d.variant !== undefined ? d.variant : "disabled";
    if (name === t.expectedResult.name) result.variantsPassed++;
    else result.variantFailures.push(`${t.description}: got ${name} (${d.reason}${d.errorCode ? ` ${d.errorCode}` : ""}), want ${t.expectedResult.name}`);
  }
  return result;
}

test("Unleash client specification: isEnabled and getVariant after import", () => {
  const files = readdirSync(specDir).filter((f) => /^\d\d-.*\.json$/.test(f));
  let passed = 0;
  let total = 0;
  const results = files.map(run).filter(Boolean);
  for (const r of results) {
    passed += r.passed;
    total += r.total;
    if (r.total) console.log(`# ${r.file}: ${r.passed}/${r.total}`);
    for (const f of r.failures) console.log(`#   ✗ ${f}`);
  }
  console.log(`# Unleash specification: ${passed}/${total} isEnabled cases (${((100 * passed) / total).toFixed(1)} %)`);
  let variantsPassed = 0;
  let variantsTotal = 0;
  for (const r of results.filter((x) => x.variantsTotal)) {
    variantsPassed += r.variantsPassed;
    variantsTotal += r.variantsTotal;
    console.log(`# ${r.file} (getVariant): ${r.variantsPassed}/${r.variantsTotal}`);
    for (const f of r.variantFailures) console.log(`#   ✗ ${f}`);
  }
  console.log(`# Unleash specification: ${variantsPassed}/${variantsTotal} getVariant cases (${((100 * variantsPassed) / variantsTotal).toFixed(1)} %)`);
  // Every case passes, getVariant included (weights that do not sum to 1000 hash into
  // their own total, as Unleash does).
  assert.equal(passed, total, results.flatMap((r) => r.failures).join("; "));
  assert.equal(variantsPassed, variantsTotal, results.flatMap((r) => r.variantFailures).join("; "));
});
