/**
 * Gradient checks: the gradient the emitted ONNX graph computes (float32, on a
 * real backend) against central finite differences of the float64 reference
 * interpreter, plus the forward values against the reference.
 *
 * Tolerances (float32 graph vs float64 differences): relative L2 error of
 * the whole gradient below 1e-4, and no single entry off by more than 1e-3 of
 * the gradient's largest entry. The differences use h = 1e-6 in float64
 * (truncation ~1e-12, rounding ~1e-10), so the error measured is float32's.
 *
 * @module
 */

import {
  type BackendChoice,
  constant,
  createSession,
  grad,
  input,
  mul,
  reduceSum,
  type Tensor,
  toOnnx,
} from "../../mod.ts";
import { type Shape, sizeOf } from "../../core/graph/expr.ts";
import { uniform } from "../../core/random.ts";
import { evaluate } from "./reference.ts";

/** One gradient-check case. */
export interface GradCase {
  /** Graph inputs by name: their shapes and optionally the range of their random values. */
  inputs: Record<string, Shape | { shape: Shape; lo: number; hi: number }>;
  /** Builds the expression under test from the inputs. */
  build: (x: Record<string, Tensor>) => Tensor;
  /** Seed of the random inputs (default 1). */
  seed?: number;
}

/** What a gradient check measured. */
export interface GradReport {
  /** Relative L2 error of the forward output against the reference. */
  forward: number;
  /** Per input: relative L2 error of the gradient against finite differences. */
  relative: Record<string, number>;
  /** Per input: largest entry error over the largest gradient entry. */
  entrywise: Record<string, number>;
}

/** Relative L2 distance `‖a − b‖ / ‖b‖` (absolute when `b` vanishes). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

function entrywiseError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / Math.max(scale, 1e-30);
}

/**
 * Central differences `(f(x + h·e_j) − f(x − h·e_j)) / 2h` of `cost` for
 * every entry of `x` (changed in place and put back), in float64.
 */
export function centralDifferences(x: Float64Array, cost: () => number, h = 1e-6): Float64Array {
  const fd = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const keep = x[j];
    x[j] = keep + h;
    const plus = cost();
    x[j] = keep - h;
    const minus = cost();
    x[j] = keep;
    fd[j] = (plus - minus) / (2 * h);
  }
  return fd;
}

/**
 * Runs one case: the scalar cost is `Σ y ⊙ R` for a fixed random `R`, so every
 * output element matters with its own weight.
 */
export async function checkGradients(
  c: GradCase,
  options: { backend?: BackendChoice; h?: number } = {},
): Promise<GradReport> {
  const seed = c.seed ?? 1;
  const tensors: Record<string, Tensor> = {};
  const feeds: Record<string, Float32Array> = {};
  Object.entries(c.inputs).forEach(([name, spec], i) => {
    const { shape, lo, hi } = Array.isArray(spec)
      ? { shape: spec as Shape, lo: -1, hi: 1 }
      : spec as { shape: Shape; lo: number; hi: number };
    tensors[name] = input(name, shape);
    feeds[name] = uniform(sizeOf(shape), seed * 97 + i, { lo, hi });
  });
  const y = c.build(tensors);
  const weights = constant(uniform(y.size, seed * 31 + 7), y.shape);
  const cost = reduceSum(mul(y, weights));
  const names = Object.keys(tensors);
  const grads = grad(cost, names.map((n) => tensors[n]));
  const outputs: Record<string, Tensor> = { y, cost };
  names.forEach((n, i) => outputs[`d_${n}`] = grads[i]);

  const session = await createSession(toOnnx(outputs), { backend: options.backend ?? "wasm" });
  const got = await session.run(feeds);
  await session.release();

  const reference64: Record<string, Float64Array> = {};
  for (const n of names) reference64[n] = Float64Array.from(feeds[n]);
  const [yRef] = evaluate([y], reference64);
  const costAt = (feedsAt: Record<string, Float64Array>) => evaluate([cost], feedsAt)[0][0];

  const h = options.h ?? 1e-6;
  const report: GradReport = { forward: relativeError(got.y, yRef), relative: {}, entrywise: {} };
  for (const n of names) {
    const fd = centralDifferences(reference64[n], () => costAt(reference64), h);
    report.relative[n] = relativeError(got[`d_${n}`], fd);
    report.entrywise[n] = entrywiseError(got[`d_${n}`], fd);
  }
  return report;
}

/** Throws unless every error of `report` is within the documented float32 tolerances. */
export function assertGradientsMatch(name: string, report: GradReport): void {
  const problems: string[] = [];
  if (!(report.forward < 1e-5)) problems.push(`forward error ${report.forward.toExponential(2)}`);
  for (const [input, err] of Object.entries(report.relative)) {
    if (!(err < 1e-4)) problems.push(`∂/∂${input} relative error ${err.toExponential(2)}`);
  }
  for (const [input, err] of Object.entries(report.entrywise)) {
    if (!(err < 1e-3)) problems.push(`∂/∂${input} entry error ${err.toExponential(2)}`);
  }
  if (problems.length) throw new Error(`${name}: ${problems.join("; ")}`);
}
