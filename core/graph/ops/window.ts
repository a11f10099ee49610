/**
 * Sliding-window geometry shared by convolutions and pooling: strides,
 * dilations, explicit or TensorFlow-"same" padding, output sizes.
 *
 * @module
 */

import { ShapeError } from "../expr.ts";

/** A value for both spatial axes, or one per axis as `[height, width]`. */
export type Pair = number | readonly [number, number];

/**
 * Padding of a 2-D window op: `"valid"` (none), `"same"` (TensorFlow's rule:
 * output = ceil(input / stride), extra padding after), one number for all
 * sides, `[vertical, horizontal]`, or `[top, left, bottom, right]`.
 */
export type Padding =
  | "valid"
  | "same"
  | number
  | readonly [number, number]
  | readonly [number, number, number, number];

/** Normalises a {@linkcode Pair} to `[h, w]` of positive integers. */
export function pair(value: Pair, what: string): [number, number] {
  const p: [number, number] = typeof value === "number" ? [value, value] : [value[0], value[1]];
  if (
    (typeof value !== "number" && value.length !== 2) ||
    p.some((v) => !Number.isInteger(v) || v < 1)
  ) {
    throw new ShapeError(`${what} ${JSON.stringify(value)} must be a positive integer or two`);
  }
  return p;
}

/** Extent of a kernel of size `k` with dilation `d`. */
export const effectiveKernel = (k: number, d: number): number => (k - 1) * d + 1;

/**
 * Resolves a {@linkcode Padding} to `[top, left, bottom, right]` for an input
 * of spatial size `[h, w]`.
 */
export function resolvePadding(
  padding: Padding,
  input: readonly [number, number],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  what: string,
): [number, number, number, number] {
  if (padding === "valid") return [0, 0, 0, 0];
  if (padding === "same") {
    const total = [0, 1].map((i) => {
      const out = Math.ceil(input[i] / strides[i]);
      return Math.max(
        (out - 1) * strides[i] + effectiveKernel(kernel[i], dilations[i]) - input[i],
        0,
      );
    });
    const before = total.map((t) => Math.floor(t / 2));
    return [before[0], before[1], total[0] - before[0], total[1] - before[1]];
  }
  const p = typeof padding === "number"
    ? [padding, padding, padding, padding]
    : padding.length === 2
    ? [padding[0], padding[1], padding[0], padding[1]]
    : [...padding];
  if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ShapeError(
      `${what}: padding ${JSON.stringify(padding)} must be "valid", "same", an integer ≥ 0, ` +
        `[vertical, horizontal] or [top, left, bottom, right]`,
    );
  }
  return p as [number, number, number, number];
}

/** Output length along one axis of a window op. */
export function windowOutput(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBefore: number,
  padAfter: number,
): number {
  return Math.floor((size + padBefore + padAfter - effectiveKernel(kernel, dilation)) / stride) + 1;
}
