/**
 * Recipes: one versioned, JSON-serialisable object holding every choice of a
 * stylisation except the images — network, cost plugins with their options
 * and weights, optimiser, scales, iterations, seed, sizes. The CLI
 * (`--recipe`, `--save-recipe`) and the playground's share links both use it.
 *
 * @module
 */

import {
  booleanOption,
  type CheckOptions,
  choiceOption,
  integerOption,
  listOption,
  numberOption,
  OptionError,
  type OptionSpec,
  parseOptions,
  showValue,
  stringOption,
} from "./options.ts";
import { type Plugin, pluginFromJson, type PluginUse, type PluginUseJson } from "./plugin.ts";
import { BACKEND_CHOICES, type BackendChoice } from "./runtime/mod.ts";
import { NETWORKS } from "./network/registry.ts";
import type { GuidanceMethod } from "./guidance.ts";
import { parseSources, type PluginSource } from "./plugin_module.ts";

/** The recipe format version this code reads and writes. */
export const RECIPE_VERSION = 1;

/** Everything about a run but the images and the plugins. */
export interface Settings {
  /** Network: `auto`, `inception`, `vgg19`, `vgg16`, `random`, `tiny`, or a weights file path. */
  network: string;
  /** Pooling of VGG-style networks (`auto` keeps the network's own). */
  pooling: "auto" | "max" | "avg";
  /** Longer side of the output in pixels. */
  size: number;
  /** Output width/height ratio for texture synthesis (no content image); else the content's. */
  aspect: number;
  /** Optimiser iterations at each scale. */
  iterations: number;
  /**
   * Iterations per scale, coarsest first, the last one repeating (empty:
   * `iterations` at every scale): fewer at the large scales, where each
   * costs most.
   */
  scaleIterations: number[];
  /** Number of scales, coarse to fine. */
  scales: number;
  /** Longer side of the coarsest scale (when scales > 1). */
  minSize: number;
  /** `lbfgs` or `adam`. */
  optimizer: "lbfgs" | "adam";
  /** L-BFGS correction pairs. */
  history: number;
  /** Adam step size (pixels in [0, 1]). */
  learningRate: number;
  /** Starting image: the content image, seeded noise, flat grey, or a given image. */
  init: "content" | "noise" | "gray" | "image";
  /** Share of seeded uniform noise blended into the starting image (0–1). */
  noise: number;
  /** Seed of the noise (and of a random network). */
  seed: number;
  /** Decay of the exponential moving average of iterates (0 = off). */
  average: number;
  /** Transfer style on luminance only and keep the content's colours. */
  preserveColors: boolean;
  /**
   * Gatys' mean-activation normalisation: rescale the network so each
   * channel's mean activation over the content and style images is 1
   * (networks without batch norm, e.g. VGG).
   */
  normalise: boolean;
  /** Blend weights of the style images, in order (empty = equal). */
  styleWeights: number[];
  /** How masks reach each layer's grid: through the receptive fields, or by area average. */
  guidance: GuidanceMethod;
  /** Resize masks of another aspect ratio than their image instead of refusing them. */
  stretchMasks: boolean;
  /** Backend: auto, webgpu, native or wasm. */
  backend: BackendChoice;
  /**
   * Memory a run may use (`2GB`, `512MB`), or `auto`: what the host offers
   * (the CLI: most of the free memory). Larger images are evaluated in
   * tiles to stay within it.
   */
  maxMemory: string;
  /** Emit a preview image every N iterations (0 = never). */
  previewEvery: number;
}

/** The network names a browser can run, as their records say (a file path means nothing there). */
const BROWSER_NETWORKS = ["auto", ...NETWORKS.filter((n) => n.browser).map((n) => n.name)];

/**
 * The schema of {@linkcode Settings}: defaults, bounds, help texts, and the
 * browser's narrower limits (the playground's page and the share server both
 * check against them; they keep a run within a browser tab's memory).
 */
