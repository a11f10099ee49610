/**
 * What the image and video commands both do before a run: read a recipe file,
 * load `--plugin` modules beside the built-in plugins, and open the network
 * with only the weights of the layers the plugins read.
 *
 * @module
 */

import {
  BUILTIN_PLUGINS,
  IMAGE_LAYER,
  loadNetwork,
  parseRecipe,
  type Plugin,
  type PluginUse,
  type Recipe,
  temporal,
} from "../mod.ts";
import type { NetworkDescription } from "../core/network/description.ts";
import type { FeatureNetwork } from "../core/network/feature_network.ts";
import { networkFromFile } from "../core/network/registry.ts";
import { pluginLayers } from "../core/plugin.ts";
import { isPlugin, parseSources } from "../core/plugin_module.ts";
import { FileStore } from "../io.ts";
import { applyFlags, type CliArgs, type Flag, UsageError } from "./args.ts";
import { addSourcePlugins } from "./plugin_sources.ts";
import type { ProgressReporter } from "./progress.ts";

/** The plugins a video run knows: the built-ins and `temporal` (which needs video frames). */
export const VIDEO_PLUGINS: ReadonlyMap<string, Plugin> = new Map([
  ...BUILTIN_PLUGINS,
  [temporal.name, temporal],
]);

/** A JSON file's value, or a usage error naming `what` (a flag). */
export async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`${what} ${path}: no such file`);
    throw new UsageError(`${what} ${path}: cannot read (${(e as Error).message.split("\n")[0]})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `${what} ${path}: not valid JSON (${(e as Error).message.split("\n")[0]})`,
    );
  }
}

/** Plugins exported by the modules given with --plugin, added to `builtins`. */
export async function pluginRegistry(
  modules: string[],
  builtins: ReadonlyMap<string, Plugin> = BUILTIN_PLUGINS,
): Promise<Map<string, Plugin>> {
  const registry = new Map(builtins);
  for (const path of modules) {
    const url = new URL(path, `file://${Deno.cwd()}/`);
    let module: Record<string, unknown>;
    try {
      module = await import(url.href);
    } catch (e) {
      throw new UsageError(
        `--plugin ${path}: cannot load the module (${(e as Error).message.split("\n")[0]})`,
      );
    }
    const found = Object.values(module).filter(isPlugin);
    if (!found.length) {
      throw new UsageError(
        `--plugin ${path}: the module exports no plugin (made with definePlugin)`,
      );
    }
    for (const p of found) registry.set(p.name, p);
  }
  return registry;
}

/** The layers the plugins read, given a description (so only their weights load). */
function layersFor(uses: readonly PluginUse[]) {
  return (d: NetworkDescription): string[] => {
    const info = { name: d.name, layers: d.layers.map((l) => l.name), defaults: d.defaults };
    const names = uses.flatMap((u) => pluginLayers(u, info));
    return [...new Set(names.filter((n) => n !== IMAGE_LAYER))];
  };
}

/** The network the recipe names (a registry name or a weights file), with the layers `uses` read. */
export async function openNetwork(
  name: string,
  uses: readonly PluginUse[],
  seed: number,
  reporter: ProgressReporter,
  signal: AbortSignal,
): Promise<FeatureNetwork> {
  const layers = layersFor(uses);
  if (/\.(safetensors|onnx)$/i.test(name) || name.includes("/")) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(name);
    } catch (e) {
      throw new UsageError(
        `--network ${name}: ${
          e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message.split("\n")[0]
        }`,
      );
    }
    return networkFromFile(bytes, { source: name, layers });
  }
  let lastShown = 0;
  return await loadNetwork(name, {
    store: new FileStore(),
    layers,
    seed,
    signal,
    onNotice: (m) => reporter.say(m),
    onProgress: (p) => {
      reporter.json({ event: "download", ...p });
      const now = performance.now();
      if (now - lastShown > 1000 || p.done === p.total) {
        lastShown = now;
        reporter.say(
          `downloading weights: ${(p.done / 1e6).toFixed(1)} / ${(p.total / 1e6).toFixed(1)} MB`,
        );
      }
    },
  });
}

/**
 * The recipe the flags describe, over the `--recipe` file (or `fallback`
 * without one), and its plugin uses. A recipe's own plugin modules join
 * `registry` first, said on stderr whatever the progress mode (code is about
 * to run).
 */
export async function recipeFromFlags(
  flags: CliArgs["flags"],
  registry: Map<string, Plugin>,
  options: {
    flags?: readonly Flag[];
    fallback?: Record<string, unknown>;
    reporter: ProgressReporter;
  },
): Promise<{ recipe: Recipe; uses: PluginUse[] }> {
  const base = flags.recipe
    ? await readJson(flags.recipe as string, "--recipe")
    : options.fallback ?? {};
  if (typeof base !== "object" || base === null || Array.isArray(base)) {
    throw new UsageError(`--recipe ${flags.recipe}: must hold a JSON object`);
  }
  const sources = parseSources((base as Record<string, unknown>).sources);
  if (sources) {
    addSourcePlugins(sources, registry, {
      onNotice: (message) => {
        console.error(`note: ${message}`);
        options.reporter.json({ event: "notice", message });
      },
    });
  }
  return parseRecipe(
    applyFlags(base as Record<string, unknown>, flags, { plugins: registry, flags: options.flags }),
    registry,
  );
}
