// Generates Unleash client-features documents and contexts for the differential test:
// every built-in strategy and constraint operator, inverted and case-insensitive
// constraints, padded and empty values, dates on any field, semver and regex edge
// cases, segments, feature and strategy variants with stickiness and overrides,
// dependencies. Values are the text Unleash contexts carry (properties are strings).

const PROPS = {
  plan: ["free", "pro", "Pro", " pro ", "PRO", "enterprise", ""],
  country: ["DE", "de", "US", "FR", " DE", ""],
  email: ["ada@example.com", "ADA@EXAMPLE.COM", "bob@corp.io", "eve@beta.example.com", "", "Zoë@Example.com"],
  appVersion: ["1.0.0", "2.1.0", "2.1.0-beta.1", "2.10.3", "v2.1.0", "2.1", "3.0.0+build.5", "3.0.0-rc.1", "invalid"],
  age: ["7", " 7", "", "0x10", "25", "25.5", "abc", "-3", "1e2", "Infinity", "010"],
  tenant: ["t1", "t2", "t3", ""],
  signupDate: ["2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "yesterday"],
};
// ASCII ids: for other text Unleash's SDKs disagree (the Node SDK hashes the low byte of each UTF-16
// unit, the others UTF-8, as Vexil does; see the README).
const USERS = ["u1", "u7", "u9", "u12", "user-5", "user-42", "acct-3", "Uni-9", ""];
const ADDRESSES = ["10.1.2.3", "10.255.0.1", "11.0.0.1", "192.168.1.5", "192.168.1.77", "203.0.113.5", "2001:db8::7", "2001:db9::1", "::1", "not-an-ip"];
const TIMES = ["2025-06-01T00:00:00.000Z", "2026-03-15T12:30:00.000Z", "2026-12-31T23:59:59.999Z", "2027-06-01T00:00:00.000Z"];

function constraint(r) {
  const op = r.pick([
    "IN", "NOT_IN", "STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH", "NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT",
    "NUM_LTE", "DATE_AFTER", "DATE_BEFORE", "SEMVER_EQ", "SEMVER_GT", "SEMVER_GTE", "SEMVER_LT", "SEMVER_LTE",
    "REGEX", "IN_CIDR", "IN", "STR_ENDS_WITH",
  ].concat(r.chance(0.02) ? ["STR_REVERSED"] : []));
  const c = { operator: op };
  if (r.chance(0.25)) c.inverted = true;
  if (r.chance(0.35)) c.caseInsensitive = true;
  if (op === "IN" || op === "NOT_IN") {
    c.contextName = r.pick(["plan", "country", "userId", "tenant", "sessionId", "email"]);
    const pool = c.contextName === "userId" ? USERS : c.contextName === "sessionId" ? ["s-1", "s-2", " s-1 "] : PROPS[c.contextName];
    c.values = r.some([...pool, " pro ", "  ", "DE "], r.int(0, 3));
  } else if (op.startsWith("STR_")) {
    c.contextName = r.pick(["email", "plan", "country"]);
    c.values = r.some(["@example.com", " pro ", "ADA", "ada", "de", "", "beta.", "@EXAMPLE.COM", "Zoë", "  "], r.int(0, 3));
  } else if (op.startsWith("NUM_")) {
    c.contextName = r.pick(["age", "age", "plan"]);
    c.value = r.pick(["10", " 7 ", "", "0x10", "abc", "25.5", 5, "1e2", "7", "-3", "Infinity"]);
  } else if (op.startsWith("DATE_")) {
    c.contextName = r.pick(["currentTime", "currentTime", "signupDate", "plan"]);
    c.value = r.pick(["2026-01-01T00:00:00.000Z", "2026-06-01T12:00:00Z", "2026-03-15T12:30:00.000Z", "2027-01-01", "2026-09-01T00:00:00+02:00"].concat(r.chance(0.1) ? ["soon"] : []));
  } else if (op.startsWith("SEMVER_")) {
    c.contextName = "appVersion";
    c.value = r.pick(["2.1.0", "v2.1.0", "2.1.0-beta.1", "3.0.0", "2.10.3", " 2.0.0", "1.0.0", "bad"]);
  } else if (op === "REGEX") {
    c.contextName = r.pick(["email", "plan"]);
    c.value = r.pick(["^ada", "example\\.com$", "PRO", "[0-9]+", "^$", "b(ob|eta)", "^\\s*pro\\s*$"]);
  } else if (op === "IN_CIDR") {
    c.contextName = "remoteAddress";
    c.values = r.some(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "bad/99", "203.0.113.5", " 11.0.0.0/8 ", ""], r.int(1, 3));
  } else {
    c.contextName = "plan";
    c.values = ["pro"];
  }
  return c;
}