export const SETTINGS_SCHEMA: { readonly [K in keyof Settings]: OptionSpec<Settings[K]> } = {
  network: stringOption({
    default: "auto",
    choices: ["auto", ...NETWORKS.map((n) => n.name)],
    choiceLabels: Object.fromEntries(NETWORKS.map((n) => [n.name, n.title])),
    description: "the feature network, or a .safetensors/.onnx file of VGG weights",
    label: "Network",
    group: "network",
    browser: { choices: BROWSER_NETWORKS, default: "inception" },
    cli: { value: "NAME" },
  }),
  pooling: choiceOption(["auto", "max", "avg"], {
    default: "auto",
    description: "pooling of VGG networks (auto keeps the network's own)",
    label: "Pooling (VGG)",
    group: "network",
    advanced: true,
    cli: { value: "KIND" },
  }),
  normalise: booleanOption({
    default: false,
    description:
      "Gatys' mean-activation normalisation of the network, measured on the images (VGG)",
    label: "Normalise activations (VGG)",
    group: "network",
    advanced: true,
  }),
  size: integerOption({
    default: 512,
    min: 16,
    max: 8192,
    step: 16,
    description: "longer side of the output, pixels",
    label: "Size (px, longer side)",
    group: "output",
    // Larger images are evaluated in tiles within the tab's memory.
    browser: { max: 4096, default: 256 },
    cli: { short: "s", value: "PX" },
  }),
  aspect: numberOption({
    default: 1,
    min: 0.1,
    max: 10,
    step: 0.1,
    description: "width/height of a texture (no content image)",
    label: "Aspect of a texture (width/height)",
    group: "output",
    advanced: true,
    cli: { value: "W/H" },
  }),
  iterations: integerOption({
    default: 150,
    min: 0,
    max: 100000,
    description: "optimiser iterations per scale",
    label: "Iterations per scale",
    group: "optimisation",
    browser: { max: 2000, default: 100 },
    cli: { short: "n" },
  }),
  scaleIterations: listOption({
    default: [],
    min: 0,
    max: 100000,
    description:
      "iterations per scale, coarsest first, the last repeating (default: the same at each scale)",
    label: "Iterations at each scale",
    group: "optimisation",
    advanced: true,
    cli: { value: "N,N,…" },
  }),
  scales: integerOption({
    default: 2,
    min: 1,
    max: 8,
    description: "number of scales, coarse to fine",
    label: "Scales",
    group: "optimisation",
    browser: { max: 4 },
  }),
  minSize: integerOption({
    default: 256,
    min: 16,
    max: 8192,
    step: 16,
    description: "longer side of the coarsest scale, pixels",
    label: "Smallest scale (px)",
    group: "optimisation",
    browser: { max: 1024, default: 128 },
    cli: { value: "PX" },
  }),
  optimizer: choiceOption(["lbfgs", "adam"], {
    default: "lbfgs",
    description: "the optimiser",
    label: "Optimiser",
    choiceLabels: { lbfgs: "L-BFGS", adam: "Adam" },
    group: "optimisation",
    cli: { value: "NAME" },
  }),
  history: integerOption({
    default: 10,
    min: 1,
    max: 1000,
    description: "L-BFGS correction pairs",
    label: "L-BFGS history",
    group: "optimisation",
    advanced: true,
    // Each pair holds two copies of the image: 20 at 1024 px is 0.5 GB.
    browser: { max: 20 },
  }),
  learningRate: numberOption({
    default: 0.02,
    min: 0,
    exclusiveMin: true,
    max: 1,
    step: 0.005,
    description: "Adam step size",
    label: "Adam step size",
    group: "optimisation",
    advanced: true,
    cli: { value: "R" },
  }),
  init: choiceOption(["content", "noise", "gray", "image"], {
    default: "content",
    description: "the starting image (image: the --init-image file)",
    label: "Start from",
    choiceLabels: { content: "content image", noise: "noise", gray: "grey", image: "an image" },
    group: "optimisation",
    browser: { choices: ["content", "noise", "gray"] },
    cli: { value: "KIND" },
  }),
  noise: numberOption({
    default: 0.7,
    min: 0,
    max: 1,
    step: 0.05,
    description: "share of seeded noise blended into the starting image",
    label: "Noise in the start (0–1)",
    group: "optimisation",
    cli: { value: "A" },
  }),
  seed: integerOption({
    default: 0,
    min: 0,
    max: 2 ** 32 - 1,
    description: "random seed",
    label: "Seed",
    group: "optimisation",
  }),
  average: numberOption({
    default: 0,
    min: 0,
    max: 0.999,
    step: 0.01,
    description: "iterate averaging decay (0 = off)",
    label: "Iterate averaging (0 = off)",
    group: "optimisation",
    advanced: true,
    cli: { value: "D" },
  }),
  preserveColors: booleanOption({
    default: false,
    description: "keep the content image's colours",
    label: "Keep the content image's colours",
    group: "costs",
  }),
  styleWeights: listOption({
    default: [],
    min: 0,
    description: "blend weights of the style images, in order (default equal)",
    label: "Style blend",
    group: "costs",
    cli: { name: "style-blend", value: "W,W,…" },
  }),
  guidance: choiceOption(["receptive", "area"], {
    default: "receptive",
    choiceLabels: { receptive: "through the receptive fields", area: "area average" },
    description:
      "how masks reach each layer: receptive (each position's share of its receptive field) or area",
    label: "Masks at each layer",
    group: "costs",
    advanced: true,
    cli: { name: "mask-method", value: "KIND" },
  }),
  stretchMasks: booleanOption({
    default: false,
    description: "resize masks of another aspect ratio than their image instead of refusing them",
    label: "Stretch masks to their image",
    group: "costs",
    advanced: true,
  }),
  backend: choiceOption(BACKEND_CHOICES, {
    default: "auto",
    description: "execution backend",
    label: "Backend",
    choiceLabels: { webgpu: "WebGPU", wasm: "WebAssembly" },
    group: "run",
    browser: { choices: ["auto", "webgpu", "wasm"] },
    cli: { value: "NAME" },
  }),
  maxMemory: stringOption({
    default: "auto",
    choices: ["auto"],
    description: "memory the run may use (2GB, 512MB); larger images are evaluated in tiles",
    label: "Memory budget",
    group: "run",
    advanced: true,
    // A tab's onnxruntime heap is at most 4 GiB (wasm32).
    browser: { choices: ["auto", "1GB", "2GB", "3GB"], default: "auto" },
    cli: { value: "SIZE" },
  }),
  previewEvery: integerOption({
    default: 10,
    min: 0,
    max: 100000,
    description: "preview every N iterations (0 = never)",
    label: "Preview every N iterations",
    group: "run",
    advanced: true,
    browser: { default: 5 },
    // The command line saves previews with --save-every instead.
    cli: false,
  }),
};

