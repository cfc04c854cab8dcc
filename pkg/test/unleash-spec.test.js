// Migrating from Unleash: every `isEnabled` case of Unleash's published client
// specification (@unleash/client-specification), imported with `vexil import --from
// unleash` and evaluated by the wasm engine. Prints the pass rate per file; the
// README explains each case that cannot pass.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from "node:fs";
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

/** An Unleash context as a Vexil one. */
function context(c = {}) {
  const { userId, properties = {}, currentTime, ...rest } = c;
  const out = { ...rest, ...properties };
  if (userId !== undefined) out.targetingKey = userId;
  return { ctx: out, now: currentTime ? Date.parse(currentTime) : undefined };
}

function run(file) {
  const spec = JSON.parse(readFileSync(join(specDir, file), "utf8"));
  if (!spec.tests?.length || !spec.state?.features) return null;
  const input = join(dir, file);
  writeFileSync(input, JSON.stringify(spec.state));
  let flags;
  try {
    flags = JSON.parse(execFileSync(VEXIL, ["import", "--from", "unleash", input, "--allow-lossy"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  } catch (e) {
    return { file, passed: 0, total: spec.tests.length, failures: [`import failed: ${String(e.stderr).trim().split("\n").slice(-3).join(" ")}`] };
  }
  const failures = [];
  let passed = 0;
  for (const t of spec.tests) {
    const { ctx, now } = context(t.context);
    const engine = new Engine({ keys: { [key.id]: key.publicKey }, environment: "production", now: now === undefined ? undefined : () => now });
    engine.load(envelope(key, payload({ ...flags, now: now ?? Date.now() })));
    const d = engine.evaluate(t.toggleName, ctx, null);
    const enabled = d.variant !== undefined && d.variant !== "off" && d.variant !== "disabled";
    if (enabled === t.expectedResult) passed++;
    else failures.push(`${t.description}: got ${enabled} (${d.reason}${d.errorCode ? ` ${d.errorCode}` : ""})`);
  }
  return { file, passed, total: spec.tests.length, failures };
}

test("Unleash client specification: isEnabled after import", () => {
  const files = readdirSync(specDir).filter((f) => /^\d\d-.*\.json$/.test(f));
  let passed = 0;
  let total = 0;
  const results = files.map(run).filter(Boolean);
  for (const r of results) {
    passed += r.passed;
    total += r.total;
    console.log(`# ${r.file}: ${r.passed}/${r.total}`);
    for (const f of r.failures) console.log(`#   ✗ ${f}`);
  }
  console.log(`# Unleash specification: ${passed}/${total} isEnabled cases (${((100 * passed) / total).toFixed(1)} %)`);
  // Files whose every case must pass: the translation is faithful for them.
  const faithful = ["01-simple-examples", "02-user-with-id-strategy", "03-gradual-rollout-user-id-strategy", "04-gradual-rollout-session-id-strategy", "05-gradual-rollout-random-strategy", "06-remote-address-strategy", "07-multiple-strategies", "09-strategy-constraints", "10-flexible-rollout-strategy", "11-strategy-constraints-edge-cases", "12-custom-stickiness", "13-constraint-operators", "14-constraint-semver-operators", "18-utf8-flag-names", "21-regex-constraint-operators", "22-cidr-constraint-operators"];
  for (const name of faithful.map((f) => `${f}.json`)) {
    const r = results.find((x) => x.file === name);
    assert.ok(r, name);
    assert.equal(r.passed, r.total, `${name}: ${r.failures.join("; ")}`);
  }
  assert.ok(passed / total >= 0.98, `${passed}/${total}`);
});
