/**
 * 2-D convolution (NCHW, kernels OIHW) and its transpose, with strides,
 * dilations, explicit or TensorFlow-"same" padding, groups (depthwise when
 * groups = channels) and an optional bias.
 *
 * The gradient of a convolution with respect to its input is the transposed
 * convolution with the *same* kernel tensor, so the backward pass reuses the
 * forward's initializer instead of storing a flipped copy.
 *
 * @module
 */

import {
  apply,
  expect,
  formatShape,
  type OpDef,
  type Shape,
  type Tensor,
  UnsupportedError,
} from "../expr.ts";
import { type Padding, type Pair, pair, resolvePadding, windowOutput } from "./window.ts";
import { reduceSum } from "./reduce.ts";
import { reshape, reverse, slice, transpose } from "./layout.ts";

/** Normalised attributes of a convolution or transposed convolution. */
export interface ConvAttrs {
  /** `[h, w]`. */
  readonly strides: readonly [number, number];
  /** `[top, left, bottom, right]`. */
  readonly pads: readonly [number, number, number, number];
  /** `[h, w]`. */
  readonly dilations: readonly [number, number];
  /** Channel groups (1 = dense, channels = depthwise). */
  readonly groups: number;
  /** Extra rows/columns after the output of a transposed convolution. */
  readonly outputPadding: readonly [number, number];
}

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Per-output-channel bias, shape `[outChannels]`. */
  bias?: Tensor;
  /** Stride (default 1). */
  stride?: Pair;
  /** Padding (default `"valid"`); `"same"` follows TensorFlow. */
  padding?: Padding;
  /** Dilation (default 1). */
  dilation?: Pair;
  /** Channel groups (default 1; input channels for depthwise). */
  groups?: number;
}

/** Options of {@linkcode conv2dTranspose}. */
export interface Conv2dTransposeOptions {
  /** Per-output-channel bias, shape `[outChannels]`. */
  bias?: Tensor;
  /** Stride (default 1). */
  stride?: Pair;
  /** Padding removed from the output (default 0): a number, `[v, h]` or `[t, l, b, r]`. */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
  /** Dilation (default 1). */
  dilation?: Pair;
  /** Channel groups (default 1). */
  groups?: number;
  /** Extra size added after the output (default 0, must be below the stride). */
  outputPadding?: number | readonly [number, number];
}

function checkBias(inputs: readonly Shape[], channels: number): void {
  if (inputs.length === 3) {
    expect(
      inputs[2].length === 1 && inputs[2][0] === channels,
      () => `bias has shape ${formatShape(inputs[2])}, expected [${channels}]`,
    );
  }
}

function checkGroups(groups: number, what: string, channels: number): void {
  expect(
    Number.isInteger(groups) && groups >= 1 && channels % groups === 0,
    () => `groups ${groups} must be a positive divisor of the ${what} channels (${channels})`,
  );
}

const onnxAttrs = (a: ConvAttrs, kernel: Shape) => ({
  kernel_shape: kernel.slice(2),
  strides: a.strides,
  pads: a.pads,
  dilations: a.dilations,
  group: a.groups,
});

const biasGrad = (dy: Tensor) => reduceSum(dy, { axes: [0, 2, 3] });

/**
 * ∂cost/∂x of a convolution. With stride 1 it is itself a convolution, of `dy`
 * by the kernel with input/output channels swapped (per group) and flipped
 * spatially; onnxruntime runs that much faster than a transposed convolution
 * (its Conv has blocked-layout kernels), and constant-folds the flip of a
 * constant kernel once at load, so the model still stores the kernel once.
 * Strided convolutions use the transposed convolution with the same kernel.
 */
