// The benchmark workload, seeded and deterministic: flag specifications (kind,
// percentages, rules) in a neutral form that bench/peers/formats.mjs writes in each
// system's own format, contexts of five attributes, and random (flag, context) pairs.
// The mix is issue 12's: 40 % percentage rollouts; 30 % two or three rules (`in`,
// `eq`, `gte`, `semver_gte`) with a percentage fallback; 20 % string A/B 50/50; 10 %
// on/off.

/** A small seeded PRNG (mulberry32): floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (random, list) => list[Math.floor(random() * list.length)];

/** Fisher–Yates, in place. */
function shuffle(random, list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

export const COUNTRIES = ["US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "NL", "ES", "IT", "PL", "SE", "AU", "MX"];
export const PLANS = ["free", "free", "free", "pro", "pro", "team", "enterprise"];
/** Sorted ascending: Flipt, which has no semver operator, lists the versions ≥ a threshold. */
export const VERSIONS = ["1.8.2", "1.9.0", "2.0.0", "2.0.1", "2.1.0", "2.2.3", "2.3.0", "2.4.1", "3.0.0", "3.1.0"];
const PERCENTS = [1, 5, 10, 20, 25, 33, 50, 75, 90];
/** The attributes a context has, besides targetingKey. */
export const ATTRIBUTES = ["country", "plan", "age", "appVersion"];

/**
 * `n` flag specifications. Each is `{key, kind, ...}`:
 * - `rollout`: boolean, `percent` % on (the rest off);
 * - `rules`: boolean, `rules` (each `{attr, op, values}`, first match serves on), then
 *   `percent` % on for the rest (`percent: null` means no fallback: off);
 * - `ab`: string, "control" / "treatment" 50/50;
 * - `switch`: boolean, `on` true or false (a kill switch when off).
 */
export function flagSpecs(n, seed = 12) {
  const random = rng(seed);
  const kinds = [];
  for (let i = 0; i < n; i++) {
    const slot = (i * 10) / n;
    kinds.push(slot < 4 ? "rollout" : slot < 7 ? "rules" : slot < 9 ? "ab" : "switch");
  }
  shuffle(random, kinds);
  return kinds.map((kind, i) => {
    const key = `flag-${String(i).padStart(String(n - 1).length, "0")}-${kind}`;
    switch (kind) {
      case "rollout":
        return { key, kind, percent: pick(random, PERCENTS) };
      case "rules": {
        const count = random() < 0.5 ? 2 : 3;
        const templates = shuffle(random, ["country", "plan", "age", "appVersion"]).slice(0, count);
        return { key, kind, rules: templates.map((t) => rule(random, t)), percent: pick(random, PERCENTS) };
      }
      case "ab":
        return { key, kind };
      default:
        return { key, kind, on: random() < 0.5 };
    }
  });
}

function rule(random, attr) {
  switch (attr) {
    case "country":
      return { attr, op: "in", values: shuffle(random, [...COUNTRIES]).slice(0, 2 + Math.floor(random() * 3)) };
    case "plan":
      return { attr, op: "eq", values: [pick(random, ["pro", "team", "enterprise"])] };
    case "age":
      return { attr, op: "gte", values: [21 + Math.floor(random() * 40)] };
    default:
      return { attr, op: "semver_gte", values: [pick(random, VERSIONS.slice(1))] };
  }
}

/** The same specifications with the rule flags' percentage fallback removed (equivalence checks). */
export function rulesOnly(specs) {
  return specs.filter((s) => s.kind === "rules").map((s) => ({ ...s, percent: null }));
}

/** `n` distinct raw contexts: `{targetingKey, country, plan, age, appVersion}`. */
export function contexts(n, seed = 7) {
  const random = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    targetingKey: `user-${i}-${Math.floor(random() * 2 ** 32).toString(36)}`,
    country: pick(random, COUNTRIES),
    plan: pick(random, PLANS),
    age: 18 + Math.floor(random() * 60),
    appVersion: pick(random, VERSIONS),
  }));
}

/** `count` seeded random (flag index, context index) pairs. */
export function pairs(count, flagCount, contextCount, seed = 99) {
  const random = rng(seed);
  const flag = new Uint32Array(count);
  const context = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    flag[i] = Math.floor(random() * flagCount);
    context[i] = Math.floor(random() * contextCount);
  }
  return { flag, context };
}

/** What a rule matches, evaluated directly (the reference the engines are checked against). */
export function ruleMatches(r, ctx) {
  const v = ctx[r.attr];
  switch (r.op) {
    case "in":
    case "eq":
      return r.values.includes(v);
    case "gte":
      return v >= r.values[0];
    default:
      return compareVersions(v, r.values[0]) >= 0;
  }
}

function compareVersions(a, b) {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** Versions of VERSIONS at or above `min` (Flipt's stand-in for semver_gte). */
export function versionsAtLeast(min) {
  return VERSIONS.filter((v) => compareVersions(v, min) >= 0);
}

/** One line per kind: how the workload is made up (printed at the top). */
export function describe(specs) {
  const count = (k) => specs.filter((s) => s.kind === k).length;
  return [
    `${specs.length.toLocaleString("en-US")} flags: ${count("rollout")} percentage rollouts (${PERCENTS.join("/")} % on), ` +
      `${count("rules")} with two or three rules (country in, plan eq, age gte, appVersion semver_gte; first match on) ` +
      `and a percentage fallback, ${count("ab")} string A/B 50/50, ${count("switch")} on/off`,
    `contexts: targetingKey, country (${COUNTRIES.length} values), plan (free/pro/team/enterprise), age 18–77, appVersion (${VERSIONS.length} versions)`,
  ];
}
