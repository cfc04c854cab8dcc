import type { ClientOptions, Client } from "../index.js";

/** OpenFeature server provider (`vexil/openfeature/server`): dynamic context, in-process wasm evaluation. */
export class VexilProvider {
  constructor(options: ClientOptions);
  readonly metadata: { name: "vexil" };
  readonly runsOn: "server";
  client: Client | null;
}

/** OpenFeature web provider (`vexil/openfeature/web`): static context, every flag evaluated on context or snapshot change. */
export class VexilWebProvider {
  constructor(options: ClientOptions);
  readonly metadata: { name: "vexil" };
  readonly runsOn: "client";
  client: Client | null;
}
