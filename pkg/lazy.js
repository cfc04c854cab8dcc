// The browser entries (index.js, inline.js) load the wasm on the first `ready()` or
// `createClient()`, never at import: importing has no side effect (so bundlers may
// drop what is unused) and no top-level await (which iife and CommonJS output cannot
// hold). Both entries share this state, so whichever loads first serves the other.
import init from "./wasm/vexil.js";
import { Engine as LoadedEngine, VexilError } from "./core.js";
import { Client as LoadedClient, createClient as createLoadedClient } from "./client.js";

let loading = null;
let loaded = false;

function requireLoaded(what) {
  if (!loaded) {
    throw new VexilError("NOT_READY", `vexil's wasm module is not loaded yet: \`await ready()\` before \`new ${what}()\` (createClient waits by itself)`);
  }
}

/** The API of an entry whose wasm comes from `source()` (a URL, or the bytes). */
export function lazyEntry(source) {
  function ready() {
    loading ??= Promise.resolve()
      .then(source)
      .then((module_or_path) => init({ module_or_path }))
      .then(
        () => {
          loaded = true;
        },
        (e) => {
          loading = null;
          throw e instanceof VexilError ? e : new VexilError("WASM_LOAD_FAILED", `could not load vexil's wasm module: ${e.message}`);
        },
      );
    return loading;
  }

  class Engine extends LoadedEngine {
    constructor(options) {
      requireLoaded("Engine");
      super(options);
    }
  }

  class Client extends LoadedClient {
    constructor(options) {
      requireLoaded("Client");
      super(options);
    }
  }

  async function createClient(options) {
    await ready();
    return createLoadedClient(options);
  }

  return { ready, Engine, Client, createClient };
}
