/**
 * Inference-time batch normalisation, folded at build time: either into a
 * per-channel scale and shift, or straight into the preceding convolution's
 * kernel and bias (no extra node at all).
 *
 * @module
 */

import { ShapeError, type Tensor } from "../expr.ts";
import { add, mul } from "./arithmetic.ts";
import { constant } from "./source.ts";

/** Frozen batch-norm statistics and parameters, one value per channel. */
export interface BatchNormParams {
  /** Running mean. */
  mean: Float32Array;
  /** Running variance. */
  variance: Float32Array;
  /** γ (default 1 everywhere, as in Keras' `scale=False`). */
  scale?: Float32Array;
  /** β (default 0). */
  offset?: Float32Array;
  /** Added to the variance (Keras default 1e-3). */
  epsilon: number;
}

/** Per-channel `[multiplier, shift]` with `bn(x) = x·multiplier + shift`. */
export function batchNormAffine(bn: BatchNormParams): [Float32Array, Float32Array] {
  const n = bn.mean.length;
  for (
    const [key, v] of Object.entries({ variance: bn.variance, scale: bn.scale, offset: bn.offset })
  ) {
    if (v && v.length !== n) {
      throw new ShapeError(`batchNorm: ${key} has ${v.length} values, mean has ${n}`);
    }
  }
  const multiplier = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    // Folded in float64, rounded once.
    const m = (bn.scale?.[c] ?? 1) / Math.sqrt(bn.variance[c] + bn.epsilon);
    multiplier[c] = m;
    shift[c] = (bn.offset?.[c] ?? 0) - bn.mean[c] * m;
  }
  return [multiplier, shift];
}

/**
 * Batch normalisation of NCHW `x` as one multiply and one add with per-channel
 * constants.
 */
export function batchNorm(x: Tensor, params: BatchNormParams): Tensor {
  const [multiplier, shift] = batchNormAffine(params);
  if (x.rank !== 4 || x.shape[1] !== multiplier.length) {
    throw new ShapeError(
      `batchNorm: input [${x.shape.join(",")}] must be NCHW with ${multiplier.length} channels`,
    );
  }
  const perChannel = [1, multiplier.length, 1, 1];
  return add(mul(x, constant(multiplier, perChannel)), constant(shift, perChannel));
}

/**
 * Folds batch normalisation into a convolution's OIHW kernel and bias:
 * `bn(conv(x, W) + b) = conv(x, W') + b'`. Returns new arrays.
 */
export function foldBatchNorm(
  kernel: Float32Array,
  bias: Float32Array | undefined,
  params: BatchNormParams,
): { kernel: Float32Array; bias: Float32Array } {
  const [multiplier, shift] = batchNormAffine(params);
  const out = multiplier.length;
  if (kernel.length % out !== 0) {
    throw new ShapeError(
      `foldBatchNorm: a kernel of ${kernel.length} values cannot have ${out} output channels`,
    );
  }
  const per = kernel.length / out;
  const folded = new Float32Array(kernel.length);
  const newBias = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < per; i++) folded[o * per + i] = kernel[o * per + i] * multiplier[o];
    newBias[o] = (bias?.[o] ?? 0) * multiplier[o] + shift[o];
  }
  return { kernel: folded, bias: newBias };
}
