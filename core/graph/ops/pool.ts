/**
 * 2-D max and average pooling (NCHW) with kernel, stride and explicit or
 * TensorFlow-"same" padding.
 *
 * Average pooling's gradient spreads each output gradient evenly over its
 * window (a depthwise transposed convolution with a kernel of ones). Max
 * pooling's gradient sends it to the first arg-max of each window, summing
 * where windows overlap (3×3, stride 2).
 *
 * @module
 */

import {
  apply,
  type EmitContext,
  expect,
  formatShape,
  type OpDef,
  type Shape,
  type Tensor,
} from "../expr.ts";
import { type Padding, type Pair, pair, resolvePadding, windowOutput } from "./window.ts";
import { conv2dTranspose } from "./conv.ts";
import { mul } from "./arithmetic.ts";
import { constant } from "./source.ts";

/** Normalised attributes of a pooling op. */
export interface PoolAttrs {
  /** `[h, w]`. */
  readonly kernel: readonly [number, number];
  /** `[h, w]`. */
  readonly strides: readonly [number, number];
  /** `[top, left, bottom, right]`. */
  readonly pads: readonly [number, number, number, number];
  /** Average pooling only: whether padded zeros count in the mean. */
  readonly countIncludePad: boolean;
}

/** Options of {@linkcode maxPool} and {@linkcode avgPool}. */
export interface PoolOptions {
  /** Window size. */
  kernel: Pair;
  /** Stride (default: the kernel size). */
  stride?: Pair;
  /** Padding (default `"valid"`); `"same"` follows TensorFlow. */
  padding?: Padding;
  /**
   * Average pooling only: count padded positions in the mean (default false,
   * as TensorFlow and Keras do).
   */
  countIncludePad?: boolean;
}

function poolShape([x]: readonly Shape[], a: PoolAttrs): Shape {
  expect(x.length === 4, () => `input must be NCHW (4 axes), got ${formatShape(x)}`);
  expect(
    a.pads.every((p, i) => p < a.kernel[i % 2]),
    () => `padding ${a.pads.join(",")} must be smaller than the kernel ${a.kernel.join("×")}`,
  );
  const out = [0, 1].map((i) =>
    windowOutput(x[2 + i], a.kernel[i], a.strides[i], 1, a.pads[i], a.pads[i + 2])
  );
  expect(
    out[0] >= 1 && out[1] >= 1,
    () => `window ${a.kernel.join("×")} does not fit the input ${x[2]}×${x[3]}`,
  );
  return [x[0], x[1], out[0], out[1]];
}

const onnxAttrs = (a: PoolAttrs) => ({
  kernel_shape: a.kernel,
  strides: a.strides,
  pads: a.pads,
});

/** Rows/columns a transposed window op must add to get back to the input size. */
function outputPadding(x: Shape, y: Shape, a: PoolAttrs): [number, number] {
  return [0, 1].map((i) =>
    x[2 + i] - ((y[2 + i] - 1) * a.strides[i] + a.kernel[i] - a.pads[i] - a.pads[i + 2])
  ) as [number, number];
}

/** For each output position, 1 / (number of real, unpadded inputs in its window). */
function inverseCounts(x: Shape, y: Shape, a: PoolAttrs): Float32Array {
  const [, , h, w] = x;
  const [, , oh, ow] = y;
  const out = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    const r0 = Math.max(i * a.strides[0] - a.pads[0], 0);
    const r1 = Math.min(i * a.strides[0] - a.pads[0] + a.kernel[0], h);
    for (let j = 0; j < ow; j++) {
      const c0 = Math.max(j * a.strides[1] - a.pads[1], 0);
      const c1 = Math.min(j * a.strides[1] - a.pads[1] + a.kernel[1], w);
      out[i * ow + j] = 1 / ((r1 - r0) * (c1 - c0));
    }
  }
  return out;
}

const avgPoolOp: OpDef<PoolAttrs> = {
  name: "avgPool",
  shape: poolShape,
  emit: (ctx, node, [x]) =>
    ctx.node("AveragePool", [x], {
      ...onnxAttrs(node.attrs),
      count_include_pad: node.attrs.countIncludePad ? 1 : 0,
    })[0],
  grad: (dy, node, needed) => {
    if (!needed[0]) return [undefined];
    const a = node.attrs;
    const x = node.inputs[0];
    const channels = x.shape[1];
    const uniform = a.countIncludePad || a.pads.every((p) => p === 0);
    const scaled = uniform ? mul(dy, 1 / (a.kernel[0] * a.kernel[1])) : mul(
      dy,
      constant(inverseCounts(x.shape, node.shape, a), [1, 1, node.shape[2], node.shape[3]]),
    );
    const ones = constant(
      new Float32Array(channels * a.kernel[0] * a.kernel[1]).fill(1),
      [channels, 1, a.kernel[0], a.kernel[1]],
    );
    return [
      conv2dTranspose(scaled, ones, {
        stride: a.strides,
        padding: a.pads,
        groups: channels,
        outputPadding: outputPadding(x.shape, node.shape, a),
      }),
    ];
  },
};

/**
 * The gradient of max pooling, exact on every backend (WebGPU's MaxPool has no
 * indices output). Each image channel is treated as its own batch entry:
 * unfold every window into k = kH·kW channels with a one-hot convolution, take
 * the first arg-max of each window (ties go to the first, as in PyTorch),
 * route `dy` there, and fold back with the transposed convolution of the same
 * one-hot kernel, which also sums overlapping windows. (Batch-as-channels keeps
 * both convolutions ungrouped: onnxruntime's WebGPU ConvTranspose mis-computes
 * groups with one output channel and several inputs each.)
 */
