// A semantic diff of two flag documents, for reviewers: what changes in words, item by
// item (a rule by its id, a variant by its name, a prerequisite by its flag), before and
// after side by side. Pure: no DOM, so node tests run it as the page does.
import { clauseText, serveText } from "../clauses.js";

/** Fields governance reads (risk, compliance, PHI, clinical): shown first, in their own section. */
export const GOVERNANCE_FIELDS = [
  "risk", "compliance", "phi", "clinical_impact", "patient_safety_critical", "affected_systems",
  "clinical_systems_affected", "medical_device_integration", "clinical_oversight_required",
  "irb_approval_required", "hipaa_compliance_validated", "private_attributes", "attributes",
  "audit_evaluations", "audit_trail_enabled", "record_retention_days", "approval_required",
];
const FLAG_FIELDS = ["enabled", "name", "description", "owner", "tags", "kind", "strategy", "expires_at", "off_variant"];
const TARGETING = new Set(["variants", "prerequisites", "access", "exclusion", "rules", "fallthrough"]);

const text = (v) => (v === undefined || v === null ? null : typeof v === "string" ? v : JSON.stringify(v));
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function row(section, item, before, after) {
  const b = text(before);
  const a = text(after);
  return { section, item, before: b, after: a, change: b === null ? "added" : a === null ? "removed" : "changed" };
}

function fields(section, names, before, after, out) {
  for (const name of names) if (!same(before[name], after[name])) out.push(row(section, name, before[name], after[name]));
}

function weightsOf(serve) {
  return serve?.rollout?.weights ?? null;
}

/** A serve's change: a split's weights one by one when both sides split, else the whole serve. */
function serveRows(section, item, before, after, out) {
  if (same(before, after)) return;
  const wb = weightsOf(before);
  const wa = weightsOf(after);
  if (wb && wa && same(before.rollout.by, after.rollout.by)) {
    for (const v of new Set([...Object.keys(wb), ...Object.keys(wa)])) {
      if (wb[v] !== wa[v]) out.push(row(section, `${item}: weight of “${v}”`, wb[v] === undefined ? null : `${wb[v]} %`, wa[v] === undefined ? null : `${wa[v]} %`));
    }
    return;
  }
  out.push(row(section, item, before ? serveText(before) : null, after ? serveText(after) : null));
}

function ruleRows(before, after, out) {
  const old = new Map((before ?? []).map((r, i) => [r.id, { r, i }]));
  const now = new Map((after ?? []).map((r, i) => [r.id, { r, i }]));
  for (const [id, { r, i }] of now) {
    const was = old.get(id);
    const item = `rule “${id}”`;
    if (!was) {
      out.push(row("Rules", `${item} (added as #${i + 1})`, null, `when ${clauseText(r.when)}, ${serveText(r.serve)}`));
      continue;
    }
    if (was.i !== i) out.push(row("Rules", `${item}: position`, `#${was.i + 1}`, `#${i + 1}`));
    if (!same(was.r.when, r.when)) out.push(row("Rules", `${item}: when`, clauseText(was.r.when), clauseText(r.when)));
    serveRows("Rules", `${item}: serve`, was.r.serve, r.serve, out);
    for (const k of new Set([...Object.keys(was.r), ...Object.keys(r)])) {
      if (!["id", "when", "serve"].includes(k) && !same(was.r[k], r[k])) out.push(row("Rules", `${item}: ${k}`, was.r[k], r[k]));
    }
  }
  for (const [id, { r, i }] of old) {
    if (!now.has(id)) out.push(row("Rules", `rule “${id}” (was #${i + 1})`, `when ${clauseText(r.when)}, ${serveText(r.serve)}`, null));
  }
}

function keyed(section, label, before, after, show, out) {
  for (const k of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
    const b = before?.[k];
    const a = after?.[k];
    if (!same(b, a)) out.push(row(section, `${label} “${k}”`, b === undefined ? null : show(b), a === undefined ? null : show(a)));
  }
}

const byFlag = (prereqs) => Object.fromEntries((prereqs ?? []).map((p) => [p.flag, p.variants]));

/**
 * The differences between two flag documents (`before` null for a new flag, `after` null
 * for an archived one), as rows `{section, item, before, after, change}` in reading order:
 * Flag, Governance, Variants, Prerequisites, Access, Exclusion, Rules, Fallthrough, Other.
 */
export function flagDiff(before, after) {
  const b = before ?? {};
  const a = after ?? {};
  const out = [];
  if (!before && after) out.push(row("Flag", "flag", null, `new flag “${a.key}”`));
  if (before && !after) out.push(row("Flag", "flag", `flag “${b.key}”`, null));
  fields("Flag", FLAG_FIELDS, b, a, out);
  fields("Governance", GOVERNANCE_FIELDS, b, a, out);
  keyed("Variants", "variant", b.variants, a.variants, (v) => JSON.stringify(v), out);
  keyed("Prerequisites", "prerequisite", byFlag(b.prerequisites), byFlag(a.prerequisites), (vs) => `“${vs.join("”, “")}”`, out);
  if (!same(b.access, a.access)) out.push(row("Access", "access", b.access ? clauseText(b.access) : null, a.access ? clauseText(a.access) : null));
  if (!same(b.exclusion, a.exclusion)) out.push(row("Exclusion", "exclusion group", b.exclusion, a.exclusion));
  ruleRows(b.rules, a.rules, out);
  serveRows("Fallthrough", "otherwise", b.fallthrough, a.fallthrough, out);
  const known = new Set(["key", ...FLAG_FIELDS, ...GOVERNANCE_FIELDS, ...TARGETING]);
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (!known.has(k) && !same(b[k], a[k])) out.push(row("Other", k, b[k], a[k]));
  }
  return out;
}

/** A segment's or exclusion group's change: one row. */
export function definitionDiff(label, before, after) {
  if (same(before, after)) return [];
  const show = (d) => (d === undefined || d === null ? null : d.attr || d.all || d.any || d.not || d.segment ? clauseText(d) : JSON.stringify(d));
  return [{ section: "Definition", item: label, before: show(before), after: show(after), change: before == null ? "added" : after == null ? "removed" : "changed" }];
}
