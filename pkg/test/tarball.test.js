// The npm tarball as a user gets it: `npm pack ./pkg` holds exactly the package's
// files (README, LICENSE, types, every `exports` target), installs offline into a
// project outside the repository, runs there in Node (every entry, the OpenFeature
// server provider) and type-checks with `tsc --strict` against the real @openfeature
// SDKs (an example using every exported name; a wrong one must fail).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { PKG, REPO, scratchProject } from "./scratch.js";
import { envelope, makeKey, payload, sampleFlags, startOrigin } from "./helpers.js";

const EXPECTED_FILES = [
  "LICENSE", "README.md", "package.json",
  "index.js", "inline.js", "lazy.js", "node.js", "worker.js", "core.js", "context.js", "handles.js", "tables.js", "client.js", "events.js", "trace.js", "index.d.ts", "trace.d.ts",
  "wasm/vexil.js", "wasm/vexil.d.ts", "wasm/vexil_bg.wasm", "wasm/vexil_inline.js",
  "openfeature/server.js", "openfeature/web.js", "openfeature/shared.js", "openfeature/server.d.ts", "openfeature/web.d.ts",
].sort();

let project;
before(() => {
  project = scratchProject(["@openfeature/server-sdk", "@openfeature/web-sdk", "@openfeature/core", "@types/node"]);
});
after(() => project?.cleanup());

/** Every file path an `exports` map names, through nested conditions. */
function targets(entry) {
  if (typeof entry === "string") return [entry];
  return Object.values(entry).flatMap(targets);
}

test("the tarball holds exactly the package's files, README and LICENSE included", () => {
  assert.deepEqual(project.files, EXPECTED_FILES);
  const manifest = JSON.parse(readFileSync(join(PKG, "package.json"), "utf8"));
  for (const target of targets(manifest.exports)) {
    assert.ok(project.files.includes(target.replace(/^\.\//, "")), `exports names ${target}, which is not packed`);
  }
  // The licence is the repository's: the same text, the same SPDX id as the crate.
  assert.equal(readFileSync(join(PKG, "LICENSE"), "utf8"), readFileSync(join(REPO, "LICENSE"), "utf8"));
  const crateLicense = readFileSync(join(REPO, "Cargo.toml"), "utf8").match(/^license = "(.+)"$/m)[1];
  assert.equal(manifest.license, crateLicense);
  assert.match(readFileSync(join(REPO, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
  // Only the entries that initialise the wasm at import have side effects.
  assert.deepEqual(manifest.sideEffects, ["./node.js", "./worker.js"]);
});

test("installed from the tarball, every Node entry and the server provider evaluate", async () => {
  const key = makeKey("k1");
  const origin = await startOrigin();
  try {
    origin.state.envelope = envelope(key, payload({ flags: sampleFlags(), version: 3 }));
    const config = { keys: { [key.id]: key.publicKey }, snapshotUrl: origin.snapshotUrl, sdkKey: origin.sdkKey, envelope: origin.state.envelope };
    writeFileSync(join(project.dir, "example.mjs"), `
      import { createClient, Engine, ready } from "vexil";
      import * as inline from "vexil/inline";
      import { OpenFeature } from "@openfeature/server-sdk";
      import { VexilProvider } from "vexil/openfeature/server";
      const { keys, snapshotUrl, sdkKey, envelope } = JSON.parse(process.argv[2]);
      const user = { targetingKey: "u1", plan: "beta" };
      await ready();
      const engine = new Engine({ keys, environment: "production" });
      engine.load(envelope);
      await inline.ready();
      const inlined = new inline.Engine({ keys, environment: "production" });
      inlined.load(JSON.stringify(envelope));
      const client = await createClient({ keys, environment: "production", snapshotUrl, sdkKey, autoRefresh: false });
      await OpenFeature.setProviderAndWait(new VexilProvider({ keys, environment: "production", snapshotUrl, sdkKey, autoRefresh: false }));
      const details = await OpenFeature.getClient().getBooleanDetails("new-checkout", false, user);
      console.log(JSON.stringify({
        engine: engine.boolean("new-checkout", user, false),
        inline: inlined.evaluate("new-checkout", user, false).reason,
        client: [client.version, client.string("banner-text", user, "?")],
        provider: [details.value, details.reason, details.flagMetadata.ruleId],
      }));
      client.close();
      await OpenFeature.close();
    `);
    // Asynchronously: the origin answers from this process.
    const { stdout: out } = await promisify(execFile)(process.execPath, ["example.mjs", JSON.stringify(config)], { cwd: project.dir, encoding: "utf8" });
    assert.deepEqual(JSON.parse(out), { engine: true, inline: "TARGETING_MATCH", client: [3, "Welcome"], provider: [true, "TARGETING_MATCH", "beta"] });
  } finally {
    origin.close();
  }
});

// Parsed declaration files, shared by the type checks (parsing the libs is most of their time).
const parsed = new Map();

/**
 * Diagnostics of `files` (in the scratch project) as "file(line): TSnnnn message",
 * from the example files and from vexil's own declarations: third-party declarations
 * are not ours to check (@openfeature/server-sdk's do not compile against the newest
 * @types/node's EventEmitter).
 */
function typeCheck(files, options) {
  const compilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, skipLibCheck: false, ...options };
  const host = ts.createCompilerHost(compilerOptions);
  const read = host.getSourceFile;
  host.getSourceFile = (name, version, ...rest) => {
    const id = `${name}\0${JSON.stringify(version)}`;
    if (!name.includes("/node_modules/") || name.includes("/node_modules/vexil/")) return read.call(host, name, version, ...rest);
    if (!parsed.has(id)) parsed.set(id, read.call(host, name, version, ...rest));
    return parsed.get(id);
  };
  const program = ts.createProgram(files.map((f) => join(project.dir, f)), compilerOptions, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => !d.file || d.file.fileName.startsWith(project.dir + "/"))
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (!d.file) return message;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${d.file.fileName.slice(project.dir.length + 1)}(${line + 1}): TS${d.code} ${message}`;
    });
}

test("tsc --strict: the example using every export type-checks (node16 and bundler resolution); a wrong one fails", () => {
  for (const f of ["example.ts", "wrong.ts"]) copyFileSync(join(PKG, "test", "typescript", f), join(project.dir, f));
  const example = readFileSync(join(project.dir, "example.ts"), "utf8");
  // Every name the declarations export is used by the example (a new export needs a line there).
  for (const dts of ["index.d.ts", "trace.d.ts", "openfeature/server.d.ts", "openfeature/web.d.ts"]) {
    const names = [...readFileSync(join(PKG, dts), "utf8").matchAll(/^export (?:declare )?(?:class|function|const|type|interface) (\w+)/gm)].map((m) => m[1]);
    assert.ok(names.length > 0, dts);
    for (const name of names) assert.match(example, new RegExp(`\\b${name}\\b`), `example.ts does not use ${name} (from ${dts})`);
  }
  const node16 = typeCheck(["example.ts", "wrong.ts"], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
  // The wrong file fails for its two mistakes: a synchronous read of the server
  // provider's Promise, and a default of the wrong type.
  assert.equal(node16.length, 3, node16.join("\n"));
  assert.match(node16[0], /^wrong\.ts\(8\): TS2339 Property 'value' does not exist on type 'Promise<ResolutionDetails<boolean>>'/);
  assert.match(node16[1], /^wrong\.ts\(9\): TS2322/);
  assert.match(node16[2], /^wrong\.ts\(9\): TS2345/);
  assert.deepEqual(typeCheck(["example.ts"], { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }), []);
});
