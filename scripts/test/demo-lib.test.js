// `make demo`: its build shows progress, its tokens carry their roles, and its account
// of a rollout says the stage it is at and why it advanced.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, simulatedLatency, tokenLines, tokensWithRoles } from "../demo-lib.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("make demo builds with cargo's progress shown, not --quiet", () => {
  const plan = execFileSync("make", ["-n", "demo"], { cwd: root, encoding: "utf8" });
  const builds = plan.split("\n").filter((l) => /cargo build/.test(l));
  assert.ok(builds.some((l) => l.includes("--release --bin vexil")), plan);
  assert.ok(builds.some((l) => l.includes("--lib --target wasm32")), plan);
  for (const line of builds) assert.ok(!line.includes("--quiet"), line);
  assert.match(plan, /first build takes a few minutes/);
});

test("each token is recorded and printed with its roles", () => {
  const t = tokensWithRoles({ admin: "vxt_a", sdk: "vxs_s", environment: "production",
    people: { alice: ["editor"], tom: ["TECH_LEAD"] }, tokens: { alice: "vxt_1", tom: "vxt_2" } });
  assert.deepEqual(t.alice, { token: "vxt_1", roles: ["editor"] });
  assert.deepEqual(t.admin.roles, ["admin"]);
  assert.deepEqual(t.sdk.sdk_key, { kind: "server", environment: "production" });
  const lines = tokenLines(t);
  assert.match(lines.find((l) => l.startsWith("tom")), /^tom\s+TECH_LEAD\s+vxt_2$/);
  assert.match(lines.find((l) => l.startsWith("sdk")), /server SDK key for production\s+vxs_s$/);
});

const rollout = {
  stages: [5, 15, 25, 50, 75, 100],
  stage_duration_ms: 20_000,
  guards: { max_error_rate: 1, min_success_rate: 99, max_latency_ms: 100, min_samples: 50 },
};

test("an advance names the stage reached and each guard the stage held", () => {
  const line = describe(rollout, {
    event: "rollout.advanced",
    details: { from: 5, to: 15, stage: 2, figures: { samples: 212, error_rate: 0, success_rate: 100, latency_mean_ms: 15.04 } },
  });
  assert.equal(
    line,
    "stage 2 of 6 (15 %): advanced from 5 % after its 20 s because the stage held every guard: " +
      "212 outcomes ≥ 50 needed, errors 0 % ≤ 1 %, success 100 % ≥ 99 %, latency 15 ms ≤ 100 ms",
  );
});

test("a rollback names its stage and the breaches", () => {
  const line = describe(rollout, {
    event: "rollout.rolled_back",
    details: { from: 75, to: 0, breaches: ["latency 140 ms > 100 ms"], reason: "x" },
  });
  assert.equal(line, "rolled back at stage 5 of 6 (75 % → 0 %): latency 140 ms > 100 ms");
});

test("the simulated latency depends on the variant, not on the machine", () => {
  assert.equal(simulatedLatency(15, () => 0.5), 15);
  for (let i = 0; i < 100; i++) {
    const l = simulatedLatency(15);
    assert.ok(l >= 12 && l <= 18, String(l));
  }
});
