/**
 * Plugin modules as text: what a recipe carries so that a cost plugin
 * travels with it. A module is written like any plugin file, importing only
 * from `"stylegram"`:
 *
 * ```ts
 * import { definePlugin, numberOption, reduceMean, square, sub } from "stylegram";
 * export const brightness = definePlugin({ … });
 * ```
 *
 * The caller transpiles it to a CommonJS-style script (TypeScript and
 * `import` removed; e.g. with sucrase's `typescript` and `imports`
 * transforms), and {@linkcode pluginsFromModule} runs that script with
 * `require("stylegram")` answering the API it is given, and collects the
 * plugins it exports. Running it is running its code: the command line does
 * it for recipes the user chose; a browser only in a sandbox.
 *
 * @module
 */

import { OptionError } from "./options.ts";
import type { Plugin } from "./plugin.ts";

/** A plugin module in a recipe: a file name (for messages) and its TypeScript source. */
export interface PluginSource {
  /** File name, e.g. `tint.ts`. */
  name: string;
  /** The module's source text. */
  code: string;
}

/** Most plugin modules in one recipe. */
export const MAX_SOURCES = 8;
/** Longest plugin module, in characters. */
export const MAX_SOURCE_CHARS = 32 * 1024;

/** Checks a recipe's `sources` field: a short list of `{ name, code }`. */
export function parseSources(json: unknown): PluginSource[] | undefined {
  if (json === undefined) return undefined;
  if (!Array.isArray(json) || json.length > MAX_SOURCES) {
    throw new OptionError(
      `recipe: sources must be a list of at most ${MAX_SOURCES} {"name", "code"} objects`,
    );
  }
  return json.map((entry, i) => {
    const where = `recipe: sources[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new OptionError(`${where} must be an object like {"name": "tint.ts", "code": "…"}`);
    }
    const { name, code, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) throw new OptionError(`${where}: unknown field "${extra[0]}" (name, code)`);
    if (typeof name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new OptionError(`${where}: name must be a file name like tint.ts`);
    }
    if (typeof code !== "string" || code.length > MAX_SOURCE_CHARS) {
      throw new OptionError(
        `${where} (${name}): code must be text of at most ${MAX_SOURCE_CHARS / 1024} K characters`,
      );
    }
    return { name, code };
  });
}

/**
 * The module's line an error thrown by its code points at (the script runs
 * as a `new Function` body, two lines below the function's head), if known.
 */
export function moduleLine(e: unknown): number | undefined {
  const stack = e instanceof Error ? e.stack ?? "" : "";
  const m = /<anonymous>:(\d+):\d+/.exec(stack);
  return m ? Math.max(1, Number(m[1]) - 2) : undefined;
}

const isPlugin = (v: unknown): v is Plugin =>
  typeof v === "object" && v !== null && "spec" in v && "use" in v &&
  typeof (v as Plugin).name === "string";

/**
 * Runs a transpiled plugin module and returns the plugins it exports.
 * `api` is what `require("stylegram")` gives it; any other import is
 * refused with a message naming the module.
 */
export function pluginsFromModule(
  script: string,
  options: { name: string; api: Readonly<Record<string, unknown>> },
): Plugin[] {
  const module = { exports: {} as Record<string, unknown> };
  const require = (specifier: string) => {
    if (specifier === "stylegram") return options.api;
    throw new OptionError(
      `plugin module ${options.name}: only "stylegram" can be imported here, not "${specifier}"`,
    );
  };
  try {
    new Function("require", "module", "exports", script)(require, module, module.exports);
  } catch (e) {
    if (e instanceof OptionError) throw e;
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const line = moduleLine(e);
    throw new OptionError(
      `plugin module ${options.name}${line ? `, line ${line}` : ""}: ${message.split("\n")[0]}`,
    );
  }
  const plugins = Object.values(module.exports).filter(isPlugin);
  if (!plugins.length) {
    throw new OptionError(
      `plugin module ${options.name} exports no plugin (export const x = definePlugin({…}))`,
    );
  }
  return plugins;
}