function inputGradient(dy: Tensor, x: Tensor, w: Tensor, node: Tensor<ConvAttrs>): Tensor {
  const a = node.attrs;
  const [m, cg, kh, kw] = w.shape;
  const reach = [(kh - 1) * a.dilations[0], (kw - 1) * a.dilations[1]];
  const pads = [0, 1, 2, 3].map((i) => reach[i % 2] - a.pads[i]);
  if (a.strides[0] === 1 && a.strides[1] === 1 && pads.every((p) => p >= 0)) {
    const g = a.groups;
    const swapped = reshape(
      transpose(reshape(w, [g, m / g, cg, kh, kw]), [0, 2, 1, 3, 4]),
      [g * cg, m / g, kh, kw],
    );
    return conv2d(dy, reverse(swapped, [2, 3]), {
      padding: pads as [number, number, number, number],
      dilation: a.dilations,
      groups: g,
    });
  }
  return conv2dTranspose(dy, w, {
    stride: a.strides,
    padding: a.pads,
    dilation: a.dilations,
    groups: a.groups,
    // The rows/columns the forward's floor division dropped.
    outputPadding: [0, 1].map((i) =>
      x.shape[2 + i] -
      ((node.shape[2 + i] - 1) * a.strides[i] + (w.shape[2 + i] - 1) * a.dilations[i] + 1 -
        a.pads[i] - a.pads[i + 2])
    ) as [number, number],
  });
}

const conv2dOp: OpDef<ConvAttrs> = {
  name: "conv2d",
  shape: (inputs, a) => {
    const [x, w] = inputs;
    expect(x.length === 4, () => `input must be NCHW (4 axes), got ${formatShape(x)}`);
    expect(w.length === 4, () => `kernel must be OIHW (4 axes), got ${formatShape(w)}`);
    checkGroups(a.groups, "output", w[0]);
    expect(
      x[1] === w[1] * a.groups,
      () =>
        `input has ${x[1]} channels but the kernel ${formatShape(w)} with ${a.groups} group(s) ` +
        `expects ${w[1] * a.groups}`,
    );
    checkBias(inputs, w[0]);
    const out = [0, 1].map((i) =>
      windowOutput(x[2 + i], w[2 + i], a.strides[i], a.dilations[i], a.pads[i], a.pads[i + 2])
    );
    expect(
      out[0] >= 1 && out[1] >= 1,
      () =>
        `kernel ${w[2]}×${w[3]} (dilation ${a.dilations.join("×")}) does not fit the padded ` +
        `input ${x[2]}×${x[3]} (pads ${a.pads.join(",")})`,
    );
    return [x[0], w[0], out[0], out[1]];
  },
  emit: (ctx, node, inputs) =>
    ctx.node("Conv", inputs, onnxAttrs(node.attrs, node.inputs[1].shape))[0],
  grad: (dy, node, needed) => {
    const [x, w] = node.inputs;
    const a = node.attrs;
    const dx = needed[0] ? inputGradient(dy, x, w, node) : undefined;
    let dw: Tensor | undefined;
    if (needed[1]) {
      if (a.groups !== 1) {
        throw new UnsupportedError(
          `conv2d: the gradient with respect to a grouped kernel is not supported ` +
            `(groups ${a.groups}); make the kernel a constant`,
        );
      }
      // dW[m,c,i,j] = Σ dy[n,m,p,q]·x[n,c,p·s+i·d,q·s+j·d]: a convolution of x
      // (batch ↔ channels swapped) by dy, with stride and dilation swapped.
      const swap = [1, 0, 2, 3];
      const full = conv2d(transpose(x, swap), transpose(dy, swap), {
        stride: a.dilations,
        dilation: a.strides,
        padding: a.pads,
      });
      dw = transpose(
        slice(full, { starts: [0, 0], ends: [w.shape[2], w.shape[3]], axes: [2, 3] }),
        swap,
      );
    }
    return [dx, dw, needed[2] ? biasGrad(dy) : undefined];
  },
};

