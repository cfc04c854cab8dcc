// Checks that the flags mean the same in every system, where semantics allow: rules
// must match the same contexts (checked on copies of the rule flags without their
// percentage fallback, against a direct evaluation of the rules), on/off flags must
// agree, every value must be one of its flag's variants, and rollout shares must be
// close to their percentages (units bucket differently in each system, by design).
import { rng, ruleMatches } from "./workload.mjs";

const SAMPLES = 3000;

const within = (spec, v) => (spec.kind === "ab" ? v === "control" || v === "treatment" : v === true || v === false);

/** Lines describing agreement across `systems` (instances on the full set and on the rules-only set). */
export function checkEquivalence(systems, instances, rulesInstances, specs, rulesSpecs, raws) {
  const random = rng(2024);
  const sample = (list) => Array.from({ length: SAMPLES }, () => [Math.floor(random() * list.length), Math.floor(random() * raws.length)]);
  const lines = [];
  const perSystem = (label, count, total) => {
    const parts = systems.map((s, i) => `${s.name} ${count[i]}/${total}`);
    lines.push(`    ${label}: ${parts.join(", ")}`);
  };

  // Rule matches: the rules-only copies serve on exactly when a rule matches.
  const rulePairs = sample(rulesSpecs);
  const matching = rulePairs.filter(([f, c]) => rulesSpecs[f].rules.some((r) => ruleMatches(r, raws[c]))).length;
  const ruleAgree = rulesInstances.map((inst) =>
    rulePairs.filter(([f, c]) => inst.eval(f, inst.fromRaw(raws[c])) === rulesSpecs[f].rules.some((r) => ruleMatches(r, raws[c]))).length,
  );
  const allAgree = ruleAgree.reduce((a, b) => a + b, 0);
  lines.push(`  rule matches agree on ${allAgree}/${SAMPLES * systems.length} sampled (system, flag, context) triples (${SAMPLES} pairs per system over the rule flags without their fallback, ${matching} of them matching a rule)`);
  perSystem("agreeing with a direct evaluation of the rules", ruleAgree, SAMPLES);

  // The full flag set.
  const fullPairs = sample(specs);
  const values = instances.map((inst) => fullPairs.map(([f, c]) => inst.eval(f, inst.fromRaw(raws[c]))));
  const count = (pred) => values.map((vs) => fullPairs.filter((p, k) => pred(p, vs[k])).length);
  const switches = fullPairs.filter(([f]) => specs[f].kind === "switch").length;
  lines.push(`  on the full flag set (${SAMPLES} pairs per system):`);
  perSystem("on/off flags serve their state", count(([f], v) => specs[f].kind === "switch" && v === specs[f].on), switches);
  const matched = fullPairs.filter(([f, c]) => specs[f].kind === "rules" && specs[f].rules.some((r) => ruleMatches(r, raws[c]))).length;
  perSystem("rule flags with a matching rule serve on", count(([f, c], v) => specs[f].kind === "rules" && specs[f].rules.some((r) => ruleMatches(r, raws[c])) && v === true), matched);
  perSystem("values within their flag's variants", count(([f], v) => within(specs[f], v)), SAMPLES);

  const share = (kind, pred) => values.map((vs) => {
    const ks = fullPairs.map((p, k) => k).filter((k) => specs[fullPairs[k][0]].kind === kind);
    return ks.length ? (100 * ks.filter((k) => pred(vs[k])).length) / ks.length : 0;
  });
  const rollouts = fullPairs.filter(([f]) => specs[f].kind === "rollout");
  const expected = rollouts.reduce((sum, [f]) => sum + specs[f].percent, 0) / rollouts.length;
  const fmt = (xs) => systems.map((s, i) => `${s.name} ${xs[i].toFixed(1)} %`).join(", ");
  lines.push(`    rollouts serving on (expected ${expected.toFixed(1)} %): ${fmt(share("rollout", (v) => v === true))}`);
  lines.push(`    A/B serving treatment (expected 50 %): ${fmt(share("ab", (v) => v === "treatment"))}`);
  return lines;
}
