// A project outside the repository with the packed `vexil` installed, as a user gets
// it: `npm pack ./pkg`, then `npm install` of the tarball with the registry pointed at
// a closed port (nothing may come from the network). Dev tools a test needs
// (@openfeature SDKs, bundlers) are linked from the repository's node_modules, which
// `npm ci` filled.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const PKG = join(REPO, "pkg");
const offline = { ...process.env, npm_config_registry: "http://127.0.0.1:9/", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };

/** Packs ./pkg into `dir`: `{tarball, files}` (the packed paths, sorted). */
export function pack(dir) {
  const [info] = JSON.parse(execFileSync("npm", ["pack", PKG, "--pack-destination", dir, "--json", "--silent"], { cwd: REPO, env: offline, encoding: "utf8" }));
  return { tarball: join(dir, info.filename), files: info.files.map((f) => f.path).sort(), size: info.size };
}

/**
 * A scratch project with the tarball installed and `links` (package names in the
 * repository's node_modules) linked in: `{dir, files, tarball, cleanup()}`.
 */
export function scratchProject(links = []) {
  const dir = mkdtempSync(join(tmpdir(), "vexil-scratch-"));
  const packed = pack(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "vexil-scratch", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-package-lock", "--loglevel=error", packed.tarball], { cwd: dir, env: offline, stdio: ["ignore", "ignore", "pipe"] });
  for (const name of links) {
    const at = join(dir, "node_modules", name);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(join(REPO, "node_modules", name), at, "dir");
  }
  return { dir, ...packed, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
