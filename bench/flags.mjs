// Generates realistic flag sets for benchmarks: a mix of static flags, attribute
// rules, segment rules, rollouts and multivariant splits. The Rust benchmark
// (benches/engine.rs) generates the same shapes.

/** Flag number `i` of a generated set; shapes cycle through five kinds. */
export function flag(i) {
  const key = `flag-${i}`;
  switch (i % 5) {
    case 0:
      return { key, variants: { on: true, off: false }, off_variant: "off", fallthrough: { variant: "on" } };
    case 1:
      return {
        key, variants: { on: true, off: false }, off_variant: "off",
        rules: [{ id: "tier", when: { attr: "user.tier", op: "in", values: ["gold", "platinum", "enterprise"] }, serve: { variant: "on" } }],
        fallthrough: { variant: "off" },
      };
    case 2:
      return {
        key, variants: { on: true, off: false }, off_variant: "off",
        rules: [{ id: "beta", when: { segment: "beta-users" }, serve: { variant: "on" } }],
        fallthrough: { rollout: { weights: { on: 25, off: 75 } } },
      };
    case 3:
      return {
        key, variants: { control: "control", a: "variant-a", b: "variant-b" }, off_variant: "control",
        rules: [{
          id: "eu", when: { all: [{ attr: "geo.country", op: "in", values: ["DE", "FR", "NL", "IT", "ES"] }, { attr: "app.version", op: "semver_gte", values: ["2.0.0"] }] },
          serve: { rollout: { weights: { control: 34, a: 33, b: 33 } } },
        }],
        fallthrough: { variant: "control" },
      };
    default:
      return {
        key, variants: { low: 10, high: 100 }, off_variant: "low",
        rules: [
          { id: "big", when: { attr: "account.seats", op: "gte", values: [100] }, serve: { variant: "high" } },
          { id: "mail", when: { attr: "user.email", op: "ends_with", values: ["@example.com"], ignore_case: true }, serve: { variant: "high" } },
        ],
        fallthrough: { variant: "low" },
      };
  }
}

/** A flags document with `n` flags. */
export function flagsDocument(n) {
  return {
    flags: Array.from({ length: n }, (_, i) => flag(i)),
    segments: { "beta-users": { attr: "user.groups", op: "contains", values: ["beta"] } },
    exclusion_groups: {},
  };
}

/** A typical request context. */
export const context = {
  targetingKey: "user-12345",
  user: { tier: "silver", email: "Someone@Example.com", groups: ["staff", "beta"] },
  geo: { country: "DE" },
  app: { version: "2.3.1" },
  account: { seats: 12 },
};
