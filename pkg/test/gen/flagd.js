// Generates flagd flag definitions and contexts for the differential test: nested
// JSONLogic (if chains, and/or/!/!!, every comparison in both operand orders and the
// between form, in, starts_with/ends_with, sem_ver with every operator, var with
// defaults, $flagd.flagKey and $flagd.timestamp), $ref to evaluators, fractional in
// every form (shorthand, var and cat keys, zero, negative and uneven weights, computed
// variant names and weights, used as a condition), null and unknown results, flags
// without a default variant and disabled ones. Contexts hold every scalar type where
// flagd compares scalars: numbers, numeric and padded text, empty text, booleans,
// missing attributes.

const NUMS = [0, 7, 10, 25, 30, 42.5, -3, 100];
const LITERALS = [...NUMS, "10", " 7 ", "", "abc", "ada@example.com", null, true, false, "25"];
const ATTRS = {
  email: ["ada@example.com", "bob@corp.io", "eve@beta.example.com", "", "ADA@EXAMPLE.COM", 5, true],
  tier: ["gold", "silver", "platinum", "", "Gold", 3, false],
  age: [7, 25, 30, 42.5, "25", " 7 ", "", "abc", "0x1F", true, false, 0, -3],
  version: ["1.0.0", "2.1.0", "2.0.0-alpha", "v2.1.0", "2.1", "3", 2, 1.2, "2.0.0.0", "not-a-version", "3.0.1", "3.1.0", "4.0.0"],
  country: ["DE", "US", "FR", "", null],
  color: ["red", "green", "blue", "yellow", ""],
};
const KEYS = ["user-1", "user-2", "user-3", "user-7", "jon@company.com", "acct-42", "", 12345];
const TIMES = [1_767_225_600_000, 1_780_000_000_500, 1_790_000_000_000];

function attr(r) {
  return r.pick(Object.keys(ATTRS));
}

function varOf(r, name) {
  const n = name ?? attr(r);
  if (r.chance(0.1)) return { var: [n, r.pick(["gold", 25, "1.0.0", null])] };
  return r.chance(0.3) ? { var: [n] } : { var: n };
}

function literalFor(r, name) {
  if (r.chance(0.5)) return r.pick(ATTRS[name].filter((v) => v !== null));
  return r.pick(LITERALS);
}

function condition(r, depth, evaluators) {
  const kind = r.pick(["cmp", "cmp", "cmp", "between", "in", "affix", "semver", "logic", "logic", "truthy", "ref", "flagKey", "time", "fractional"]);
  if (kind === "logic" && depth < 3) {
    const op = r.pick(["and", "or", "!", "!!", "if"]);
    if (op === "!" || op === "!!") return { [op]: r.chance(0.5) ? [condition(r, depth + 1, evaluators)] : condition(r, depth + 1, evaluators) };
    if (op === "if") return { if: [condition(r, depth + 1, evaluators), condition(r, depth + 1, evaluators), condition(r, depth + 1, evaluators)] };
    return { [op]: Array.from({ length: r.int(1, 3) }, () => condition(r, depth + 1, evaluators)) };
  }
  if (kind === "ref" && Object.keys(evaluators).length) return { $ref: r.pick(Object.keys(evaluators)) };
  const name = attr(r);
  switch (kind) {
    case "between": {
      const lo = r.pick([0, 10, 20]);
      return { [r.pick(["<", "<="])]: [lo, varOf(r, r.pick(["age", "age", "email"])), lo + r.pick([5, 20, 40])] };
    }
    case "in":
      switch (r.int(0, 2)) {
        case 0:
          return { in: [r.pick(["@example.com", "beta", "o", "", 5]), varOf(r, r.pick(["email", "tier", "age"]))] };
        case 1:
          return { in: [varOf(r, name), r.some([...ATTRS[name].filter((v) => v !== null), "x", 25, "25"], r.int(1, 4))] };
        default:
          return { in: [varOf(r, r.pick(["tier", "color", "age"])), r.pick(["gold-silver", "redgreen", "true25null", "abc"])] };
      }
    case "affix": {
      const op = r.pick(["starts_with", "ends_with"]);
      if (r.chance(0.1)) return { [op]: [r.pick(["abc", varOf(r, "email")])] };
      if (r.chance(0.25)) return { [op]: [r.pick(["ada@example.com", "gold-member", "abc"]), varOf(r, r.pick(["email", "tier"]))] };
      return { [op]: [varOf(r, r.pick(["email", "tier", "age"])), r.pick(["ada", "@example.com", "g", "", "com", 5])] };
    }
    case "semver": {
      const op = r.pick(["=", "!=", "<", "<=", ">", ">=", "^", "~", "===", "="]);
      const v = r.pick(["2.0.0", "2.1.0", "v2.0.0", "3.0.0", "2", "1.2", "2.0.0-alpha", "bad", "1.0.0+build"]);
      if (r.chance(0.05)) return { sem_ver: [varOf(r, "version"), op] };
      return r.chance(0.15) ? { sem_ver: [v, op, varOf(r, "version")] } : { sem_ver: [varOf(r, "version"), op, v] };
    }
    case "truthy":
      return varOf(r, name);
    case "flagKey":
      return { [r.pick(["==", "!="])]: [{ var: "$flagd.flagKey" }, r.pick(["f1", "f2", "f3", "x"])] };
    case "time":
      return { [r.pick(["<", ">", "<=", ">="])]: [{ var: "$flagd.timestamp" }, r.pick([1_780_000_000, 1_780_000_000.5, 1_767_225_600])] };
    case "fractional":
      return { fractional: [[false, r.int(0, 50)], [true, r.int(0, 50)]] };
    default: {
      const op = r.pick(["==", "!=", "===", "!==", "<", "<=", ">", ">="]);
      const lit = literalFor(r, name);
      return r.chance(0.6) ? { [op]: [varOf(r, name), lit] } : { [op]: [lit, varOf(r, name)] };
    }
  }
}

