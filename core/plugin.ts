/**
 * The plugin API. A cost plugin is a plain object: a name, an option schema,
 * the feature layers it reads, optionally how it computes targets from a
 * reference image, and its cost as forward math on tensor expressions. The
 * core differentiates it; a plugin never writes a gradient.
 *
 * A configured plugin ({@linkcode PluginUse}) serialises to
 * `{ "plugin": name, "weight": w, "options": {…} }`, so recipes and share
 * links can name it.
 *
 * @module
 */

import type { Tensor } from "./graph/mod.ts";
import {
  type CheckOptions,
  type LayerSelection,
  type LayerWeight,
  OptionError,
  type OptionSpec,
  parseOptions,
  showValue,
} from "./options.ts";

/**
 * Where a plugin's targets come from: the content image, the style images,
 * or another image of the output's size named by the run.
 */
export type ReferenceName = "content" | "style" | (string & Record<never, never>);

/** Whether `name` can name a reference image (lowercase letters, digits, `_`, `-`). */
export function isReferenceName(name: unknown): name is ReferenceName {
  return typeof name === "string" && /^[a-z][a-z0-9_-]*$/.test(name);
}

/** Option values of a plugin, by name. */
export type PluginOptions = Record<string, unknown>;

/** The option schema describing the values `V`: one {@linkcode OptionSpec} per key. */
export type OptionSchemaFor<V extends PluginOptions> = {
  readonly [K in keyof V]: OptionSpec<V[K]>;
};

/** What a plugin may know about the feature network. */
export interface NetworkInfo {
  /** Registry name (`vgg19`, `inception`, `tiny`, …). */
  readonly name: string;
  /** Every layer name, in order. */
  readonly layers: readonly string[];
  /** The network's recommended layers. */
  readonly defaults: {
    readonly style: readonly LayerWeight[];
    readonly content: readonly LayerWeight[];
  };
}

/** The raw pixels instead of a network layer: `[1, 3, H, W]` in [0, 1]. */
export const IMAGE_LAYER = "image";

/** What {@linkcode PluginSpec.targets} gets for one reference image. */
export interface TargetContext {
  /** The reference image's features at `layer` (or its pixels for `"image"`). */
  features(layer: string): Tensor;
  /**
   * The reference image's mask at `layer`'s grid, `[1, 1, h, w]` in [0, 1]:
   * for a style image, the part of it to match (its source mask); for the
   * content image, the content mask. `undefined` when there is none.
   */
  mask(layer: string): Tensor | undefined;
  /** The reference image's statistics (a plugin with {@linkcode PluginSpec.statistics} only). */
  readonly statistics: Readonly<Record<string, Tensor>>;
  /** The network. */
  readonly network: NetworkInfo;
}

/**
 * What {@linkcode PluginSpec.statistics} gets: one window of an image. The
 * window is the whole image, or, when the core evaluates in tiles, one tile
 * with a halo around it; `mask` then says which of its positions this tile
 * counts, so each position of the image is counted exactly once.
 */
export interface StatisticsContext {
  /** The image's features at `layer` over the window (or its pixels for `"image"`). */
  features(layer: string): Tensor;
  /**
   * The weight of each position of the window at `layer`'s grid,
   * `[1, 1, h, w]`: the guidance mask (as {@linkcode CostContext.mask}) times
   * 1 where this window counts the position and 0 elsewhere. Multiply every
   * per-position term by it (a Gram matrix: `F∘M`). `undefined`: every
   * position counts with weight 1.
   */
  mask(layer: string): Tensor | undefined;
  /**
   * For a plugin whose reference is the content image (or another image of
   * the output's size, see {@linkcode PluginSpec.reference}): that image's
   * features at `layer` over the same window (it has the output's size, so
   * its positions are the output's).
   */
  reference(layer: string): Tensor;
  /** The network. */
  readonly network: NetworkInfo;
}

/** What {@linkcode PluginSpec.cost} gets. */
export interface CostContext {
  /**
   * The generated image's features at `layer` (or its pixels for `"image"`).
   * Not available to a plugin with `statistics`: its cost reads those.
   */
  features(layer: string): Tensor;
  /**
   * The totals of {@linkcode PluginSpec.statistics} over the generated image
   * (empty for a plugin without statistics).
   */
  readonly statistics: Readonly<Record<string, Tensor>>;
  /** The shape `[1, C, H, W]` of the generated image's features at `layer` over the whole image. */
  shape(layer: string): readonly number[];
  /** The targets computed from the reference image, as constants (same keys as `targets` returned). */
  readonly targets: Readonly<Record<string, Tensor>>;
  /**
   * The output's mask at `layer`'s grid, `[1, 1, h, w]` in [0, 1]: for a
   * style plugin, the region of the style image whose targets these are (the
   * cost is then built once per style image); for a content plugin, the
   * content weight. `undefined` when the run has no such mask — the plugin
   * then computes its ordinary cost.
   */
  mask(layer: string): Tensor | undefined;
  /** The network. */
  readonly network: NetworkInfo;
}

