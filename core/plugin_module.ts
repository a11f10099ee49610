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
 * {@linkcode transpileModule} turns it into a CommonJS-style script with
 * the transpiler the caller passes in (sucrase's `transform`, so the core
 * needs no compiler), and {@linkcode pluginsFromModule} runs that script with
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

/** A problem in a plugin module: the message, and the module's line when known. */
export class ModuleError extends OptionError {
  /** The problem without the module's name and line (for a message shown beside the code). */
  readonly detail: string;
  /** 1-based line in the module, if known. */
  readonly line?: number;

  /**
   * Names the module before `detail`, and the line too unless `detail`
   * says it already (the transpiler's "(3:14)").
   */
  constructor(module: string, detail: string, line?: number, options: { named?: boolean } = {}) {
    const at = line && !options.named ? `, line ${line}` : "";
    super(`plugin module ${module}${at}: ${detail}`);
    this.name = "ModuleError";
    this.detail = detail;
    this.line = line;
  }
}

/** A transpiler with sucrase's `transform` signature (its `typescript` and `imports` transforms). */
export type Transpile = (
  code: string,
  options: { transforms: ("typescript" | "imports")[]; filePath: string },
) => { code: string };

/** A module's TypeScript as the script {@linkcode pluginsFromModule} runs; syntax errors name their line. */
export function transpileModule(source: PluginSource, transpile: Transpile): string {
  try {
    return transpile(source.code, { transforms: ["typescript", "imports"], filePath: source.name })
      .code;
  } catch (e) {
    // sucrase: "Error transforming x.ts: Unexpected token (3:14)" and the like.
    const detail = (e as Error).message.split("\n")[0].replace(/^Error transforming [^:]*: /, "");
    const at = /\((\d+):\d+\)/.exec(detail);
    throw new ModuleError(source.name, detail, at ? Number(at[1]) : undefined, { named: true });
  }
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

/** Whether a module's export is a plugin (made with `definePlugin`). */
export const isPlugin = (v: unknown): v is Plugin =>
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
    throw new ModuleError(
      options.name,
      `only "stylegram" can be imported here, not "${specifier}"`,
    );
  };
  try {
    new Function("require", "module", "exports", script)(require, module, module.exports);
  } catch (e) {
    if (e instanceof OptionError) throw e;
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new ModuleError(options.name, message.split("\n")[0], moduleLine(e));
  }
  const plugins = Object.values(module.exports).filter(isPlugin);
  if (!plugins.length) {
    throw new OptionError(
      `plugin module ${options.name} exports no plugin (export const x = definePlugin({…}))`,
    );
  }
  return plugins;
}
