// Reads Gherkin feature files with Cucumber's own parser (@cucumber/gherkin) into
// pickles (scenario outlines expanded row by row), and runs them against step
// definitions: `[regex, (state, ...captures, dataTable) => void]`, tried in order.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { AstBuilder, GherkinClassicTokenMatcher, Parser, compile } from "@cucumber/gherkin";
import { IdGenerator } from "@cucumber/messages";

/** Every pickle of the `.feature` files in `dir`: `{file, name, tags, steps: [{text, table}]}`. */
export function pickles(dir) {
  const out = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".feature")).sort()) {
    const newId = IdGenerator.uuid();
    const parser = new Parser(new AstBuilder(newId), new GherkinClassicTokenMatcher());
    const doc = parser.parse(readFileSync(join(dir, file), "utf8"));
    for (const p of compile(doc, file, newId)) {
      out.push({
        file,
        name: p.name,
        tags: p.tags.map((t) => t.name),
        steps: p.steps.map((s) => ({ text: s.text, table: s.argument?.dataTable?.rows.map((r) => r.cells.map((c) => c.value)) })),
      });
    }
  }
  return out;
}

/** Runs one pickle: `{ok, error}`; a step no definition matches is an error. */
export async function run(pickle, steps, state) {
  try {
    for (const step of pickle.steps) {
      const def = steps.find(([re]) => re.test(step.text));
      if (!def) throw new Error(`no step definition for "${step.text}"`);
      const m = def[0].exec(step.text);
      await def[1](state, ...m.slice(1), step.table);
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e.message.split("\n").filter(Boolean).slice(0, 4).join(" | ") };
  }
}