/** Everything a plugin declares. */
export interface PluginSpec<V extends PluginOptions = PluginOptions> {
  /** Unique name, used in recipes (`content`, `style`, `tv`, …). */
  readonly name: string;
  /** One line for help texts. */
  readonly description: string;
  /** Its options (use `numberOption`, `choiceOption`, `layersOption`, …). */
  readonly options: OptionSchemaFor<V>;
  /**
   * The reference image its targets come from, if any: `"content"`, `"style"`,
   * or the name of another image of the output's size that the run gives by
   * that name (`StylizeInput.references`), e.g. `"previous"`, the previous
   * video frame warped onto this one. Such an image is read as the content
   * image is: `reference(layer)` in `statistics`, and its mask as `mask`.
   */
  readonly reference?: ReferenceName;
  /**
   * How several style images combine: `"targets"` (default) blends the target
   * arrays by the style weights before one cost; `"costs"` adds one cost per
   * style image, weighted.
   */
  readonly blend?: "targets" | "costs";
  /** The feature layers it reads (`"image"` for raw pixels). */
  layers(options: V, network: NetworkInfo): readonly string[];
  /**
   * Size of the reference image relative to the output (style scale; default
   * 1). The reference keeps its aspect ratio: its longer side becomes the
   * output's longer side times this.
   */
  referenceScale?(options: V): number;
  /**
   * Sums over positions, for a cost that is a function of such sums (a Gram
   * matrix Σ_p f_p f_pᵀ, a count Σ_p m_p², a squared difference Σ_p (f_p −
   * c_p)²). Each returned tensor must be a sum over the window's positions
   * of per-position terms weighted by `ctx.mask` — that is what lets the core
   * add them up over tiles and evaluate any image size in bounded memory.
   * With statistics, `cost` reads `ctx.statistics` instead of features; a
   * style plugin's targets are the style image's statistics (or what
   * `targets` makes of them, from `ctx.statistics`). May answer with a
   * promise, as `targets`.
   */
  statistics?(
    ctx: StatisticsContext,
    options: V,
  ): Record<string, Tensor> | Promise<Record<string, Tensor>>;
  /**
   * Targets from one reference image, as expressions; run once, then fed to
   * `cost` as constants. May answer with a promise (a plugin whose code runs
   * elsewhere, e.g. in the playground's sandbox). For a plugin with
   * `statistics`, `ctx.statistics` holds the reference image's statistics
   * and `features` is not available.
   */
  targets?(
    ctx: TargetContext,
    options: V,
  ): Record<string, Tensor> | Promise<Record<string, Tensor>>;
  /**
   * The cost: a scalar expression of the generated image's features and the
   * targets (or a promise of one, as for `targets`).
   */
  cost(ctx: CostContext, options: V): Tensor | Promise<Tensor>;
}

/** A defined plugin: its spec, and a way to configure it. */
export interface Plugin<V extends PluginOptions = PluginOptions> {
  /** The plugin's name. */
  readonly name: string;
  /** The definition. */
  readonly spec: PluginSpec<V>;
  /** Checks options (filling defaults) and a weight, and returns a use of this plugin. */
  use(options?: Partial<V> | Record<string, unknown>, weight?: number): PluginUse<V>;
}

/** A plugin with checked options and a weight in the total cost. */
export interface PluginUse<V extends PluginOptions = PluginOptions> {
  /** The plugin. */
  readonly plugin: Plugin<V>;
  /** Checked options, defaults filled in. */
  readonly options: V;
  /** Its weight in the total cost (α, β, γ…). */
  readonly weight: number;
  /** `{ plugin, weight, options }`. */
  toJSON(): PluginUseJson;
}

/** A plugin use as JSON (in recipes). */
export interface PluginUseJson {
  /** Plugin name. */
  plugin: string;
  /** Weight in the total cost. */
  weight: number;
  /** Its options (missing ones take their defaults). */
  options?: Record<string, unknown>;
}

/**
 * Defines a cost plugin.
 *
 * @example
 * ```ts
 * import { definePlugin, numberOption, reduceMean, square, sub } from "../mod.ts";
 *
 * // Pull the image's mean brightness towards a target value.
 * export const brightness = definePlugin({
 *   name: "brightness",
 *   description: "mean pixel value close to a target",
 *   options: { target: numberOption({ default: 0.5, min: 0, max: 1, description: "target mean" }) },
 *   layers: () => ["image"],
 *   cost: ({ features }, { target }) => square(sub(reduceMean(features("image")), target)),
 * });
 * const use = brightness.use({ target: 0.4 }, 10);
 * ```
 */
