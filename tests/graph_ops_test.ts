/**
 * Every op: forward values against the float64 reference and gradients against
 * central finite differences, run through ONNX on each backend.
 */

import "./support/gpu_env.ts";
import {
  abs,
  add,
  addN,
  avgPool,
  concat,
  constant,
  conv2d,
  createSession,
  div,
  exp,
  log,
  matmul,
  mul,
  neg,
  pow,
  reduceMean,
  reduceSum,
  relu,
  reshape,
  sigmoid,
  slice,
  softmax,
  sqrt,
  square,
  sub,
  tanh,
  toOnnx,
  transpose,
} from "../mod.ts";
import { conv2dTranspose } from "../core/graph/ops/conv.ts";
import { broadcastTo, padConstant, padReflect, reverse } from "../core/graph/ops/layout.ts";
import { maxPool } from "../core/graph/ops/pool.ts";
import { uniform } from "../core/random.ts";
import type { BackendName } from "../core/runtime/session.ts";
import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";
import { assertEquals } from "./support/assert.ts";
import { MAX_POOL_TIE_CASES, tieGradient } from "./support/max_pool_ties.ts";
import { assertGradientsMatch, checkGradients, type GradCase } from "./support/gradcheck.ts";

const positive = (shape: number[]) => ({ shape, lo: 0.5, hi: 2 });
const kernel = (shape: number[], seed: number) =>
  constant(uniform(shape.reduce((a, b) => a * b), seed), shape);

