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
  choiceOption,
  integerOption,
  numberOption,
  OptionError,
  type OptionSpec,
  parseOptions,
  showValue,
} from "./options.ts";
import { type Plugin, pluginFromJson, type PluginUse, type PluginUseJson } from "./plugin.ts";
import { BACKEND_CHOICES, type BackendChoice } from "./runtime/mod.ts";

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
  /** Backend: auto, webgpu, native or wasm. */
  backend: BackendChoice;
  /** Emit a preview image every N iterations (0 = never). */
  previewEvery: number;
}

const weightList: OptionSpec<number[]> = {
  kind: "number",
  default: [],
  description: "blend weights of the style images (default equal)",
  allowed: "a list of numbers ≥ 0",
  parse: (v) => {
    if (!Array.isArray(v) || v.some((w) => typeof w !== "number" || !Number.isFinite(w) || w < 0)) {
      throw new OptionError(`must be a list of numbers ≥ 0, got ${showValue(v)}`);
    }
    return [...v];
  },
};

const networkName: OptionSpec<string> = {
  kind: "choice",
  default: "auto",
  description: "auto, inception, vgg19, vgg16, random, tiny, or a .safetensors/.onnx path",
  allowed: "a network name or a file path",
  parse: (v) => {
    if (typeof v !== "string" || v.trim() === "") {
      throw new OptionError(`must be a network name or path, got ${showValue(v)}`);
    }
    return v;
  },
};

/** The schema of {@linkcode Settings}, with defaults and help texts. */
export const SETTINGS_SCHEMA: { readonly [K in keyof Settings]: OptionSpec<Settings[K]> } = {
  network: networkName,
  pooling: choiceOption(["auto", "max", "avg"], {
    default: "auto",
    description: "pooling of VGG networks",
  }),
  size: integerOption({
    default: 512,
    min: 16,
    max: 8192,
    description: "longer side of the output, pixels",
  }),
  aspect: numberOption({
    default: 1,
    min: 0.1,
    max: 10,
    description: "width/height of a texture (no content image)",
  }),
  iterations: integerOption({
    default: 150,
    min: 0,
    max: 100000,
    description: "optimiser iterations per scale",
  }),
  scales: integerOption({
    default: 2,
    min: 1,
    max: 8,
    description: "number of scales, coarse to fine",
  }),
  minSize: integerOption({
    default: 256,
    min: 16,
    max: 8192,
    description: "longer side of the coarsest scale",
  }),
  optimizer: choiceOption(["lbfgs", "adam"], { default: "lbfgs", description: "optimiser" }),
  history: integerOption({
    default: 10,
    min: 1,
    max: 1000,
    description: "L-BFGS correction pairs",
  }),
  learningRate: numberOption({
    default: 0.02,
    min: 0,
    exclusiveMin: true,
    max: 1,
    description: "Adam step size",
  }),
  init: choiceOption(["content", "noise", "gray", "image"], {
    default: "content",
    description: "starting image",
  }),
  noise: numberOption({
    default: 0.7,
    min: 0,
    max: 1,
    description: "share of seeded noise blended into the starting image",
  }),
  seed: integerOption({ default: 0, min: 0, max: 2 ** 32 - 1, description: "random seed" }),
  average: numberOption({
    default: 0,
    min: 0,
    max: 0.999,
    description: "iterate averaging decay (0 = off)",
  }),
  preserveColors: booleanOption({
    default: false,
    description: "keep the content image's colours",
  }),
  normalise: booleanOption({
    default: false,
    description: "Gatys' mean-activation normalisation of the network (VGG)",
  }),
  styleWeights: weightList,
  backend: choiceOption(BACKEND_CHOICES, { default: "auto", description: "execution backend" }),
  previewEvery: integerOption({
    default: 10,
    min: 0,
    max: 100000,
    description: "preview every N iterations",
  }),
};

/** A complete recipe: settings plus the cost plugins. */
export interface Recipe extends Settings {
  /** The format version. */
  version: number;
  /** The cost terms, in order. */
  plugins: PluginUseJson[];
}

/** The default cost terms: content, Gram style and a little total variation. */
export const DEFAULT_PLUGINS: readonly PluginUseJson[] = [
  // Size-normalised content and mean TV keep the balance the same at every
  // scale of a multi-scale run (the style cost is size-normalised already).
  { plugin: "content", weight: 1, options: { normalisation: "size" } },
  { plugin: "style", weight: 40 },
  { plugin: "tv", weight: 1, options: { normalisation: "mean" } },
];

/** The recipe every option of which is at its default. */
export function defaultRecipe(): Recipe {
  const settings = parseOptions(SETTINGS_SCHEMA, {}, "recipe") as Settings;
  return { version: RECIPE_VERSION, ...settings, plugins: structuredClone([...DEFAULT_PLUGINS]) };
}

/**
 * Checks a recipe from JSON: fills defaults, rejects unknown fields, bad
 * values, unknown plugins and other versions, each with a message naming
 * the field. Returns the recipe and its plugin uses.
 */
export function parseRecipe(
  json: unknown,
  plugins: ReadonlyMap<string, Plugin>,
): { recipe: Recipe; uses: PluginUse[] } {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new OptionError(`recipe: must be a JSON object, got ${showValue(json)}`);
  }
  const { version, plugins: list, ...rest } = json as Record<string, unknown>;
  if (version !== undefined && version !== RECIPE_VERSION) {
    throw new OptionError(
      `recipe: version ${
        showValue(version)
      } is not supported (this stylegram reads version ${RECIPE_VERSION})`,
    );
  }
  const settings = parseOptions(SETTINGS_SCHEMA, rest, "recipe") as Settings;
  const entries = list === undefined ? structuredClone([...DEFAULT_PLUGINS]) : list;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new OptionError(`recipe: plugins must be a non-empty list, got ${showValue(entries)}`);
  }
  const uses = entries.map((entry, i) => {
    try {
      return pluginFromJson(entry, plugins);
    } catch (e) {
      if (e instanceof OptionError) throw new OptionError(`recipe: plugins[${i}]: ${e.message}`);
      throw e;
    }
  });
  return {
    recipe: { version: RECIPE_VERSION, ...settings, plugins: uses.map((u) => u.toJSON()) },
    uses,
  };
}