const maxPoolBackwardOp: OpDef<PoolAttrs> = {
  name: "maxPoolBackward",
  shape: ([, x]) => x,
  emit: (ctx, node, [dy, x]) => {
    const a = node.attrs;
    const [n, c, h, w] = node.shape;
    const [, , oh, ow] = node.inputs[0].shape;
    const k = a.kernel[0] * a.kernel[1];
    const [kh, kw] = a.kernel;
    const tiled = a.strides[0] === kh && a.strides[1] === kw && a.pads.every((p) => p === 0) &&
      h === oh * kh && w === ow * kw;
    const onehot = new Float32Array(k * k);
    for (let t = 0; t < k; t++) onehot[t * k + t] = 1;
    const kernel = tiled ? "" : ctx.initializer(onehot, [k, 1, kh, kw], "maxpool_onehot");
    // Non-overlapping windows that tile the input (VGG's 2×2): a window's
    // elements are just a reshape and transpose away.
    const windows = tiled
      ? ctx.node("Reshape", [
        ctx.node("Transpose", [ctx.node("Reshape", [x, ctx.int64([n * c, oh, kh, ow, kw])])[0]], {
          perm: [0, 2, 4, 1, 3],
        })[0],
        ctx.int64([n * c, k, oh, ow]),
      ])[0]
      : unfold(ctx, x, node.shape, a, kernel);
    const hit = firstMaxOneHot(ctx, windows, k);
    const dyPlanes = ctx.node("Reshape", [dy, ctx.int64([n * c, 1, oh, ow])])[0];
    const routed = ctx.node("Mul", [hit, dyPlanes])[0];
    if (tiled) {
      const back = ctx.node("Transpose", [
        ctx.node("Reshape", [routed, ctx.int64([n * c, kh, kw, oh, ow])])[0],
      ], { perm: [0, 3, 1, 4, 2] })[0];
      return ctx.node("Reshape", [back, ctx.int64(node.shape)])[0];
    }
    const folded = ctx.node("ConvTranspose", [routed, kernel], {
      kernel_shape: a.kernel,
      strides: a.strides,
      pads: a.pads,
      output_padding: outputPadding(node.shape, node.inputs[0].shape, a),
    })[0];
    return ctx.node("Reshape", [folded, ctx.int64(node.shape)])[0];
  },
};

/**
 * For windows laid out as k channels, 1 at each window's first maximum and 0
 * elsewhere (ties go to the first, as in PyTorch). Float ops only: ArgMax
 * yields int64, which WebGPU cannot compare or cast, so onnxruntime would run
 * those nodes on the CPU and copy the tensors both ways.
 */
function firstMaxOneHot(ctx: EmitContext, windows: string, k: number): string {
  const peak = ctx.node("ReduceMax", [windows], { axes: [1], keepdims: 1 })[0];
  const ties = ctx.node("Cast", [ctx.node("Equal", [windows, peak])[0]], { to: 1 })[0];
  // Rank each tie by how early it comes (k for the first position, 1 for the
  // last): every window has a tie, and its first one alone has the top rank.
  const rank = ctx.initializer(
    Float32Array.from({ length: k }, (_, t) => k - t),
    [1, k, 1, 1],
    "maxpool_tie_rank",
  );
  const ranked = ctx.node("Mul", [ties, rank])[0];
  const first = ctx.node("ReduceMax", [ranked], { axes: [1], keepdims: 1 })[0];
  return ctx.node("Cast", [ctx.node("Equal", [ranked, first])[0]], { to: 1 })[0];
}

/** Each window of `x` as k = kH·kW channels: `[N·C, k, outH, outW]`. */
function unfold(ctx: EmitContext, x: string, shape: Shape, a: PoolAttrs, kernel: string): string {
  const [n, c, h, w] = shape;
  const planes = ctx.node("Reshape", [x, ctx.int64([n * c, 1, h, w])])[0];
  // Padding must never win the max: pad with a huge negative (finite, so the
  // one-hot products stay exact).
  const padded = a.pads.some((p) => p > 0)
    ? ctx.node("Pad", [
      planes,
      ctx.int64([0, 0, a.pads[0], a.pads[1], 0, 0, a.pads[2], a.pads[3]]),
      ctx.float([-1e30]),
    ], { mode: "constant" })[0]
    : planes;
  return ctx.node("Conv", [padded, kernel], { kernel_shape: a.kernel, strides: a.strides })[0];
}

const maxPoolOp: OpDef<PoolAttrs> = {
  name: "maxPool",
  shape: poolShape,
  emit: (ctx, node, [x]) => ctx.node("MaxPool", [x], onnxAttrs(node.attrs))[0],
  grad: (dy, node, needed) => [
    needed[0] ? apply(maxPoolBackwardOp, [dy, node.inputs[0]], node.attrs) : undefined,
  ],
};

function poolAttrs(x: Tensor, options: PoolOptions, what: string): PoolAttrs {
  const kernel = pair(options.kernel, `${what}: kernel`);
  const strides = pair(options.stride ?? kernel, `${what}: stride`);
  expect(x.rank === 4, () => `${what}: input must be NCHW (4 axes), got ${formatShape(x.shape)}`);
  const pads = resolvePadding(
    options.padding ?? "valid",
    [x.shape[2], x.shape[3]],
    kernel,
    strides,
    [1, 1],
    what,
  );
  return { kernel, strides, pads, countIncludePad: options.countIncludePad ?? false };
}

/** The maximum over each window. Padded positions never win. */
export function maxPool(x: Tensor, options: PoolOptions): Tensor {
  return apply(maxPoolOp, [x], poolAttrs(x, options, "maxPool"));
}

/** The mean over each window (padded positions excluded unless `countIncludePad`). */
export function avgPool(x: Tensor, options: PoolOptions): Tensor {
  return apply(avgPoolOp, [x], poolAttrs(x, options, "avgPool"));
}
