// Evaluates example contexts through the wasm package, as an edge would.
// Usage: node scripts/demo.mjs SNAPSHOT KEYRING CONTEXTS
import { readFileSync } from "node:fs";
import { Engine } from "../pkg/node.js";

const [snapshotPath, keysPath, contextsPath] = process.argv.slice(2);
if (!contextsPath) {
  console.error("usage: node scripts/demo.mjs SNAPSHOT KEYRING CONTEXTS");
  process.exit(2);
}
const envelope = readFileSync(snapshotPath);
const keys = JSON.parse(readFileSync(keysPath, "utf8"));
const cases = JSON.parse(readFileSync(contextsPath, "utf8"));

const engine = new Engine({ keys, environment: "production", privateAttributes: ["patient.*"], auditKey: "demo-audit-key" });
const info = engine.load(envelope);
console.log(`wasm engine loaded snapshot v${info.version} (${info.flags} flags, key ${info.keyId}), expires ${new Date(info.expiresAt).toISOString()}\n`);

for (const c of cases) {
  const d = engine.evaluate(c.flag, c.context, c.default ?? false);
  const rule = d.ruleId ? ` rule=${d.ruleId}` : "";
  const error = d.errorCode ? ` error=${d.errorCode}` : "";
  console.log(`• ${c.title}`);
  console.log(`    ${c.flag} → ${JSON.stringify(d.value)}  (variant=${d.variant ?? "-"} reason=${d.reason}${rule}${error})`);
}

// The security model in one line: a modified snapshot is refused, the good one keeps serving.
const tampered = JSON.parse(envelope);
const payload = Buffer.from(tampered.payload, "base64");
payload[payload.length - 1] ^= 1; // one byte of the signed payload changed
tampered.payload = payload.toString("base64");
try {
  engine.load(tampered);
} catch (e) {
  console.log(`\ntampered snapshot refused: ${e.code}: ${e.message}`);
  console.log(`still serving v${engine.version}`);
}

const batch = engine.takeMetrics();
const flagStats = Object.values(batch?.flags ?? {});
const served = flagStats.flatMap((f) => Object.values(f.variants)).reduce((n, v) => n + v.count, 0);
const errors = flagStats.flatMap((f) => Object.values(f.errors ?? {})).reduce((n, c) => n + c, 0);
const evaluations = served + errors;
console.log(`\nmetrics batch ready for the origin: ${evaluations} evaluations (${errors} returned the default) over ${Object.keys(batch?.flags ?? {}).length} flags, ${batch?.audit.length ?? 0} HIPAA audit events (pseudonymised), ${JSON.stringify(batch).length} bytes`);
