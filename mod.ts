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

export * from "./core/mod.ts";
// The built-in cost plugins, written with the same API as a user's.
export {
  BUILTIN_PLUGINS,
  content,
  gramMatrix,
  meanCovariance,
  style,
  temporal,
  tv,
} from "./plugins/mod.ts";
