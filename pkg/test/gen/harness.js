// What the differential tests share: importing a document with the real `vexil
// import` (lossy reports collected per flag) and loading the result into the wasm
// engine with a settable clock.
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../node.js";
import { envelope, makeKey, payload } from "../helpers.js";
import { VEXIL } from "../../../worker/test/origin.js";

/** Runs `vexil import --from <from> --allow-lossy`: `{flags, lossy: Map<flag, messages[]>}`. */
export function vexilImport(from, document) {
  const dir = mkdtempSync(join(tmpdir(), `vexil-${from}-gen-`));
  const input = join(dir, "input.json");
  writeFileSync(input, JSON.stringify(document));
  const run = spawnSync(VEXIL, ["import", "--from", from, input, "--allow-lossy"], { encoding: "utf8", maxBuffer: 1 << 28 });
  rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`vexil import --from ${from} failed (${run.status}): ${run.stderr}`);
  const lossy = new Map();
  for (const line of run.stderr.split("\n")) {
    const m = /^lossy: (.*?): (.*)$/.exec(line);
    if (m) lossy.set(m[1], [...(lossy.get(m[1]) ?? []), m[2]]);
  }
  return { flags: JSON.parse(run.stdout), lossy };
}

/** An engine serving `flags`, whose clock reads `clock.now`. */
export function engineFor(flags, clock) {
  const key = makeKey("k1");
  const engine = new Engine({ keys: { [key.id]: key.publicKey }, environment: "production", now: () => clock.now });
  const issued = Date.parse("2020-01-01T00:00:00Z");
  engine.load(envelope(key, payload({ ...flags, now: issued, ttlMs: 20 * 365 * 86_400_000 })));
  return engine;
}

/** Runs `fn` with Math.random replaced; reports whether it was called. */
export function withoutRandom(fn) {
  const real = Math.random;
  let called = false;
  Math.random = () => {
    called = true;
    return real();
  };
  try {
    return { value: fn(), random: called };
  } finally {
    Math.random = real;
  }
}