const conv2dTransposeOp: OpDef<ConvAttrs> = {
  name: "conv2dTranspose",
  shape: (inputs, a) => {
    const [x, w] = inputs;
    expect(x.length === 4, () => `input must be NCHW (4 axes), got ${formatShape(x)}`);
    expect(w.length === 4, () => `kernel must be [in, out/groups, h, w], got ${formatShape(w)}`);
    expect(
      x[1] === w[0],
      () => `input has ${x[1]} channels but the kernel ${formatShape(w)} expects ${w[0]}`,
    );
    checkGroups(a.groups, "input", w[0]);
    checkBias(inputs, w[1] * a.groups);
    expect(
      a.outputPadding.every((p, i) => p < Math.max(a.strides[i], a.dilations[i])),
      () => `outputPadding ${a.outputPadding.join("×")} must be below the stride or dilation`,
    );
    const out = [0, 1].map((i) =>
      (x[2 + i] - 1) * a.strides[i] + (w[2 + i] - 1) * a.dilations[i] + 1 - a.pads[i] -
      a.pads[i + 2] + a.outputPadding[i]
    );
    expect(out[0] >= 1 && out[1] >= 1, () => `the output would be empty (pads too large)`);
    return [x[0], w[1] * a.groups, out[0], out[1]];
  },
  emit: (ctx, node, inputs) =>
    ctx.node("ConvTranspose", inputs, {
      ...onnxAttrs(node.attrs, node.inputs[1].shape),
      output_padding: node.attrs.outputPadding,
    })[0],
  grad: (dy, node, needed) => {
    const a = node.attrs;
    if (needed[1]) {
      throw new UnsupportedError(
        "conv2dTranspose: the gradient with respect to the kernel is not supported; " +
          "make the kernel a constant",
      );
    }
    const dx = needed[0]
      ? conv2d(dy, node.inputs[1], {
        stride: a.strides,
        padding: a.pads,
        dilation: a.dilations,
        groups: a.groups,
      })
      : undefined;
    return [dx, undefined, needed[2] ? biasGrad(dy) : undefined];
  },
};

function convInputs(x: Tensor, w: Tensor, bias?: Tensor): Tensor[] {
  return bias ? [x, w, bias] : [x, w];
}

/**
 * 2-D convolution of `x` (`[N, C, H, W]`) by `kernel` (`[M, C/groups, kH, kW]`).
 *
 * @example
 * ```ts
 * import { constant, conv2d, input } from "../../../mod.ts";
 * const x = input("image", [1, 3, 32, 32]);
 * const k = constant(new Float32Array(8 * 3 * 3 * 3).fill(0.1), [8, 3, 3, 3]);
 * const y = conv2d(x, k, { padding: "same", stride: 2 }); // [1, 8, 16, 16]
 * ```
 */
export function conv2d(x: Tensor, kernel: Tensor, options: Conv2dOptions = {}): Tensor {
  const strides = pair(options.stride ?? 1, "conv2d: stride");
  const dilations = pair(options.dilation ?? 1, "conv2d: dilation");
  expect(
    x.rank === 4 && kernel.rank === 4,
    () =>
      `conv2d: input ${formatShape(x.shape)} and kernel ${formatShape(kernel.shape)} must both ` +
      `have 4 axes (NCHW and OIHW)`,
  );
  const pads = resolvePadding(
    options.padding ?? "valid",
    [x.shape[2], x.shape[3]],
    [kernel.shape[2], kernel.shape[3]],
    strides,
    dilations,
    "conv2d",
  );
  return apply(conv2dOp, convInputs(x, kernel, options.bias), {
    strides,
    pads,
    dilations,
    groups: options.groups ?? 1,
    outputPadding: [0, 0],
  });
}

/**
 * Transposed 2-D convolution (the adjoint of {@linkcode conv2d}): `x`
 * `[N, C, H, W]`, `kernel` `[C, M/groups, kH, kW]`.
 */
export function conv2dTranspose(
  x: Tensor,
  kernel: Tensor,
  options: Conv2dTransposeOptions = {},
): Tensor {
  const strides = pair(options.stride ?? 1, "conv2dTranspose: stride");
  const dilations = pair(options.dilation ?? 1, "conv2dTranspose: dilation");
  const op = options.outputPadding ?? 0;
  const outputPadding: [number, number] = typeof op === "number" ? [op, op] : [op[0], op[1]];
  expect(
    outputPadding.every((p) => Number.isInteger(p) && p >= 0),
    () => `conv2dTranspose: outputPadding ${JSON.stringify(op)} must be integers ≥ 0`,
  );
  const pads = resolvePadding(
    options.padding ?? 0,
    [0, 0],
    [1, 1],
    strides,
    dilations,
    "conv2dTranspose",
  );
  return apply(conv2dTransposeOp, convInputs(x, kernel, options.bias), {
    strides,
    pads,
    dilations,
    groups: options.groups ?? 1,
    outputPadding,
  });
}
