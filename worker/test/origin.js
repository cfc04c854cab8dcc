// A real `vexil serve` for JS tests: a temp data directory from `vexil init`, the
// server on an ephemeral port, and a small API client. The binary is
// target/debug/vexil (built by `cargo test`), or $VEXIL_BIN.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const VEXIL = process.env.VEXIL_BIN ?? join(root, "target/debug/vexil");

/**
 * Starts an origin. `settings` maps a setting's name to its new line in vexil.toml
 * (`{check_interval: 'check_interval = "100ms"'}`).
 */
export async function startOrigin({ settings = {}, append = "", clockOffsetMs = null, env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "vexil-js-origin-"));
  const data = join(dir, "data");
  const init = JSON.parse(execFileSync(VEXIL, ["init", "--data", data, "--json"], { encoding: "utf8" }));
  const toml = join(data, "vexil.toml");
  const lines = readFileSync(toml, "utf8").split("\n").map((line) => {
    const name = Object.keys(settings).find((k) => line.startsWith(`${k} =`));
    return name ? settings[name] : line;
  });
  writeFileSync(toml, lines.join("\n") + "\n" + append);
  const clockFile = join(dir, "clock");
  writeFileSync(clockFile, String(clockOffsetMs ?? 0));
  const origin = { dir, data, admin: init.admin_token, clockFile, clockOffsetMs: 0, env };
  await launch(origin);
  return origin;
}

async function launch(origin) {
  const child = spawn(VEXIL, ["serve", "--data", origin.data, "--listen", "127.0.0.1:0"], {
    env: { ...process.env, ...origin.env, VEXIL_CLOCK_FILE: origin.clockFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  origin.log = [];
  child.stderr.on("data", (d) => origin.log.push(String(d)));
  const lines = createInterface({ input: child.stdout });
  origin.url = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`vexil serve exited with ${code}: ${origin.log.join("")}`)));
    lines.once("line", (line) => resolve(line.replace("listening on ", "").trim()));
  });
  lines.on("line", () => {});
  child.removeAllListeners("exit");
  origin.child = child;
}

/** Kills the origin (as a crash would) and starts it again on a new port. */
export async function restartOrigin(origin) {
  await stopOrigin(origin, { keepData: true });
  await launch(origin);
}

/** Moves the origin's clock forward. */
export function advanceClock(origin, ms) {
  origin.clockOffsetMs += ms;
  writeFileSync(origin.clockFile, String(origin.clockOffsetMs));
}

export async function stopOrigin(origin, { keepData = false } = {}) {
  if (origin.child && origin.child.exitCode === null) {
    const exited = new Promise((resolve) => origin.child.once("exit", resolve));
    origin.child.kill("SIGKILL");
    await exited;
  }
  if (!keepData) rmSync(origin.dir, { recursive: true, force: true });
}

/** Calls the origin's API; throws with the API's message on an error status. */
export async function api(origin, token, method, path, body) {
  const response = await fetch(`${origin.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return answer;
}

/** A low-risk on/off flag expiring in 30 days. */
export function simpleFlag(key, extra = {}) {
  return {
    key, kind: "release", risk: "low", owner: "web", expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    enabled: true, variants: { on: true, off: false }, off_variant: "off", fallthrough: { variant: "off" }, ...extra,
  };
}

/** Polls `check` until it returns a truthy value (or fails after `ms`). */
export async function eventually(check, ms = 15_000, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The environment and version in a signed envelope's binary payload (its header:
 * `VXP\x02`, the environment as a varint length and UTF-8, the version as a varint;
 * docs/snapshot-format.md). */
export function payloadHeader(envelope) {
  const bytes = Buffer.from((typeof envelope === "string" ? JSON.parse(envelope) : envelope).payload, "base64");
  let at = 4;
  const varint = () => {
    let n = 0, shift = 0, b;
    do {
      b = bytes[at++];
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return n;
  };
  const len = varint();
  const environment = bytes.subarray(at, at + len).toString("utf8");
  at += len;
  return { environment, version: varint() };
}
