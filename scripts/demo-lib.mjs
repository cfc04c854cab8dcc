// What `make demo` says: each token with its roles, and each event of a progressive
// rollout with the stage it is at and why it advanced (the stage's figures against
// each guard) or rolled back; and the variants' simulated latency.

const pct = (x) => (x === null || x === undefined ? "-" : `${Math.round(x * 100) / 100} %`);
const ms = (x) => (x === null || x === undefined ? "-" : `${Math.round(x * 10) / 10} ms`);

/** The figures of a stage measured against the rollout's guards, one clause each. */
export function againstGuards(figures, guards) {
  if (!figures) return "";
  const f = figures;
  return [
    `${f.samples} outcomes ≥ ${guards.min_samples} needed`,
    `errors ${pct(f.error_rate ?? 0)} ≤ ${guards.max_error_rate} %`,
    `success ${pct(f.success_rate)} ≥ ${guards.min_success_rate} %`,
    `latency ${ms(f.latency_mean_ms)} ≤ ${guards.max_latency_ms} ms`,
  ].join(", ");
}

/** One line for a history entry of `rollout` (the origin's GET /rollouts/{id}). */
export function describe(rollout, entry) {
  const d = entry.details ?? {};
  const n = rollout.stages.length;
  const stageOf = (percent) => rollout.stages.indexOf(percent) + 1;
  switch (entry.event) {
    case "rollout.started":
      return `started: stage 1 of ${n} (${rollout.stages[0]} %), each stage runs ${rollout.stage_duration_ms / 1000} s and advances only while the treated variant holds every guard`;
    case "rollout.advanced":
      return `stage ${d.stage} of ${n} (${d.to} %): advanced from ${d.from} % after its ${rollout.stage_duration_ms / 1000} s because the stage held every guard: ${againstGuards(d.figures, rollout.guards)}`;
    case "rollout.completed":
      return `completed at stage ${n} of ${n} (${d.percentage} %): ${againstGuards(d.figures, rollout.guards)}`;
    case "rollout.rolled_back":
      return `rolled back at stage ${stageOf(d.from)} of ${n} (${d.from} % → ${d.to} %): ${(d.breaches ?? []).join("; ") || d.reason}`;
    default:
      return `${entry.event}${d.reason ? `: ${d.reason}` : ""}`;
  }
}

/** A simulated variant's latency in ms: its base plus a little jitter, never the machine's. */
export function simulatedLatency(baseMs, random = Math.random) {
  return Math.round((baseMs * (0.8 + 0.4 * random())) * 10) / 10;
}

/** Every demo token with what it may do, as `.demo/tokens.json` records them. */
export function tokensWithRoles({ admin, sdk, environment, people, tokens }) {
  return {
    admin: { token: admin, roles: ["admin"] },
    sdk: { token: sdk, roles: [], sdk_key: { kind: "server", environment } },
    ...Object.fromEntries(Object.entries(tokens).map(([name, token]) => [name, { token, roles: people[name] }])),
  };
}

/** One printed line per token: name, roles (or what the SDK key reads), secret. */
export function tokenLines(withRoles) {
  return Object.entries(withRoles).map(([name, t]) => {
    const what = t.sdk_key ? `${t.sdk_key.kind} SDK key for ${t.sdk_key.environment}` : t.roles.join(", ");
    return `${name.padEnd(7)} ${what.padEnd(30)} ${t.token}`;
  });
}