/**
 * The mask images of a run, by name: file paths for the command line
 * (relative to the recipe file), image names in a playground share. `null`
 * leaves a style image without a mask.
 */
export interface RecipeMasks {
  /** Per style image, where it goes in the output (white: this style). */
  styles?: (string | null)[];
  /** Per style image, the part of it that is matched. */
  styleSources?: (string | null)[];
  /** The content weight per pixel (grey level = weight). */
  content?: string | null;
}

/** A complete recipe: settings plus the cost plugins (and the masks' names, if any). */
export interface Recipe extends Settings {
  /** The format version. */
  version: number;
  /** The cost terms, in order. */
  plugins: PluginUseJson[];
  /** Mask images, by name. */
  masks?: RecipeMasks;
  /**
   * Plugin modules the recipe brings (their plugins are then usable in
   * `plugins`): the caller loads them before parsing, see `plugin_module.ts`.
   */
  sources?: PluginSource[];
}

/** Checks a recipe's `masks` field. */
function parseMasks(json: unknown): RecipeMasks | undefined {
  if (json === undefined) return undefined;
  const shape = `{"styles": ["a.png", null], "styleSources": […], "content": "c.png"}`;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new OptionError(`recipe: masks must be an object like ${shape}`);
  }
  const masks: RecipeMasks = {};
  const name = (v: unknown, where: string) => {
    if (v === null || (typeof v === "string" && v.length > 0 && v.length <= 1000)) return v;
    throw new OptionError(`recipe: ${where} must be a file name or null, got ${showValue(v)}`);
  };
  for (const [key, value] of Object.entries(json)) {
    if (key === "content") {
      masks.content = name(value, "masks.content");
    } else if (key === "styles" || key === "styleSources") {
      if (!Array.isArray(value) || value.length > 64) {
        throw new OptionError(`recipe: masks.${key} must be a list of file names or null`);
      }
      masks[key] = value.map((v, i) => name(v, `masks.${key}[${i}]`));
    } else {
      throw new OptionError(
        `recipe: masks: unknown field "${key}" (fields: styles, styleSources, content)`,
      );
    }
  }
  return masks;
}

