/**
 * L-BFGS (Liu & Nocedal 1989) with box bounds handled by projection: the
 * search direction comes from the two-loop recursion on the projected
 * gradient (variables held at a bound by their gradient are frozen), and the
 * backtracking line search walks the projected path P(x + t·d) until the
 * Armijo condition holds. A trial point whose value or gradient is NaN/Inf is
 * never accepted.
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

/** Options of {@linkcode lbfgs}. */
export interface LbfgsOptions {
  /** Correction pairs kept (default 10; memory: 2 vectors per pair). */
  history?: number;
  /** Box constraints (default none). */
  bounds?: Bounds;
  /** Trial points per line search before giving up on the step (default 20). */
  maxLineSearch?: number;
  /** Armijo sufficient-decrease constant (default 1e-4). */
  armijo?: number;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Creates an L-BFGS minimiser of `f` from `x0` (copied).
 *
 * @example
 * ```ts
 * import { lbfgs } from "./lbfgs.ts";
 * const f = (x: Float32Array) =>
 *   Promise.resolve({ value: (x[0] - 3) ** 2, gradient: new Float32Array([2 * (x[0] - 3)]) });
 * const opt = lbfgs(f, new Float32Array([0]));
 * await opt.start();
 * for (let i = 0; i < 10; i++) await opt.step();
 * console.log(opt.x[0]); // ≈ 3
 * ```
 */
export function lbfgs<E extends Evaluated>(
  f: Objective<E>,
  x0: Float32Array,
  options: LbfgsOptions = {},
): Optimizer<E> {
  const m = options.history ?? 10;
  if (!Number.isInteger(m) || m < 1 || m > 1000) {
    throw new RangeError(`lbfgs: history ${m} must be an integer from 1 to 1000`);
  }
  const bounds = options.bounds;
  checkStart(x0, bounds);
  const maxTries = options.maxLineSearch ?? 20;
  const c1 = options.armijo ?? 1e-4;
  const n = x0.length;
  let x = project(Float32Array.from(x0), bounds);
  let current: E | undefined;
  const s: Float32Array[] = [];
  const y: Float32Array[] = [];
  const rho: number[] = [];

  /** Variables pinned at a bound by a gradient pushing outwards. */
  const frozen = (i: number, g: Float32Array) =>
    bounds !== undefined &&
    ((x[i] <= bounds.lower && g[i] > 0) || (x[i] >= bounds.upper && g[i] < 0));

  // One direction buffer for every step: a new float64 array per step (two
  // image-sized vectors) would wait uncollected beside the next one.
  const q = new Float64Array(n);
  function direction(g: Float32Array): Float64Array {
    for (let i = 0; i < n; i++) q[i] = frozen(i, g) ? 0 : g[i];
    const alpha = new Array<number>(s.length);
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(s[k], q);
      const yk = y[k];
      for (let i = 0; i < n; i++) q[i] -= alpha[k] * yk[i];
    }
    if (s.length) {
      // Initial Hessian scaling γ = sᵀy / yᵀy from the newest pair.
      const last = s.length - 1;
      const gamma = 1 / (rho[last] * dot(y[last], y[last]));
      for (let i = 0; i < n; i++) q[i] *= gamma;
    }
    for (let k = 0; k < s.length; k++) {
      const beta = rho[k] * dot(y[k], q);
      const sk = s[k];
      for (let i = 0; i < n; i++) q[i] += (alpha[k] - beta) * sk[i];
    }
    for (let i = 0; i < n; i++) q[i] = frozen(i, g) ? 0 : -q[i];
    return q;
  }

  function forget(): void {
    s.length = 0;
    y.length = 0;
    rho.length = 0;
  }

  return {
    get x() {
      return x;
    },
    async start() {
      return current = await evaluateStart(f, x, "lbfgs");
    },
    async step(): Promise<StepOutcome<E>> {
      if (!current) throw new Error("lbfgs: call start() before step()");
      const g = current.gradient;
      let d = direction(g);
      let slope = dot(g, d);
      if (!(slope < 0)) {
        // Not a descent direction (stale curvature near the bounds): restart.
        forget();
        d = direction(g);
        slope = dot(g, d);
      }
      if (!(slope < 0)) return { x, at: current, evaluations: 0, stalled: "converged" };
      // Without curvature information, a first step of length ~1 in the
      // 1-norm keeps the first trial point sensible whatever the scale of f.
      let t = s.length ? 1 : Math.min(1, 1 / d.reduce((a, v) => a + Math.abs(v), 0));
      let evaluations = 0;
      let sawFinite = false;
      const trial = new Float32Array(n);
      for (let k = 0; k < maxTries; k++) {
        for (let i = 0; i < n; i++) trial[i] = x[i] + t * d[i];
        project(trial, bounds);
        let moved = 0;
        let predicted = 0;
        for (let i = 0; i < n; i++) {
          const delta = trial[i] - x[i];
          moved += Math.abs(delta);
          predicted += g[i] * delta;
        }
        if (moved === 0) break;
        const at = await f(trial);
        evaluations++;
        if (isFiniteEvaluation(at)) {
          sawFinite = true;
          if (at.value <= current.value + c1 * predicted) {
            // The pair's products first, so a full history can lend its
            // oldest arrays to the new pair only once it is kept.
            let sy = 0;
            let ss = 0;
            let yy = 0;
            for (let i = 0; i < n; i++) {
              const si = Math.fround(trial[i] - x[i]);
              const yi = Math.fround(at.gradient[i] - g[i]);
              sy += si * yi;
              ss += si * si;
              yy += yi * yi;
            }
            // Keep the pair only with positive curvature, so H stays positive definite.
            if (sy > 1e-10 * Math.sqrt(ss * yy)) {
              const full = s.length >= m;
              const sk = full ? s.shift()! : new Float32Array(n);
              const yk = full ? y.shift()! : new Float32Array(n);
              if (full) rho.shift();
              for (let i = 0; i < n; i++) {
                sk[i] = trial[i] - x[i];
                yk[i] = at.gradient[i] - g[i];
              }
              s.push(sk);
              y.push(yk);
              rho.push(1 / sy);
            }
            // `trial` is this step's own array: it becomes x without a copy.
            x = trial;
            current = at;
            return { x, at, evaluations };
          }
        }
        t *= 0.5;
      }
      forget();
      return {
        x,
        at: current,
        evaluations,
        stalled: evaluations === 0 ? "converged" : sawFinite ? "no-decrease" : "non-finite",
      };
    },
  };
}
