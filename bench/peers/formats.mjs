// The workload's flag specifications (bench/peers/workload.mjs) written in each
// system's own format, equivalently where the semantics allow:
// - Vexil: a flags file (rules, rollout serves; off switches use `enabled: false`);
// - flagd: flag definitions with JSONLogic `if` chains and `fractional`;
// - GrowthBook: features with force rules (conditions), a coverage rollout, experiments;
// - Unleash: features with strategies, constraints and variants (for on/off flags
//   the toggle itself);
// - Flipt: its client-side evaluation snapshot (`/internal/v1/evaluation/snapshot`):
//   boolean flags with segment and threshold rollouts, variant flags with rules,
//   segments, constraints and distributions.
// Where a system lacks an operator, the closest equivalent is used and said here:
// Unleash's SEMVER_GTE exists (6.x); Flipt has no semver operator, so `semver_gte v`
// becomes `isoneof` the workload's versions ≥ v (equal on this workload's contexts).
import { versionsAtLeast } from "./workload.mjs";

const AB = ["control", "treatment"];

/** Vexil flags file. */
export function vexil(specs) {
  const flag = (s) => {
    const base = { key: s.key, variants: { on: true, off: false }, off_variant: "off" };
    const split = (p) => ({ rollout: { weights: { on: p, off: 100 - p } } });
    switch (s.kind) {
      case "rollout":
        return { ...base, fallthrough: split(s.percent) };
      case "rules":
        return {
          ...base,
          rules: s.rules.map((r, i) => ({ id: `r${i}`, when: { attr: r.attr, op: r.op, values: r.values }, serve: { variant: "on" } })),
          fallthrough: s.percent === null ? { variant: "off" } : split(s.percent),
        };
      case "ab":
        return { key: s.key, variants: { control: "control", treatment: "treatment" }, off_variant: "control", fallthrough: { rollout: { weights: { control: 50, treatment: 50 } } } };
      default:
        return { ...base, enabled: s.on, fallthrough: { variant: "on" } };
    }
  };
  return { flags: specs.map(flag), segments: {}, exclusion_groups: {} };
}

function jsonLogic(r) {
  const v = { var: r.attr };
  switch (r.op) {
    case "in":
      return { in: [v, r.values] };
    case "eq":
      return { "==": [v, r.values[0]] };
    case "gte":
      return { ">=": [v, r.values[0]] };
    default:
      return { sem_ver: [v, ">=", r.values[0]] };
  }
}

/** flagd flag definitions (`fractional` buckets by flag key + targetingKey by default). */
export function flagd(specs) {
  const flags = {};
  const bool = { on: true, off: false };
  const split = (p) => ({ fractional: [["on", p], ["off", 100 - p]] });
  for (const s of specs) {
    switch (s.kind) {
      case "rollout":
        flags[s.key] = { state: "ENABLED", variants: bool, defaultVariant: "off", targeting: split(s.percent) };
        break;
      case "rules": {
        const chain = s.rules.flatMap((r) => [jsonLogic(r), "on"]);
        if (s.percent !== null) chain.push(split(s.percent));
        flags[s.key] = { state: "ENABLED", variants: bool, defaultVariant: "off", targeting: { if: chain } };
        break;
      }
      case "ab":
        flags[s.key] = { state: "ENABLED", variants: { control: "control", treatment: "treatment" }, defaultVariant: "control", targeting: { fractional: [["control", 50], ["treatment", 50]] } };
        break;
      default:
        flags[s.key] = s.on ? { state: "ENABLED", variants: bool, defaultVariant: "on" } : { state: "DISABLED", variants: bool, defaultVariant: "off" };
    }
  }
  return { flags };
}

function mongoCondition(r) {
  switch (r.op) {
    case "in":
      return { [r.attr]: { $in: r.values } };
    case "eq":
      return { [r.attr]: r.values[0] };
    case "gte":
      return { [r.attr]: { $gte: r.values[0] } };
    default:
      return { [r.attr]: { $vgte: r.values[0] } };
  }
}