function fractional(r, names) {
  const args = [];
  const key = r.pick(["short", "short", "var", "cat", "catSeed"]);
  if (key === "var") args.push({ var: r.pick(["email", "tier", "targetingKey", "color"]) });
  if (key === "cat") args.push({ cat: [{ var: "$flagd.flagKey" }, { var: r.pick(["email", "targetingKey", "tier"]) }] });
  if (key === "catSeed") args.push({ cat: [r.pick(["seed-7", "shared"]), { var: r.pick(["email", "targetingKey"]) }] });
  const n = r.int(1, 4);
  for (let i = 0; i < n; i++) {
    let variant = r.pick(names);
    if (r.chance(0.1)) variant = { if: [{ "==": [{ var: "tier" }, "gold"] }, r.pick(names), r.pick(names)] };
    else if (r.chance(0.05)) variant = { var: "color" };
    else if (r.chance(0.04)) variant = null;
    let weight = r.pick([1, 1, 25, 50, 33, 0, 5, 4, 2, 100, -10]);
    if (r.chance(0.05)) weight = { if: [{ "==": [{ var: "tier" }, "gold"] }, 100, 0] };
    if (r.chance(0.02)) weight = 12.5;
    args.push(r.chance(0.1) ? [variant] : [variant, weight]);
  }
  return { fractional: args };
}

function result(r, depth, names, evaluators) {
  const kind = depth > 2 ? "name" : r.pick(["name", "name", "name", "if", "if", "fractional", "null", "unknown", "var"]);
  switch (kind) {
    case "if": {
      const n = r.int(1, 3);
      const branches = [];
      for (let i = 0; i < n; i++) branches.push(condition(r, 1, evaluators), result(r, depth + 1, names, evaluators));
      if (r.chance(0.7)) branches.push(result(r, depth + 1, names, evaluators));
      return { if: branches };
    }
    case "fractional":
      return fractional(r, names);
    case "null":
      return null;
    case "unknown":
      return "no-such-variant";
    case "var":
      return { var: "color" };
    default:
      return r.pick(names);
  }
}

/** A flagd flag definition with `n` flags. */
export function flagdDefinition(r, n) {
  const evaluators = {};
  for (const name of ["is_ada", "adult", "gold_or_beta"]) evaluators[name] = condition(r, 2, {});
  const flags = {};
  for (let i = 0; i < n; i++) {
    const key = `f${i}`;
    const kind = r.pick(["string", "string", "string", "boolean", "number", "bool-result"]);
    let variants;
    if (kind === "boolean") variants = { on: true, off: false };
    else if (kind === "number") variants = { small: 1, big: 100, zero: 0 };
    else if (kind === "bool-result") variants = { true: "yes", false: "no", none: "none" };
    else variants = Object.fromEntries(r.some(["red", "green", "blue", "yellow", "gold", "silver"], r.int(2, 4)).map((v) => [v, v]));
    const names = Object.keys(variants);
    const flag = { state: r.chance(0.92) ? "ENABLED" : "DISABLED", variants };
    const dv = r.chance(0.85) ? r.pick(names) : r.pick([null, undefined, ""]);
    if (dv !== undefined) flag.defaultVariant = dv;
    if (kind === "bool-result") flag.targeting = condition(r, 0, evaluators);
    else if (r.chance(0.9)) flag.targeting = result(r, 0, names, evaluators);
    if (r.chance(0.1)) flag.metadata = { team: "t", version: 2 };
    flags[key] = flag;
  }
  return { $schema: "https://flagd.dev/schema/v0/flags.json", flags, $evaluators: evaluators, metadata: { set: "gen" } };
}

/** A context, and the time of the evaluation. */
export function flagdContext(r) {
  const ctx = {};
  if (r.chance(0.85)) ctx.targetingKey = r.pick(KEYS);
  for (const [k, pool] of Object.entries(ATTRS)) if (r.chance(0.75)) ctx[k] = r.pick(pool);
  return { ctx, now: r.pick(TIMES) };
}
