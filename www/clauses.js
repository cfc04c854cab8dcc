// Rules and clauses in words, for people.

export const OPS = {
  in: "is one of", not_in: "is not one of", eq: "is", neq: "is not", contains: "contains",
  starts_with: "starts with", ends_with: "ends with", matches: "matches", lt: "<", lte: "≤", gt: ">", gte: "≥",
  semver_lt: "is a version before", semver_lte: "is a version up to", semver_eq: "is version",
  semver_gte: "is a version from", semver_gt: "is a version after", before: "is before", after: "is after", exists: "exists",
  in_cidr: "is an address in",
};

export function clauseText(c) {
  if (!c || typeof c !== "object") return "always";
  if (c.all) return c.all.map(clauseText).map((t) => `(${t})`).join(" and ");
  if (c.any) return c.any.map(clauseText).map((t) => `(${t})`).join(" or ");
  if (c.not) return `not (${clauseText(c.not)})`;
  if (c.segment) return `in segment “${c.segment}”`;
  if (c.attr) {
    const op = OPS[c.op] ?? c.op;
    if (c.op === "exists") return `${c.attr} exists`;
    const values = (c.values ?? []).map((v) => JSON.stringify(v)).join(", ");
    return `${c.attr} ${op} ${values}${c.ignore_case ? " (any case)" : ""}`;
  }
  return JSON.stringify(c);
}

export function serveText(serve) {
  if (!serve) return "the caller's default";
  if (serve.variant !== undefined) return `serve “${serve.variant}”`;
  if (serve.rollout) {
    const w = Object.entries(serve.rollout.weights ?? {}).map(([v, p]) => `${v} ${p}%`).join(" / ");
    const by = serve.rollout.by ?? "targetingKey";
    return `split ${w} by ${Array.isArray(by) ? by.join(", else ") : by}`;
  }
  return JSON.stringify(serve);
}