/** GrowthBook SDK payload (`features`); units are the `id` attribute (= targetingKey). */
export function growthbook(specs) {
  const features = {};
  const rollout = (p) => ({ id: "fallback", force: true, coverage: p / 100, hashAttribute: "id" });
  for (const s of specs) {
    switch (s.kind) {
      case "rollout":
        features[s.key] = { defaultValue: false, rules: [rollout(s.percent)] };
        break;
      case "rules": {
        const rules = s.rules.map((r, i) => ({ id: `r${i}`, condition: mongoCondition(r), force: true }));
        if (s.percent !== null) rules.push(rollout(s.percent));
        features[s.key] = { defaultValue: false, rules };
        break;
      }
      case "ab":
        features[s.key] = {
          defaultValue: "control",
          rules: [{ id: "ab", key: s.key, variations: AB, weights: [0.5, 0.5], coverage: 1, hashAttribute: "id", meta: AB.map((key) => ({ key })) }],
        };
        break;
      default:
        features[s.key] = { defaultValue: s.on };
    }
  }
  return { features };
}

function unleashConstraint(r) {
  switch (r.op) {
    case "in":
    case "eq":
      return { contextName: r.attr, operator: "IN", values: r.values.map(String) };
    case "gte":
      return { contextName: r.attr, operator: "NUM_GTE", value: String(r.values[0]) };
    default:
      return { contextName: r.attr, operator: "SEMVER_GTE", value: r.values[0] };
  }
}

/** Unleash client features (bootstrap data); stickiness `default` is userId (= targetingKey). */
export function unleash(specs) {
  const rollout = (name, p) => ({ name: "flexibleRollout", parameters: { rollout: String(p), stickiness: "default", groupId: name }, constraints: [] });
  return specs.map((s) => {
    switch (s.kind) {
      case "rollout":
        return { name: s.key, enabled: true, strategies: [rollout(s.key, s.percent)] };
      case "rules": {
        // A feature is on when any strategy is: the rules, then the percentage.
        const strategies = s.rules.map((r) => ({ name: "default", parameters: {}, constraints: [unleashConstraint(r)] }));
        if (s.percent !== null) strategies.push(rollout(s.key, s.percent));
        return { name: s.key, enabled: true, strategies };
      }
      case "ab":
        return {
          name: s.key, enabled: true, strategies: [rollout(s.key, 100)],
          variants: AB.map((name) => ({ name, weight: 500, weightType: "variable", stickiness: "default", payload: { type: "string", value: name } })),
        };
      default:
        return { name: s.key, enabled: s.on, strategies: [{ name: "default", parameters: {}, constraints: [] }] };
    }
  });
}

function fliptConstraint(r) {
  switch (r.op) {
    case "in":
      return { type: "STRING_CONSTRAINT_COMPARISON_TYPE", property: r.attr, operator: "isoneof", value: JSON.stringify(r.values) };
    case "eq":
      return { type: "STRING_CONSTRAINT_COMPARISON_TYPE", property: r.attr, operator: "eq", value: r.values[0] };
    case "gte":
      return { type: "NUMBER_CONSTRAINT_COMPARISON_TYPE", property: r.attr, operator: "gte", value: String(r.values[0]) };
    default:
      return { type: "STRING_CONSTRAINT_COMPARISON_TYPE", property: r.attr, operator: "isoneof", value: JSON.stringify(versionsAtLeast(r.values[0])) };
  }
}

/** Flipt's client-side evaluation snapshot for namespace `default`. */
export function flipt(specs) {
  const threshold = (p) => ({ threshold: { percentage: p, value: true } });
  const flag = (s) => {
    const base = { key: s.key, name: s.key, description: "", type: "BOOLEAN_FLAG_TYPE", rules: [] };
    switch (s.kind) {
      case "rollout":
        // A boolean flag's `enabled` is its value when no rollout applies.
        return { ...base, enabled: false, rollouts: [threshold(s.percent)] };
      case "rules": {
        const rollouts = s.rules.map((r, i) => ({
          segment: { segmentOperator: "OR_SEGMENT_OPERATOR", value: true, segments: [{ key: `${s.key}-r${i}`, matchType: "ALL_SEGMENT_MATCH_TYPE", constraints: [fliptConstraint(r)] }] },
        }));
        if (s.percent !== null) rollouts.push(threshold(s.percent));
        return { ...base, enabled: false, rollouts };
      }
      case "ab":
        return {
          ...base, type: "VARIANT_FLAG_TYPE", enabled: true, rollouts: [],
          rules: [{
            segmentOperator: "OR_SEGMENT_OPERATOR",
            segments: [{ key: "everyone", matchType: "ALL_SEGMENT_MATCH_TYPE", constraints: [] }],
            distributions: AB.map((variantKey) => ({ variantKey, rollout: 50 })),
          }],
        };
      default:
        return { ...base, enabled: s.on, rollouts: [] };
    }
  };
  return { namespace: { key: "default" }, flags: specs.map(flag) };
}
