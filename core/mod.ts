/**
 * The public core: the driver, the plugin API with its option records, the
 * tensor expressions, networks, recipes, sessions and images — everything
 * of the package root but the built-in plugins, which import from here, so
 * they use exactly what a user's plugin can. Internals are imported from
 * their own files.
 *
 * @module
 */

// Stylising.
export {
  type ProgressEvent,
  stylize,
  type StylizeInput,
  type StylizeOptions,
  type StylizeResult,
} from "./stylize.ts";

// The plugin API and its option records.
export {
  type CostContext,
  definePlugin,
  IMAGE_LAYER,
  type NetworkInfo,
  type Plugin,
  type PluginSpec,
  type PluginUse,
  resolveLayers,
  type TargetContext,
} from "./plugin.ts";
export {
  booleanOption,
  choiceOption,
  integerOption,
  type LayerSelection,
  layersOption,
  type LayerWeight,
  numberOption,
  OptionError,
  type OptionSpec,
} from "./options.ts";

// Tensor expressions: forward math, its gradient, its ONNX graph.
export { Tensor } from "./graph/expr.ts";
export { constant, input } from "./graph/ops/source.ts";
export { add, addN, div, mul, sub } from "./graph/ops/arithmetic.ts";
export { abs, exp, log, neg, pow, relu, sigmoid, sqrt, square, tanh } from "./graph/ops/unary.ts";
export { reduceMean, reduceSum } from "./graph/ops/reduce.ts";
export { concat, reshape, slice, transpose } from "./graph/ops/layout.ts";
export { matmul } from "./graph/ops/matmul.ts";
export { softmax } from "./graph/ops/softmax.ts";
export { conv2d } from "./graph/ops/conv.ts";
export { avgPool } from "./graph/ops/pool.ts";
export { grad } from "./graph/autodiff.ts";
export { toOnnx } from "./graph/onnx.ts";

// Feature networks.
export { loadNetwork, NETWORKS } from "./network/registry.ts";
export type { NetworkRecord } from "./network/network_record.ts";

// Recipes: every choice of a run but the images, as JSON.
export {
  defaultRecipe,
  parseRecipe,
  type Recipe,
  type Settings,
  SETTINGS_SCHEMA,
} from "./recipe.ts";

// Running graphs.
export { availableBackends, createSession } from "./runtime/backends.ts";
export type { BackendChoice, Session } from "./runtime/session.ts";

// Images: planar RGB in [0, 1]; masks: one grey plane.
export { type RgbImage, rgbImage } from "./image.ts";
export { type Guidance, type Mask, maskFromImage, maskImage } from "./guidance.ts";
