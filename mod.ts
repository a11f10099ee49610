/**
 * stylegram: neural style transfer where every cost term is a plugin written
 * as forward math; the core differentiates it, compiles it to ONNX and runs it
 * on onnxruntime (WebGPU, WebAssembly or native).
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
export * from "./plugins/mod.ts";
