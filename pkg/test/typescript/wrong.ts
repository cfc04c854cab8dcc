// Must NOT type-check (tarball.test.js): the server provider resolves to a Promise,
// and a flag's default must have the flag's type.
import { VexilProvider } from "vexil/openfeature/server";
import { Engine } from "vexil";

declare const provider: VexilProvider;
declare const engine: Engine;
const value: boolean = provider.resolveBooleanEvaluation("f", false, {}).value;
const text: string = engine.boolean("f", {}, "off");
console.log(value, text);
