/**
 * The autodiff and the ONNX emitter: what gets emitted (only what the outputs
 * need, weights once, no weight gradients), and what the gradients are.
 */

import onnxProto from "onnx-proto";
import {
  add,
  constant,
  conv2d,
  createSession,
  grad,
  input,
  matmul,
  mul,
  pow,
  reduceSum,
  relu,
  square,
  toOnnx,
  transpose,
} from "../mod.ts";
import { UnsupportedError } from "../core/graph/expr.ts";
import { maxPool } from "../core/graph/ops/pool.ts";
import { uniform } from "../core/random.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./support/assert.ts";

const decode = (model: Uint8Array) => onnxProto.onnx.ModelProto.decode(model).graph!;

Deno.test("only what the outputs need is emitted", () => {
  const x = input("x", [1, 2, 6, 6]);
  const used = constant(uniform(3 * 2 * 9, 1), [3, 2, 3, 3], { name: "used_kernel" });
  const unused = constant(uniform(3 * 2 * 9, 2), [3, 2, 3, 3], { name: "unused_kernel" });
  const a = relu(conv2d(x, used));
  conv2d(x, unused); // a dead branch: built, never asked for
  const cost = reduceSum(square(a));
  const [dx] = grad(cost, [x]);
  const g = decode(toOnnx({ cost, dx }).model);
  const initializers = g.initializer!.map((i) => i.name);
  assert(initializers.includes("used_kernel"), "the used kernel is stored");
  assert(!initializers.includes("unused_kernel"), "the dead branch's kernel is not stored");
  // One forward Conv and one Conv for ∂/∂x: nothing computes ∂/∂kernel.
  assertEquals(g.node!.filter((n) => n.opType === "Conv").length, 2);
  assertEquals(g.node!.filter((n) => n.opType === "ConvTranspose").length, 0);
});

Deno.test("a Gram matrix's gradient is one product, (dG + dGᵀ)·F", () => {
  const f = input("f", [4, 30]);
  const target = constant(uniform(16, 4), [4, 4]);
  const cost = reduceSum(mul(matmul(f, transpose(f)), target));
  const [df] = grad(cost, [f]);
  const g = decode(toOnnx({ cost, df }).model);
  assertEquals(g.node!.filter((n) => n.opType === "MatMul").length, 2, "forward and one backward");
  // Only the forward's transpose of F and the backward's 4×4 dGᵀ.
  assertEquals(g.node!.filter((n) => n.opType === "Transpose").length, 2);
});

Deno.test("a kernel is stored once and read by both the forward and the backward", () => {
  const x = input("x", [1, 3, 8, 8]);
  const data = uniform(4 * 3 * 9, 3);
  const k = constant(data, [4, 3, 3, 3], { name: "k" });
  // The same array in a second constant is still one initializer.
  const k2 = constant(data, [4, 3, 3, 3]);
  const cost = reduceSum(square(add(conv2d(x, k, { stride: 2 }), conv2d(x, k2, { stride: 2 }))));
  const [dx] = grad(cost, [x]);
  const graph = toOnnx({ cost, dx });
  const g = decode(graph.model);
  const big = g.initializer!.filter((i) => (i.rawData?.length ?? 0) >= data.byteLength);
  assertEquals(big.map((i) => i.name), ["k"]);
  const readers = g.node!.filter((n) => n.input!.includes("k")).map((n) => n.opType).sort();
  // Both forward Convs and both strided backward ConvTransposes read "k" itself.
  assertEquals(readers, ["Conv", "Conv", "ConvTranspose", "ConvTranspose"]);
  assert(graph.model.byteLength < data.byteLength + 4096, "the model holds the kernel once");
});

Deno.test("stride-1 backward flips the stored kernel in the graph instead of copying it", () => {
  const x = input("x", [1, 3, 8, 8]);
  const data = uniform(4 * 3 * 9, 4);
  const k = constant(data, [4, 3, 3, 3], { name: "k" });
  const cost = reduceSum(square(conv2d(x, k, { padding: "same" })));
  const [dx] = grad(cost, [x]);
  const g = decode(toOnnx({ cost, dx }).model);
  assertEquals(g.initializer!.filter((i) => (i.rawData?.length ?? 0) >= data.byteLength).length, 1);
  assertEquals(g.node!.filter((n) => n.input!.includes("k")).length, 2);
});

Deno.test("gradients of a tensor used twice are summed", async () => {
  const x = input("x", [4]);
  const cost = reduceSum(add(mul(x, x), mul(x, 3))); // d/dx = 2x + 3
  const [dx] = grad(cost, [x]);
  const s = await createSession(toOnnx({ dx }), { backend: "wasm" });
  const out = await s.run({ x: new Float32Array([0, 1, -2, 0.5]) });
  assertEquals([...out.dx], [3, 5, -1, 4]);
});

Deno.test("second derivatives come from differentiating the gradient", async () => {
  const x = input("x", [3]);
  const [dx] = grad(reduceSum(pow(x, 3)), [x]); // 3x²
  const [ddx] = grad(reduceSum(dx), [x]); // 6x
  const s = await createSession(toOnnx({ dx, ddx }), { backend: "wasm" });
  const out = await s.run({ x: new Float32Array([1, 2, -1]) });
  [3, 12, 3].forEach((v, i) => assertAlmostEquals(out.dx[i], v, 1e-5));
  [6, 12, -6].forEach((v, i) => assertAlmostEquals(out.ddx[i], v, 1e-5));
});

Deno.test("a tensor the cost does not depend on gets a zero gradient", async () => {
  const x = input("x", [2]);
  const y = input("y", [3]);
  const [, dy] = grad(reduceSum(square(x)), [x, y]);
  const s = await createSession(toOnnx({ dy }), { backend: "wasm" });
  assertEquals([...(await s.run({})).dy], [0, 0, 0]);
});

Deno.test("grad needs a scalar cost", () => {
  const x = input("x", [2, 2]);
  assertThrows(() => grad(square(x), [x]), "grad: the cost must be a scalar");
});

Deno.test("differentiating through an op without a gradient rule says which op", () => {
  const x = input("x", [1, 1, 4, 4]);
  const [dx] = grad(reduceSum(maxPool(x, { kernel: 2 })), [x]);
  const e = assertThrows(
    () => grad(reduceSum(dx), [x]),
    'cannot differentiate through "maxPoolBackward"',
  );
  assert(e instanceof UnsupportedError);
});

Deno.test("gradients with respect to unsupported kernels are refused clearly", () => {
  const x = constant(uniform(4 * 5 * 5, 1), [1, 4, 5, 5]);
  const w = input("w", [4, 2, 3, 3]);
  assertThrows(
    () => grad(reduceSum(conv2d(x, w, { groups: 2 })), [w]),
    "conv2d: the gradient with respect to a grouped kernel is not supported",
  );
});
