/**
 * Optimisers on Float32Array: L-BFGS and Adam with box bounds, and iterate
 * averaging.
 *
 * @module
 */

export {
  type Bounds,
  type Evaluated,
  isFiniteEvaluation,
  type Objective as OptimizerObjective,
  type Optimizer,
  type StepOutcome,
} from "./optimizer.ts";
export { lbfgs, type LbfgsOptions } from "./lbfgs.ts";
export { adam, type AdamOptions } from "./adam.ts";
export { IterateAverage } from "./average.ts";
