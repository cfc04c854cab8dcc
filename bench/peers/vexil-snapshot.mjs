// Vexil snapshots for the benchmark, made as a user makes them: through the CLI
// (`vexil keys generate`, `vexil snapshot build`), so the benchmark keeps working
// whatever the payload format becomes.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The release CLI, built first if missing. */
export function vexilBinary() {
  const bin = process.env.VEXIL_BIN ?? join(ROOT, "target/release/vexil");
  if (!existsSync(bin)) {
    console.error("# building target/release/vexil (cargo build --release --bin vexil)");
    execFileSync("cargo", ["build", "--quiet", "--release", "--bin", "vexil"], { cwd: ROOT, stdio: "inherit" });
  }
  return bin;
}

/**
 * Writes each flags document of `docs` (name → document) to `dir`, signs it for
 * environment `bench` (version 1, fresh for 24 h) with a key generated there, and
 * returns the public keyring and the envelopes' bytes by name.
 */
export function buildSnapshots(dir, docs) {
  const bin = vexilBinary();
  const run = (args) => execFileSync(bin, args, { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  const privateKey = join(dir, "signing-key.json");
  const publicKeys = join(dir, "keys.json");
  if (!existsSync(privateKey)) {
    run(["keys", "generate", "--id", "bench", "--out-private", privateKey, "--out-public", publicKeys]);
  }
  const envelopes = {};
  for (const [name, doc] of Object.entries(docs)) {
    const flagsFile = join(dir, `${name}.flags.json`);
    const out = join(dir, `${name}.snapshot.json`);
    writeFileSync(flagsFile, JSON.stringify(doc));
    run(["snapshot", "build", flagsFile, "--env", "bench", "--version", "1", "--expires-in", "24h", "--key", privateKey, "--out", out]);
    envelopes[name] = new Uint8Array(readFileSync(out));
  }
  return { keys: JSON.parse(readFileSync(publicKeys, "utf8")), envelopes };
}

/** [`buildSnapshots`] in a throwaway directory, removed once the envelopes are read. */
export function buildSnapshotsInTemp(docs) {
  const dir = mkdtempSync(join(tmpdir(), "vexil-bench-"));
  try {
    return buildSnapshots(dir, docs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