function variants(r, forStrategy) {
  const n = r.int(1, 4);
  const names = r.some(["red", "green", "blue", "yellow", "A", "B"], n);
  let weights;
  if (r.chance(0.1)) weights = names.map(() => r.int(0, 60)); // a total other than 1000
  else {
    weights = names.map(() => 0);
    let left = 1000;
    names.forEach((_, i) => {
      weights[i] = i === n - 1 ? left : r.pick([0, 100, 250, 333, 500].filter((w) => w <= left));
      left -= weights[i];
    });
  }
  const stickiness = r.pick(forStrategy ? ["default", "default", "userId", "tenant", undefined, "sessionId"] : ["default", "default", "userId", "tenant", "sessionId"]);
  return names.map((name, i) => {
    const v = { name, weight: weights[i], weightType: "variable", stickiness };
    if (r.chance(0.3)) v.payload = { type: "string", value: `${name}-payload` };
    if (r.chance(0.12)) v.overrides = [{ contextName: r.pick(["userId", "tenant", "plan"]), values: r.some(["u7", "t2", "pro", "u1", ""], r.int(1, 2)) }];
    return v;
  });
}

function strategy(r, feature) {
  const name = r.pick([
    "default", "userWithId", "remoteAddress", "flexibleRollout", "flexibleRollout", "flexibleRollout",
    "gradualRolloutUserId", "gradualRolloutSessionId", "gradualRolloutRandom", "default",
  ].concat(r.chance(0.03) ? ["applicationHostname", "myCustomStrategy"] : []));
  const s = { name, parameters: {}, constraints: [] };
  const groupId = r.pick([feature, feature, "shared", undefined, ""]);
  const percent = () => r.pick([0, 1, 10, 32, 50, "75", " 40 ", 99, 100, "100", "abc", "12.7"]);
  if (name === "userWithId") s.parameters.userIds = r.pick(["u1,u7", "u9, u12 , user-5", " u1,u7 ", "acct-3,,u9", ""]);
  if (name === "remoteAddress") s.parameters.IPs = r.pick(["10.0.0.0/8, 192.168.1.5", "203.0.113.5", "2001:db8::7,11.0.0.0/8", ""]);
  if (name === "flexibleRollout") {
    s.parameters.rollout = percent();
    const st = r.pick(["default", "default", "userId", "sessionId", "tenant", undefined].concat(r.chance(0.1) ? ["random"] : []));
    if (st !== undefined) s.parameters.stickiness = st;
    if (groupId !== undefined) s.parameters.groupId = groupId;
  }
  if (name.startsWith("gradualRollout")) {
    s.parameters.percentage = name === "gradualRolloutRandom" ? r.pick([0, 100, "100"]) : percent();
    if (groupId !== undefined) s.parameters.groupId = groupId;
  }
  if (name === "applicationHostname") s.parameters.hostNames = "localhost";
  const nc = r.pick([0, 0, 1, 1, 2, 3]);
  for (let i = 0; i < nc; i++) s.constraints.push(constraint(r));
  if (r.chance(0.15)) s.segments = [r.pick([1, 2, 3, 99])];
  if (r.chance(0.25)) s.variants = variants(r, true);
  return s;
}

/** `{features, segments}`: `n` features. */
export function unleashFeatures(r, n) {
  const segments = [1, 2, 3].map((id) => ({ id, constraints: Array.from({ length: r.int(1, 2) }, () => constraint(r)) }));
  const features = [];
  for (let i = 0; i < n; i++) {
    const name = `f${i}-${r.pick(["checkout", "banner", "search", "beta"])}`;
    const f = { name, enabled: r.chance(0.9), type: r.pick(["release", "experiment", "operational"]), strategies: [] };
    const ns = r.pick([0, 1, 1, 2, 2, 3, 4]);
    for (let j = 0; j < ns; j++) f.strategies.push(strategy(r, name));
    if (r.chance(0.3)) f.variants = variants(r, false);
    if (i > 0 && r.chance(0.12)) {
      const parent = r.pick(features);
      const dep = { feature: r.chance(0.05) ? "no-such-feature" : parent.name };
      if (r.chance(0.25)) dep.enabled = false;
      else if (parent.variants && r.chance(0.5)) dep.variants = r.some([...parent.variants.map((v) => v.name), "disabled"], 2);
      f.dependencies = [dep];
    }
    features.push(f);
  }
  return { version: 2, features, segments };
}

/** An Unleash context and the same context as Vexil reads it. */
export function unleashContext(r) {
  const userId = r.chance(0.15) ? undefined : r.pick(USERS);
  const sessionId = r.chance(0.3) ? undefined : r.pick(["s-1", "s-2", "s-3", "s-77", ""]);
  const remoteAddress = r.chance(0.2) ? undefined : r.pick(ADDRESSES);
  const currentTime = r.pick(TIMES);
  const properties = {};
  for (const [k, pool] of Object.entries(PROPS)) if (r.chance(0.8)) properties[k] = r.pick(pool);
  const unleash = { currentTime: new Date(currentTime), properties };
  const vexil = { ...properties };
  if (userId !== undefined) {
    unleash.userId = userId;
    vexil.targetingKey = userId;
  }
  if (sessionId !== undefined) unleash.sessionId = vexil.sessionId = sessionId;
  if (remoteAddress !== undefined) unleash.remoteAddress = vexil.remoteAddress = remoteAddress;
  return { unleash, vexil, now: Date.parse(currentTime) };
}
