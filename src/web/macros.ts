// Shared macros as template globals. `{% from "partials/x.njk" import m %}` runs x.njk's top level
// on every render to collect its macros (measured: ~8% of a list page's server CPU for three
// imports). A macro that reads only its arguments and the environment's globals is the same function
// every time, so the hot partials' macros are loaded once and registered as globals here; templates
// call them without an import. In development (templates reload) they are loaded on every call.
import type nunjucks from "nunjucks";

type Exporting = { getExported(cb: (err: Error | null, exported: Record<string, unknown>) => void): void };
export type Macro = (...args: unknown[]) => unknown;

/** The macro `name` exported by `template` (synchronous: the loader is a FileSystemLoader). */
function loadMacro(env: nunjucks.Environment, template: string, name: string): Macro {
  let found: Macro | undefined;
  // Template#getExported is public nunjucks API (how {% import %} works) but missing from @types/nunjucks.
  const tpl = env.getTemplate(template, true) as unknown as Exporting;
  tpl.getExported((err, exported) => {
    if (err) throw err;
    found = exported[name] as Macro | undefined;
  });
  if (typeof found !== "function") throw new Error(`${template} exports no macro named ${name}`);
  return found;
}

/** A function calling the macro: loaded on first use and kept (`memoise`), or loaded on each call. */
export function macroLoader(env: nunjucks.Environment, template: string, name: string, memoise: boolean): () => Macro {
  let macro: Macro | undefined;
  return () => (memoise ? (macro ??= loadMacro(env, template, name)) : loadMacro(env, template, name));
}

/** Registers each macro of `templates` ({ "partials/tags.njk": ["tag_list"] }) as a global of the same name. */
export function installMacroGlobals(env: nunjucks.Environment, templates: Record<string, string[]>, memoise: boolean): void {
  for (const [template, names] of Object.entries(templates)) {
    for (const name of names) {
      const macro = macroLoader(env, template, name, memoise);
      env.addGlobal(name, (...args: unknown[]) => macro()(...args));
    }
  }
}
