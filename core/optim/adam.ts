/**
 * Adam (Kingma & Ba 2015) with box bounds by projection after each step. A
 * step that lands on a NaN/Inf value or gradient is undone and retried with
 * half the learning rate, so the last good iterate is always kept.
 *
 * @module
 */

import {
  type Bounds,
  checkStart,
  type Evaluated,
  evaluateStart,
  isFiniteEvaluation,
  type Objective,
  type Optimizer,
  project,
  type StepOutcome,
} from "./optimizer.ts";

/** Options of {@linkcode adam}. */
export interface AdamOptions {
  /** Step size (default 0.02, for pixels in [0, 1]). */
  learningRate?: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
  /** Denominator guard (default 1e-8). */
  epsilon?: number;
  /** Box constraints (default none). */
  bounds?: Bounds;
  /** Halvings of the learning rate tried after a non-finite step (default 8). */
  retries?: number;
}

/** Creates an Adam minimiser of `f` from `x0` (copied). */
export function adam<E extends Evaluated>(
  f: Objective<E>,
  x0: Float32Array,
  options: AdamOptions = {},
): Optimizer<E> {
  const lr = options.learningRate ?? 0.02;
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.epsilon ?? 1e-8;
  const retries = options.retries ?? 8;
  for (
    const [name, v, lo, hi] of [["learningRate", lr, 0, Infinity], ["beta1", b1, 0, 1], [
      "beta2",
      b2,
      0,
      1,
    ]] as const
  ) {
    if (!(v > lo && v < hi)) throw new RangeError(`adam: ${name} ${v} must be in (${lo}, ${hi})`);
  }
  checkStart(x0, options.bounds);
  const n = x0.length;
  let x = project(Float32Array.from(x0), options.bounds);
  const m1 = new Float32Array(n);
  const m2 = new Float32Array(n);
  let t = 0;
  let current: E | undefined;

  return {
    get x() {
      return x;
    },
    async start() {
      return current = await evaluateStart(f, x, "adam");
    },
    async step(): Promise<StepOutcome<E>> {
      if (!current) throw new Error("adam: call start() before step()");
      const g = current.gradient;
      t++;
      // The moments' updates are recomputed in the loop rather than stored:
      // at 8192² px every image-sized array is 0.8 GB.
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      let rate = lr;
      let evaluations = 0;
      const trial = new Float32Array(n);
      for (let k = 0; k <= retries; k++) {
        for (let i = 0; i < n; i++) {
          const next1 = Math.fround(b1 * m1[i] + (1 - b1) * g[i]);
          const next2 = Math.fround(b2 * m2[i] + (1 - b2) * g[i] * g[i]);
          trial[i] = x[i] - rate * (next1 / c1) / (Math.sqrt(next2 / c2) + eps);
        }
        project(trial, options.bounds);
        const at = await f(trial);
        evaluations++;
        if (isFiniteEvaluation(at)) {
          for (let i = 0; i < n; i++) {
            m1[i] = b1 * m1[i] + (1 - b1) * g[i];
            m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i];
          }
          // `trial` is this step's own array: it becomes x without a copy.
          x = trial;
          current = at;
          return { x, at, evaluations };
        }
        rate /= 2;
      }
      t--;
      return { x, at: current, evaluations, stalled: "non-finite" };
    },
  };
}
