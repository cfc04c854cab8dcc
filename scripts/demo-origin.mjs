// Loads the seed's example flags into a running origin the way a team would: through
// change requests, approved by the people the governance policies ask for. Then saves
// the origin's public keyring and production snapshot for the wasm demo.
// Usage: node scripts/demo-origin.mjs SERVER_URL ADMIN_TOKEN OUT_DIR
import { readFileSync, writeFileSync } from "node:fs";
import { tokenLines, tokensWithRoles } from "./demo-lib.mjs";

const [server, adminToken, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node scripts/demo-origin.mjs SERVER_URL ADMIN_TOKEN OUT_DIR");
  process.exit(2);
}

async function api(token, method, path, body) {
  const response = await fetch(`${server}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const details = (answer?.error?.details ?? []).map((d) => `\n  - ${d.policy ?? d.path}: ${d.message}`).join("");
    throw new Error(`${method} ${path}: ${answer?.error?.message ?? response.status}${details}`);
  }
  return { answer, etag: response.headers.get("etag") };
}

// The people of the seed's approval workflow.
const people = {
  alice: ["editor"],
  tom: ["TECH_LEAD"],
  sara: ["SECURITY"],
  paul: ["PRODUCT_OWNER"],
  carla: ["COMPLIANCE"],
  olivia: ["CLINICAL_OVERSIGHT"],
  eddie: ["CLINICAL_ENGINEERING"],
  irene: ["IRB"],
};
const tokens = {};
for (const [name, roles] of Object.entries(people)) {
  tokens[name] = (await api(adminToken, "POST", "/tokens", { name, roles })).answer.token;
}
const approverFor = (role) => Object.keys(people).find((name) => people[name].includes(role));

// Example flags expire in early 2027; move expiries 90 days ahead so they stay valid.
const expiry = new Date(Date.now() + 90 * 86_400_000).toISOString();
const env = "production";
const files = ["examples/finance-flags.json", "examples/healthcare-flags.json"];
const flags = [];
for (const file of files) {
  const doc = JSON.parse(readFileSync(file, "utf8"));
  for (const [name, clause] of Object.entries(doc.segments ?? {})) {
    await api(tokens.alice, "PUT", `/environments/${env}/segments/${name}`, { clause, reason: "demo setup" });
  }
  for (const [name, group] of Object.entries(doc.exclusion_groups ?? {})) {
    await api(tokens.alice, "PUT", `/environments/${env}/exclusion-groups/${name}`, { salt: group.salt, reason: "demo setup" });
  }
  for (const flag of doc.flags) {
    if (flag.expires_at) flag.expires_at = expiry;
    flags.push(flag);
  }
}

// Prerequisites first.
const created = new Set();
const pending = [...flags];
while (pending.length) {
  const index = pending.findIndex((f) => (f.prerequisites ?? []).every((p) => created.has(p.flag)));
  if (index < 0) throw new Error("example flags have unmet prerequisites");
  const [flag] = pending.splice(index, 1);
  let change = (await api(tokens.alice, "POST", `/environments/${env}/flags`, { flag, reason: "from the seed's examples" })).answer;
  const roles = [...new Set(change.required.map((r) => r.role))];
  for (const role of roles) {
    if (change.status !== "pending") break;
    change = (await api(tokens[approverFor(role)], "POST", `/changes/${change.id}/approve`, { role, comment: "demo approval" })).answer;
  }
  const approvals = roles.length ? ` after approval by ${roles.join(", ")}` : "";
  console.log(`  ${flag.key}: ${change.status}${approvals}`);
  created.add(flag.key);
}

const keys = (await api(adminToken, "GET", "/keys")).answer;
writeFileSync(`${outDir}/keys.json`, JSON.stringify(keys.keyring, null, 2) + "\n");
const sdkKey = (await api(adminToken, "POST", "/sdk-keys", { name: "demo-edge", environment: env })).answer.token;
const response = await fetch(`${server}/api/v1/environments/${env}/snapshot`, { headers: { authorization: `Bearer ${sdkKey}` } });
writeFileSync(`${outDir}/snapshot.json`, await response.text());
// Each token with what it may do: `vexil init`'s admin, the edge's SDK key, the people.
const withRoles = tokensWithRoles({ admin: adminToken, sdk: sdkKey, environment: env, people, tokens });
writeFileSync(`${outDir}/tokens.json`, JSON.stringify(withRoles, null, 2) + "\n");
console.log(`  tokens (saved with their roles in ${outDir}/tokens.json):`);
for (const line of tokenLines(withRoles)) console.log(`    ${line}`);
console.log(`  snapshot v${response.headers.get("x-vexil-snapshot-version")} (ETag ${response.headers.get("etag")}) saved with the origin's keyring`);
