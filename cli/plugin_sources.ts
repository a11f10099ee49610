/**
 * A recipe's plugin modules on the command line: transpiled with sucrase
 * (TypeScript and `import` from "stylegram" removed), then run with the
 * stylegram API. Running a recipe's code is like `--plugin FILE`: it has
 * this program's permissions, so the run says so first.
 *
 * @module
 */

import { transform } from "sucrase";
import * as api from "../mod.ts";
import type { Plugin } from "../mod.ts";
import {
  ModuleError,
  pluginsFromModule,
  type PluginSource,
  transpileModule,
} from "../core/plugin_module.ts";
import { UsageError } from "./args.ts";

/** TypeScript module text → the script {@linkcode pluginsFromModule} runs; a syntax error is a usage error. */
export function transpilePlugin(source: PluginSource): string {
  try {
    return transpileModule(source, transform);
  } catch (e) {
    throw e instanceof ModuleError ? new UsageError(e.message) : e;
  }
}

/**
 * The plugins of a recipe's modules, added to `registry`; a name that is
 * taken already is refused.
 */
export function addSourcePlugins(
  sources: readonly PluginSource[],
  registry: Map<string, Plugin>,
  options: { onNotice?: (message: string) => void } = {},
): void {
  if (!sources.length) return;
  const lines = sources.reduce((n, s) => n + s.code.trimEnd().split("\n").length, 0);
  options.onNotice?.(
    `the recipe brings plugin code (${sources.map((s) => s.name).join(", ")}, ${lines} lines); ` +
      `it runs with this program's permissions`,
  );
  for (const source of sources) {
    const plugins = pluginsFromModule(transpilePlugin(source), { name: source.name, api });
    for (const p of plugins) {
      if (registry.has(p.name)) {
        throw new UsageError(
          `plugin module ${source.name}: a plugin named "${p.name}" exists already; rename it`,
        );
      }
      registry.set(p.name, p);
    }
  }
}
