/**
 * Max-pool gradients at ties, where finite differences cannot help (the max
 * is not differentiable there): the first maximum of each window in
 * row-major order takes the gradient, as in PyTorch. Checked on the plain-loop
 * reference (reference_test.ts) and through ONNX on every backend
 * (graph_ops_test.ts).
 *
 * @module
 */

import { constant, grad, input, mul, reduceSum, type Tensor } from "../../mod.ts";
import { maxPool, type PoolOptions } from "../../core/graph/ops/pool.ts";

/** One case: `x` pooled, weighted by `weights`, summed; its gradient is `dx`. */
export interface MaxPoolTieCase {
  name: string;
  shape: [number, number, number, number];
  pool: PoolOptions;
  /** One weight per pooled value. */
  weights: number[];
  x: number[];
  /** The pooled values. */
  pooled: number[];
  dx: number[];
}

/** The cases. */
export const MAX_POOL_TIE_CASES: readonly MaxPoolTieCase[] = [
  {
    name: "overlapping 2×3 windows, stride [1, 2]",
    shape: [1, 3, 2, 5],
    pool: { kernel: [2, 3], stride: [1, 2] }, // pooled: [1, 3, 1, 2]
    weights: [10, 100, 10, 100, 10, 100],
    x: [
      // The first window's 5s are at columns 1 and 2 of row 0, the second
      // window's at column 2 of row 0 and column 4 of row 1. The first in
      // row-major order wins: column 1, then column 2 (shared).
      ...[1, 5, 5, 2, 0],
      ...[0, 0, 0, 0, 5],
      // Both windows share their maximum at column 2: the gradients add up.
      ...[1, 2, 9, 3, 4],
      ...[0, 0, 0, 0, 0],
      // All equal: each window's first position (top-left) wins.
      ...[7, 7, 7, 7, 7],
      ...[7, 7, 7, 7, 7],
    ],
    pooled: [5, 5, 9, 9, 7, 7],
    dx: [
      ...[0, 10, 100, 0, 0],
      ...[0, 0, 0, 0, 0],
      ...[0, 0, 110, 0, 0],
      ...[0, 0, 0, 0, 0],
      ...[10, 0, 100, 0, 0],
      ...[0, 0, 0, 0, 0],
    ],
  },
  {
    name: "2×2 windows that tile the input",
    shape: [1, 1, 2, 4],
    pool: { kernel: 2 },
    weights: [10, 100],
    // Left window all equal: its top-left wins. Right window: the 5s at the
    // top-right and bottom-left tie; the top row comes first.
    x: [...[3, 3, 1, 5], ...[3, 3, 5, 2]],
    pooled: [3, 5],
    dx: [...[10, 0, 0, 100], ...[0, 0, 0, 0]],
  },
];

/** The case's input `x`, its pooling and the gradient expression `dx` (a maxPoolBackward). */
export function tieGradient(c: MaxPoolTieCase): { x: Tensor; pooled: Tensor; dx: Tensor } {
  const x = input("x", c.shape);
  const pooled = maxPool(x, c.pool);
  const [dx] = grad(reduceSum(mul(pooled, constant(c.weights, pooled.shape))), [x]);
  return { x, pooled, dx };
}