/** The default cost terms: content, Gram style and a little total variation. */
export const DEFAULT_PLUGINS: readonly PluginUseJson[] = [
  // Size-normalised content and mean TV keep the balance the same at every
  // scale of a multi-scale run (the style cost is size-normalised already).
  { plugin: "content", weight: 1, options: { normalisation: "size" } },
  { plugin: "style", weight: 40 },
  { plugin: "tv", weight: 1, options: { normalisation: "mean" } },
];

/**
 * The recipe every option of which is at its default (with `browser`, the
 * browser's defaults: a smaller size, fewer iterations).
 */
export function defaultRecipe(options: CheckOptions = {}): Recipe {
  const settings = parseOptions(SETTINGS_SCHEMA, {}, { ...options, owner: "recipe" }) as Settings;
  return { version: RECIPE_VERSION, ...settings, plugins: structuredClone([...DEFAULT_PLUGINS]) };
}

/**
 * Checks a recipe from JSON: fills defaults, rejects unknown fields, bad
 * values, unknown plugins and other versions, each with a message naming
 * the field. With `browser`, it refuses what a browser cannot run (each
 * option's browser limits) and fills the browser's defaults. Returns the
 * recipe and its plugin uses.
 *
 * @example
 * ```ts
 * import { parseRecipe, style, tv } from "../mod.ts";
 * const plugins = new Map([[style.name, style], [tv.name, tv]]);
 * const { recipe } = parseRecipe({ size: 256, plugins: [{ plugin: "style", weight: 50 }] }, plugins);
 * console.log(recipe.iterations); // 150
 * ```
 */
export function parseRecipe(
  json: unknown,
  plugins: ReadonlyMap<string, Plugin>,
  options: CheckOptions = {},
): { recipe: Recipe; uses: PluginUse[] } {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new OptionError(`recipe: must be a JSON object, got ${showValue(json)}`);
  }
  const { version, plugins: list, masks: maskJson, sources: sourceJson, ...rest } = json as Record<
    string,
    unknown
  >;
  if (version !== undefined && version !== RECIPE_VERSION) {
    throw new OptionError(
      `recipe: version ${
        showValue(version)
      } is not supported (this stylegram reads version ${RECIPE_VERSION})`,
    );
  }
  const settings = parseOptions(SETTINGS_SCHEMA, rest, { ...options, owner: "recipe" }) as Settings;
  const entries = list === undefined ? structuredClone([...DEFAULT_PLUGINS]) : list;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new OptionError(`recipe: plugins must be a non-empty list, got ${showValue(entries)}`);
  }
  const uses = entries.map((entry, i) => {
    try {
      return pluginFromJson(entry, plugins, options);
    } catch (e) {
      if (e instanceof OptionError) throw new OptionError(`recipe: plugins[${i}]: ${e.message}`);
      throw e;
    }
  });
  const masks = parseMasks(maskJson);
  const sources = parseSources(sourceJson);
  return {
    recipe: {
      version: RECIPE_VERSION,
      ...settings,
      plugins: uses.map((u) => u.toJSON()),
      ...(masks ? { masks } : {}),
      ...(sources ? { sources } : {}),
    },
    uses,
  };
}