export function definePlugin<V extends PluginOptions>(spec: PluginSpec<V>): Plugin<V> {
  if (!/^[a-z][a-z0-9_-]*$/.test(spec.name ?? "")) {
    throw new OptionError(
      `definePlugin: name ${JSON.stringify(spec.name)} must be lowercase letters, digits, - or _`,
    );
  }
  if (spec.reference !== undefined && !isReferenceName(spec.reference)) {
    throw new OptionError(
      `plugin ${spec.name}: reference must be "content", "style" or the name of an image the ` +
        `run gives (lowercase letters, digits, - or _), got ${showValue(spec.reference)}`,
    );
  }
  if (spec.reference && !spec.targets && !spec.statistics) {
    throw new OptionError(
      `plugin ${spec.name}: a plugin with a reference image needs targets() or statistics()`,
    );
  }
  const plugin: Plugin<V> = {
    name: spec.name,
    spec,
    use(options, weight = 1) {
      const checked = parseOptions(spec.options, options, { owner: `plugin ${spec.name}` }) as V;
      if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
        throw new OptionError(
          `plugin ${spec.name}: weight must be a number ≥ 0, got ${showValue(weight)}`,
        );
      }
      return {
        plugin,
        options: checked,
        weight,
        toJSON: () => ({ plugin: spec.name, weight, options: structuredClone(checked) }),
      };
    },
  };
  return plugin;
}

/**
 * Resolves a layer selection: `"style"`/`"content"` become the network's
 * recommended layers; names are checked against the network.
 */
export function resolveLayers(
  selection: LayerSelection,
  network: NetworkInfo,
  owner: string,
): LayerWeight[] {
  const list = selection === "style" || selection === "content"
    ? network.defaults[selection].map((l) => ({ ...l }))
    : selection;
  for (const { layer } of list) checkLayer(layer, network, owner);
  return list;
}

/** Throws unless `layer` is the network's (or the raw pixels); the message stays one short line. */
function checkLayer(layer: string, network: NetworkInfo, owner: string): void {
  if (layer === IMAGE_LAYER || network.layers.includes(layer)) return;
  const all = network.layers;
  const names = (list: readonly LayerWeight[]) => list.map((l) => l.layer).join(", ");
  const known = all.length <= 12 ? `layers: ${all.join(", ")}` : `${all.length} layers; ` +
    `the style ones are ${names(network.defaults.style)}, the content ones ${
      names(network.defaults.content)
    }`;
  const near = closeNames(layer, all);
  throw new OptionError(
    `${owner}: unknown layer "${layer}" for network ${network.name}` +
      (near.length ? `; did you mean ${near.join(" or ")}?` : "") + ` (${known})`,
  );
}

/** Up to three names at most two edits from `name` (or starting like it), nearest first. */
function closeNames(name: string, names: readonly string[]): string[] {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        next[j] = Math.min(
          row[j] + 1,
          next[j - 1] + 1,
          row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
      row = next;
    }
    return row[b.length];
  };
  return names
    .map((n) => ({ n, d: distance(name.toLowerCase(), n.toLowerCase()) }))
    .filter(({ n, d }) => d <= 2 || (name.length >= 3 && n.startsWith(name)))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ n }) => n);
}

/** Adds the plugin's name and what it was doing to an error's message. */
function named(use: PluginUse, what: string, e: unknown): unknown {
  if (e instanceof Error && !e.message.startsWith(`plugin ${use.plugin.name}`)) {
    e.message = `plugin ${use.plugin.name}: ${what}: ${e.message}`;
  }
  return e;
}

/** Runs a plugin's own code (`what`: layers, targets, cost), naming the plugin in its errors. */
export function inPlugin<T>(use: PluginUse, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw named(use, what, e);
  }
}

/** {@linkcode inPlugin} for code that may answer with a promise. */
export async function inPluginAsync<T>(
  use: PluginUse,
  what: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw named(use, what, e);
  }
}

/**
 * The feature layers a plugin use reads (its `layers()`), each checked
 * against the network; {@linkcode IMAGE_LAYER} stands for the raw pixels.
 * Errors name the plugin.
 */
export function pluginLayers(use: PluginUse, network: NetworkInfo): string[] {
  const layers = inPlugin(use, "layers", () => [...use.plugin.spec.layers(use.options, network)]);
  for (const layer of layers) checkLayer(layer, network, `plugin ${use.plugin.name}`);
  return layers;
}

/**
 * Turns recipe JSON into a plugin use, looking the name up in `plugins`.
 * With `browser`, options are also held to their browser limits, and the
 * browser's defaults fill the missing ones.
 */
export function pluginFromJson(
  json: unknown,
  plugins: ReadonlyMap<string, Plugin>,
  options: CheckOptions = {},
): PluginUse {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new OptionError(`a plugin entry must be an object like {"plugin": "style", "weight": 1}`);
  }
  const { plugin: name, weight, options: values, ...rest } = json as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) {
    throw new OptionError(
      `plugin entry: unknown field "${extra[0]}" (fields: plugin, weight, options)`,
    );
  }
  const plugin = typeof name === "string" ? plugins.get(name) : undefined;
  if (!plugin) {
    throw new OptionError(
      `unknown plugin ${JSON.stringify(name)} (plugins: ${[...plugins.keys()].join(", ")})`,
    );
  }
  const given = options.browser
    ? parseOptions(plugin.spec.options, values, { owner: `plugin ${plugin.name}`, browser: true })
    : values as Record<string, unknown> | undefined;
  return plugin.use(given, weight === undefined ? 1 : weight as number);
}