const cases: Record<string, GradCase> = {
  // element-wise binary, with broadcasting both ways
  "add (broadcast)": { inputs: { a: [2, 3, 4], b: [3, 1] }, build: ({ a, b }) => add(a, b) },
  "sub (broadcast)": { inputs: { a: [3, 1], b: [2, 3, 4] }, build: ({ a, b }) => sub(a, b) },
  "mul (broadcast)": { inputs: { a: [2, 1, 4], b: [3, 1] }, build: ({ a, b }) => mul(a, b) },
  "div (broadcast)": {
    inputs: { a: [2, 3, 4], b: positive([4]) },
    build: ({ a, b }) => div(a, b),
  },
  "mul by a scalar": { inputs: { a: [5] }, build: ({ a }) => mul(3, a) },
  "addN": { inputs: { a: [2, 3], b: [2, 3] }, build: ({ a, b }) => addN([a, b, a]) },
  "addN of five terms": {
    inputs: { a: [4], b: [4], c: [4] },
    build: ({ a, b, c }) => addN([a, b, c, mul(a, b), c]),
  },
  // element-wise unary
  "neg": { inputs: { x: [7] }, build: ({ x }) => neg(x) },
  "square": { inputs: { x: [7] }, build: ({ x }) => square(x) },
  "sqrt": { inputs: { x: positive([7]) }, build: ({ x }) => sqrt(x) },
  "abs": { inputs: { x: [7] }, build: ({ x }) => abs(x) },
  "exp": { inputs: { x: [7] }, build: ({ x }) => exp(x) },
  "log": { inputs: { x: positive([7]) }, build: ({ x }) => log(x) },
  "relu": { inputs: { x: [2, 9] }, build: ({ x }) => relu(x) },
  "sigmoid": { inputs: { x: [7] }, build: ({ x }) => sigmoid(x) },
  "tanh": { inputs: { x: [7] }, build: ({ x }) => tanh(x) },
  "pow 3": { inputs: { x: [7] }, build: ({ x }) => pow(x, 3) },
  "pow 0.5": { inputs: { x: positive([7]) }, build: ({ x }) => pow(x, 0.5) },
  "pow 2 and 1": { inputs: { x: [7] }, build: ({ x }) => add(pow(x, 2), pow(x, 1)) },
  // reductions
  "reduceSum axis 1 keepDims": {
    inputs: { x: [2, 3, 4] },
    build: ({ x }) => reduceSum(x, { axes: [1], keepDims: true }),
  },
  "reduceSum all": { inputs: { x: [2, 3, 4] }, build: ({ x }) => reduceSum(x) },
  "reduceMean axes 0, -1": {
    inputs: { x: [2, 3, 4] },
    build: ({ x }) => reduceMean(x, { axes: [0, -1] }),
  },
  // layout
  "reshape": { inputs: { x: [2, 3, 4] }, build: ({ x }) => reshape(x, [4, -1]) },
  "transpose": { inputs: { x: [2, 3, 4] }, build: ({ x }) => transpose(x, [2, 0, 1]) },
  "slice": {
    inputs: { x: [4, 6] },
    build: ({ x }) => slice(x, { starts: [1, -5], ends: [3, 100] }),
  },
  "slice with steps": {
    inputs: { x: [5, 7, 3] },
    build: ({ x }) => slice(x, { starts: [0, 1], ends: [5, 7], axes: [0, 1], steps: [2, 3] }),
  },
  "pad": {
    inputs: { x: [2, 3] },
    build: ({ x }) => padConstant(x, { before: [1, 0], after: [2, 3], value: 0.5 }),
  },
  "reverse": { inputs: { x: [2, 3, 4] }, build: ({ x }) => reverse(x, [0, 2]) },
  "padReflect": { inputs: { x: [1, 2, 4, 5] }, build: ({ x }) => padReflect(x, 2) },
  "concat": {
    inputs: { a: [2, 1, 3], b: [2, 4, 3], c: [2, 2, 3] },
    build: ({ a, b, c }) => concat([a, b, c], 1),
  },
  "broadcastTo": { inputs: { x: [3, 1] }, build: ({ x }) => broadcastTo(x, [2, 3, 4]) },
  // matrix products and softmax
  "matmul": { inputs: { a: [3, 4], b: [4, 5] }, build: ({ a, b }) => matmul(a, b) },
  "matmul (batch broadcast)": {
    inputs: { a: [2, 3, 4], b: [4, 5] },
    build: ({ a, b }) => matmul(a, b),
  },
  "gram matrix F·Fᵀ": {
    inputs: { f: [1, 3, 4, 5] },
    build: ({ f }) => {
      const m = reshape(f, [3, 20]);
      return matmul(m, transpose(m));
    },
  },
  "batched gram matrix with its transpose used again": {
    inputs: { f: [2, 3, 4] },
    build: ({ f }) => {
      const t = transpose(f, [0, 2, 1]);
      return add(matmul(f, t), mul(reduceSum(square(t)), 0.5));
    },
  },
  "matmul of a tensor with another permutation of itself": {
    inputs: { x: [3, 3, 3] },
    build: ({ x }) => matmul(x, transpose(x, [2, 1, 0])),
  },
  "softmax last axis": { inputs: { x: [3, 5] }, build: ({ x }) => softmax(x) },
  "softmax axis 1": { inputs: { x: [2, 4, 3] }, build: ({ x }) => softmax(x, 1) },
  // convolutions
  "conv2d valid 3×3 with bias": {
    inputs: { x: [1, 3, 6, 6], b: [4] },
    build: ({ x, b }) => conv2d(x, kernel([4, 3, 3, 3], 5), { bias: b }),
  },
  "conv2d stride 2, same padding (odd input)": {
    inputs: { x: [2, 3, 7, 7] },
    build: ({ x }) => conv2d(x, kernel([4, 3, 3, 3], 6), { stride: 2, padding: "same" }),
  },
  "conv2d stride 2, same padding, even input, 2×2 kernel": {
    inputs: { x: [1, 2, 6, 6] },
    build: ({ x }) => conv2d(x, kernel([3, 2, 2, 2], 7), { stride: 2, padding: "same" }),
  },
  "conv2d stride 2 valid (dropped rows)": {
    inputs: { x: [1, 2, 8, 7] },
    build: ({ x }) => conv2d(x, kernel([3, 2, 3, 3], 8), { stride: 2 }),
  },
  "conv2d dilation 2, asymmetric pads": {
    inputs: { x: [1, 2, 7, 6] },
    build: ({ x }) => conv2d(x, kernel([3, 2, 3, 2], 9), { dilation: 2, padding: [2, 0, 1, 1] }),
  },
  "conv2d same padding 1×7 (Inception)": {
    inputs: { x: [1, 2, 5, 9] },
    build: ({ x }) => conv2d(x, kernel([3, 2, 1, 7], 10), { padding: "same" }),
  },
  "conv2d groups 2": {
    inputs: { x: [1, 4, 5, 5] },
    build: ({ x }) => conv2d(x, kernel([6, 2, 3, 3], 11), { groups: 2, padding: 1 }),
  },
  "conv2d depthwise stride 2": {
    inputs: { x: [1, 3, 7, 7] },
    build: ({ x }) =>
      conv2d(x, kernel([3, 1, 3, 3], 12), { groups: 3, stride: 2, padding: "same" }),
  },
  "conv2d kernel gradient (stride 2, dilation 2)": {
    inputs: { x: [2, 2, 9, 8], w: [3, 2, 2, 2] },
    build: ({ x, w }) => conv2d(x, w, { stride: 2, dilation: 2, padding: [1, 0, 0, 1] }),
  },
  "conv2dTranspose stride 2, pads, outputPadding, bias": {
    inputs: { x: [1, 3, 4, 3], b: [2] },
    build: ({ x, b }) =>
      conv2dTranspose(x, kernel([3, 2, 3, 3], 13), {
        stride: 2,
        padding: [1, 0, 1, 1],
        outputPadding: 1,
        bias: b,
      }),
  },
  "conv2dTranspose groups 2": {
    inputs: { x: [1, 4, 3, 3] },
    build: ({ x }) => conv2dTranspose(x, kernel([4, 3, 2, 2], 14), { stride: 2, groups: 2 }),
  },
  // pooling
  "maxPool 3×3 stride 2 (overlapping), batch 2": {
    inputs: { x: [2, 2, 7, 7] },
    build: ({ x }) => maxPool(x, { kernel: 3, stride: 2 }),
  },
  "maxPool 3×3 stride 2 same padding": {
    inputs: { x: [1, 2, 6, 6] },
    build: ({ x }) => maxPool(x, { kernel: 3, stride: 2, padding: "same" }),
  },
  "maxPool 3×3 stride 1 same padding, negative inputs": {
    inputs: { x: { shape: [1, 2, 5, 5], lo: -3, hi: -1 } },
    build: ({ x }) => maxPool(x, { kernel: 3, stride: 1, padding: "same" }),
  },
  "maxPool 2×2 tiling": {
    inputs: { x: [2, 3, 4, 6] },
    build: ({ x }) => maxPool(x, { kernel: 2 }),
  },
  "maxPool 2×2 with a dropped row": {
    inputs: { x: [1, 2, 5, 4] },
    build: ({ x }) => maxPool(x, { kernel: 2 }),
  },
  "avgPool 2×2": { inputs: { x: [1, 3, 4, 6] }, build: ({ x }) => avgPool(x, { kernel: 2 }) },
  "avgPool 3×3 stride 1 same (count excludes padding)": {
    inputs: { x: [1, 2, 5, 6] },
    build: ({ x }) => avgPool(x, { kernel: 3, stride: 1, padding: "same" }),
  },
  "avgPool 3×3 stride 2 pads 1, count includes padding": {
    inputs: { x: [1, 2, 7, 6] },
    build: ({ x }) => avgPool(x, { kernel: 3, stride: 2, padding: 1, countIncludePad: true }),
  },
  // ops composed: one cost through several ops reaching one input twice
  "shared input through two branches": {
    inputs: { x: [1, 2, 6, 6] },
    build: ({ x }) => {
      const a = relu(conv2d(x, kernel([3, 2, 3, 3], 15), { padding: 1 }));
      const b = avgPool(x, { kernel: 2 });
      return add(reduceSum(square(a)), reduceSum(mul(b, b)));
    },
  },
};

// Every case on wasm; native and webgpu too, so a backend's kernel bug shows
// up here by op name.
const adapter = await findWebGpuAdapter();
const backends: BackendName[] = ["wasm", "native", ...(adapter ? ["webgpu" as const] : [])];
if (!adapter) console.log("op gradients on webgpu skipped: no WebGPU adapter here");

for (const [name, c] of Object.entries(cases)) {
  for (const backend of backends) {
    Deno.test(`${backend}: gradient of ${name} matches finite differences`, async () => {
      assertGradientsMatch(`${backend}: ${name}`, await checkGradients(c, { backend }));
    });
  }
}

// Ties, where finite differences cannot help: see support/max_pool_ties.ts.
for (const backend of backends) {
  for (const c of MAX_POOL_TIE_CASES) {
    Deno.test(`${backend}: max-pool gradient at ties (${c.name}) goes to the first maximum`, async () => {
      const { pooled, dx } = tieGradient(c);
      const session = await createSession(toOnnx({ pooled, dx }), { backend });
      try {
        const out = await session.run({ x: Float32Array.from(c.x) });
        assertEquals(Array.from(out.pooled), c.pooled);
        assertEquals(Array.from(out.dx), c.dx);
      } finally {
        await session.release();
      }
    });
  }
}
