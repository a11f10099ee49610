/**
 * What the optimisers share: the function they minimise, one step's outcome,
 * and the box the variables live in (pixels stay in [0, 1]).
 *
 * @module
 */

/** A function value and its gradient at a point (extra fields pass through). */
export interface Evaluated {
  /** f(x). */
  readonly value: number;
  /** ∇f(x). */
  readonly gradient: Float32Array;
}

/** Evaluates f and ∇f at `x` (the array must not be kept: it is reused). */
export type Objective<E extends Evaluated> = (x: Float32Array) => Promise<E>;

/** Lower and upper bounds for every variable. */
export interface Bounds {
  /** Lower bound (e.g. 0). */
  readonly lower: number;
  /** Upper bound (e.g. 1). */
  readonly upper: number;
}

/** The outcome of one optimiser iteration. */
export interface StepOutcome<E extends Evaluated> {
  /** The current iterate (after the step; unchanged if the step failed). */
  readonly x: Float32Array;
  /** f and ∇f at `x`. */
  readonly at: E;
  /** Function evaluations this step used. */
  readonly evaluations: number;
  /**
   * Why no progress was made, if none was: `non-finite` (every trial point
   * gave NaN/Inf, so the last good iterate was kept), `converged` (the
   * projected gradient or the step vanished), or `no-decrease`.
   */
  readonly stalled?: "non-finite" | "converged" | "no-decrease";
}

/** An iterative minimiser over a Float32Array. */
export interface Optimizer<E extends Evaluated> {
  /** Evaluates the starting point (call once before `step`). */
  start(): Promise<E>;
  /** One iteration. */
  step(): Promise<StepOutcome<E>>;
  /** The current iterate. */
  readonly x: Float32Array;
}

/** True when `e` has a finite value and an all-finite gradient. */
export function isFiniteEvaluation(e: Evaluated): boolean {
  if (!Number.isFinite(e.value)) return false;
  const g = e.gradient;
  for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) return false;
  return true;
}

/** Clamps `x` into the bounds, in place. */
export function project(x: Float32Array, bounds?: Bounds): Float32Array {
  if (!bounds) return x;
  const { lower, upper } = bounds;
  for (let i = 0; i < x.length; i++) x[i] = x[i] < lower ? lower : x[i] > upper ? upper : x[i];
  return x;
}

/** Checks bounds and the starting point; throws a message naming the problem. */
export function checkStart(x0: Float32Array, bounds?: Bounds): void {
  if (x0.length === 0) throw new RangeError("optimiser: the starting point is empty");
  if (bounds && !(bounds.lower < bounds.upper)) {
    throw new RangeError(`optimiser: bounds ${bounds.lower}…${bounds.upper} are empty`);
  }
  for (let i = 0; i < x0.length; i++) {
    if (!Number.isFinite(x0[i])) {
      throw new RangeError(`optimiser: the starting point has a non-finite value at index ${i}`);
    }
  }
}

/** Evaluates the starting point for optimiser `name`; refuses a non-finite one. */
export async function evaluateStart<E extends Evaluated>(
  f: Objective<E>,
  x: Float32Array,
  name: string,
): Promise<E> {
  const at = await f(x);
  if (!isFiniteEvaluation(at)) {
    throw new RangeError(`${name}: the objective is not finite at the starting point`);
  }
  return at;
}
