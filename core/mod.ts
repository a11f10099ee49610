/**
 * The core: tensor expressions and autodiff, runtimes, feature networks, the
 * plugin API and the objective compiler. Built-in plugins import from here
 * (the layering keeps `plugins/` below `mod.ts`); users import the same
 * functions from the package root.
 *
 * @module
 */

export * from "./graph/mod.ts";
export * from "./runtime/mod.ts";
export * from "./network/mod.ts";
export { mulberry32, normal, uniform, type UniformOptions } from "./random.ts";
export {
  allowedValues,
  booleanOption,
  type BrowserLimits,
  checkOption,
  type CheckOptions,
  choiceOption,
  type CliHints,
  effectiveSpec,
  integerOption,
  type LayerSelection,
  layersOption,
  type LayerWeight,
  listOption,
  numberOption,
  type NumberOptionInit,
  OptionError,
  type OptionKind,
  type OptionSchema,
  type OptionSpec,
  type OptionValues,
  parseOptions,
  stringOption,
} from "./options.ts";
export {
  type CostContext,
  definePlugin,
  IMAGE_LAYER,
  type NetworkInfo,
  type Plugin,
  pluginFromJson,
  pluginLayers,
  type PluginSpec,
  type PluginUse,
  type PluginUseJson,
  resolveLayers,
  type TargetContext,
} from "./plugin.ts";
export { fitLongSide, resizeImage, type RgbImage, rgbImage } from "./image.ts";
export {
  compileObjective,
  type Evaluation,
  type Objective,
  type ObjectiveSpec,
  type StyleReference,
} from "./objective.ts";
export * from "./optim/mod.ts";
export { combineLuminance, luminance, luminanceImage } from "./color.ts";
export {
  DEFAULT_PLUGINS,
  defaultRecipe,
  parseRecipe,
  type Recipe,
  RECIPE_VERSION,
  type Settings,
  SETTINGS_SCHEMA,
} from "./recipe.ts";
export {
  outputSize,
  type ProgressEvent,
  scaleSizes,
  stylize,
  type StylizeInput,
  type StylizeOptions,
  type StylizeResult,
} from "./stylize.ts";
export {
  defaultLayers,
  loadNetwork,
  type LoadNetworkOptions,
  networkFromFile,
  type NetworkRecord,
  networkRecord,
  NETWORKS,
  resolveNetwork,
} from "./network/registry.ts";
export { decodeNetworkBundle, encodeNetworkBundle } from "./network/bundle.ts";
