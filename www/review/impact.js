// What a change touches, from the last 24 h of edge metrics (`FlagMetrics`). Edges report
// evaluations per variant and reason (SPLIT, TARGETING_MATCH, DEFAULT, ...), not per rule,
// so a serve's traffic is known exactly only when no other serve reports under the same
// variant and reason: then the line gives the figure, otherwise it says it cannot.
// Pure: no DOM.

const fmt = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });
const count = (n) => `~${fmt.format(n)}`;
const pct = (part, whole) => `${whole ? Math.round((part / whole) * 1000) / 10 : 0} %`;
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Sum of a reason's counts over variants (or over one variant's). */
function reasonCount(m, reason, variant) {
  const cells = variant === undefined ? Object.values(m.variants ?? {}) : [m.variants?.[variant] ?? { reasons: {} }];
  return cells.reduce((sum, v) => sum + (v.reasons?.[reason] ?? 0), 0);
}

/** The serves of a document, in evaluation order: rules, then the fallthrough. */
function serves(doc) {
  const out = (doc?.rules ?? []).map((r) => ({ name: `rule “${r.id}”`, id: r.id, serve: r.serve }));
  out.push({ name: "the fallthrough", id: null, serve: doc?.fallthrough, fallthrough: true });
  return out;
}

/**
 * The evaluations in `m` that `target` (one of `serves(doc)`) answered, or null when edges'
 * reasons cannot tell it apart from another serve.
 */
export function serveEvaluations(doc, target, m) {
  const all = serves(doc);
  const s = target.serve;
  if (!s) return null;
  if (s.rollout) return all.filter((o) => o.serve?.rollout).length === 1 ? reasonCount(m, "SPLIT") : null;
  if (s.variant === undefined) return null;
  if (target.fallthrough) return reasonCount(m, "DEFAULT", s.variant) + reasonCount(m, "STATIC", s.variant);
  const rivals = all.filter((o) => !o.fallthrough && o.serve?.variant === s.variant);
  return rivals.length === 1 ? reasonCount(m, "TARGETING_MATCH", s.variant) : null;
}

function weightChange(b, a) {
  const wb = b.rollout.weights ?? {};
  const wa = a.rollout.weights ?? {};
  return [...new Set([...Object.keys(wb), ...Object.keys(wa)])]
    .filter((v) => wb[v] !== wa[v])
    .map((v) => ({ variant: v, from: wb[v] ?? 0, to: wa[v] ?? 0 }));
}

function serveLine(before, was, now, m, total) {
  const n = serveEvaluations(before, was, m);
  const traffic = n === null ? null : `${count(n)} daily evaluations (${pct(n, total)} of traffic)`;
  if (was.serve?.rollout && now.serve?.rollout && same(was.serve.rollout.by, now.serve.rollout.by)) {
    const moves = weightChange(was.serve, now.serve);
    const words = moves.map((w) => `“${w.variant}” ${w.from} % → ${w.to} %`).join(", ");
    if (n === null) return `${was.name}: ${words}; edges report all splits together, so its own traffic is not known`;
    const moved = moves.reduce((sum, w) => sum + Math.max(0, w.to - w.from), 0);
    return `${was.name}: ${words} of its ${traffic}: ${count((n * moved) / 100)} a day change variant`;
  }
  if (n === null) return `${was.name}: serves differently; its traffic cannot be told apart from another serve's`;
  return `${was.name}: serves differently for its ${traffic}`;
}

/**
 * Lines describing what the change `before` → `after` (flag documents) touches, given the
 * flag's metrics `m` over the last 24 h.
 */
export function impact(before, after, m) {
  const total = m?.total_evaluations ?? 0;
  if (!before) return ["A new flag: no evaluations yet."];
  if (!total) return ["No edge metrics in the last 24 h: the impact cannot be estimated from traffic."];
  const lines = [`${count(total)} evaluations in the last 24 h.`];
  if (!after) return [...lines, `Archiving removes the flag from snapshots: all ${count(total)} daily evaluations get the caller's default.`];
  if (before.enabled && !after.enabled) return [...lines, `The kill switch serves “${after.off_variant ?? "the caller's default"}” to all ${count(total)} daily evaluations.`];
  if (!before.enabled && after.enabled) {
    lines.push(`Enabling: ${count(reasonCount(m, "DISABLED"))} daily evaluations served disabled get targeting again.`);
  }
  for (const v of new Set([...Object.keys(before.variants ?? {}), ...Object.keys(after.variants ?? {})])) {
    if (v in (before.variants ?? {}) && v in (after.variants ?? {}) && !same(before.variants[v], after.variants[v])) {
      const n = m.variants?.[v]?.count ?? 0;
      lines.push(`variant “${v}”: its value changes for ${count(n)} daily evaluations (${pct(n, total)} of traffic)`);
    }
  }
  if (!same(before.prerequisites, after.prerequisites)) {
    const failed = reasonCount(m, "PREREQUISITE_FAILED");
    lines.push(`prerequisites change: every evaluation is checked against them; ${count(failed)} daily evaluations failed the current ones`);
  }
  if (!same(before.access, after.access)) {
    lines.push(`access changes: every evaluation passes through it; ${count(reasonCount(m, "DENIED"))} daily evaluations were denied by the current one`);
  }
  const old = serves(before);
  const now = serves(after);
  const find = (list, s) => list.find((o) => (s.fallthrough ? o.fallthrough : o.id === s.id));
  for (const was of old) {
    const next = find(now, was);
    if (!next) {
      const n = serveEvaluations(before, was, m);
      lines.push(`${was.name} is removed: ${n === null ? "its evaluations" : `its ${count(n)} daily evaluations (${pct(n, total)})`} fall to the rules after it or the fallthrough`);
      continue;
    }
    if (!was.fallthrough) {
      const r = before.rules.find((x) => x.id === was.id);
      const r2 = after.rules.find((x) => x.id === was.id);
      if (!same(r.when, r2.when)) {
        const n = serveEvaluations(before, was, m);
        lines.push(`${was.name}: who matches changes${n === null ? "" : ` (it matched ${count(n)} daily evaluations, ${pct(n, total)} of traffic)`}`);
      }
    }
    if (!same(was.serve, next.serve)) lines.push(serveLine(before, was, next, m, total));
  }
  const added = now.filter((s) => !s.fallthrough && !find(old, s));
  for (const s of added) {
    const fall = serveEvaluations(before, old[old.length - 1], m);
    lines.push(`${s.name} is added: it can take evaluations that now reach the rules after it${fall === null ? "" : ` or the fallthrough (${count(fall)} a day, ${pct(fall, total)})`}`);
  }
  if (lines.length === 1) lines.push("What is served does not change: the change is to the flag's description or governance fields.");
  return lines;
}
