/**
 * stylegram: neural style transfer where every cost term is a plugin written
 * as forward math; the core differentiates it, compiles it to ONNX and runs it
 * on onnxruntime (WebGPU, WebAssembly or native).
 *
 * This entry is the public API: {@linkcode stylize} and its types, the
 * built-in cost plugins, the plugin API with its option records, the tensor
 * expressions with {@linkcode grad} and {@linkcode toOnnx}, networks,
 * recipes, sessions and images. Files, for Deno and Node, are in
 * `stylegram/io` (`io.ts`).
 *
 * @example
 * ```ts
 * import { createSession, grad, input, reduceSum, square, toOnnx } from "./mod.ts";
 * const x = input("x", [1, 3, 8, 8]);
 * const cost = reduceSum(square(x));
 * const [dx] = grad(cost, [x]);
 * const session = await createSession(toOnnx({ cost, dx }), { backend: "wasm" });
 * const out = await session.run({ x: new Float32Array(3 * 8 * 8).fill(1) });
 * console.log(out.cost[0]); // 192
 * ```
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
} from "./core/stylize.ts";

// The built-in cost plugins, written with the plugin API below.
export { BUILTIN_PLUGINS, content, gramMatrix, meanCovariance, style, tv } from "./plugins/mod.ts";

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
} from "./core/plugin.ts";
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
} from "./core/options.ts";

// Tensor expressions: forward math, its gradient, its ONNX graph.
export { Tensor } from "./core/graph/expr.ts";
export { constant, input } from "./core/graph/ops/source.ts";
export { add, addN, div, mul, sub } from "./core/graph/ops/arithmetic.ts";
export {
  abs,
  exp,
  log,
  neg,
  pow,
  relu,
  sigmoid,
  sqrt,
  square,
  tanh,
} from "./core/graph/ops/unary.ts";
export { reduceMean, reduceSum } from "./core/graph/ops/reduce.ts";
export { concat, reshape, slice, transpose } from "./core/graph/ops/layout.ts";
export { matmul } from "./core/graph/ops/matmul.ts";
export { softmax } from "./core/graph/ops/softmax.ts";
export { conv2d } from "./core/graph/ops/conv.ts";
export { avgPool } from "./core/graph/ops/pool.ts";
export { grad } from "./core/graph/autodiff.ts";
export { toOnnx } from "./core/graph/onnx.ts";

// Feature networks.
export { loadNetwork, NETWORKS } from "./core/network/registry.ts";
export type { NetworkRecord } from "./core/network/network_record.ts";

// Recipes: every choice of a run but the images, as JSON.
export {
  defaultRecipe,
  parseRecipe,
  type Recipe,
  type Settings,
  SETTINGS_SCHEMA,
} from "./core/recipe.ts";

// Running graphs.
export { availableBackends, createSession } from "./core/runtime/backends.ts";
export type { BackendChoice, Session } from "./core/runtime/session.ts";

// Images: planar RGB in [0, 1].
export { type RgbImage, rgbImage } from "./core/image.ts";
