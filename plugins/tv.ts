/**
 * Total variation (Mahendran & Vedaldi 2015), a smoothness prior on the
 * generated pixels:
 *
 *     J_tv = Σ_{i,j,c} ((G_{i+1,j,c} − G_{i,j,c})² + (G_{i,j+1,c} − G_{i,j,c})²)^(β/2)
 *
 * over the positions where both differences exist. β = 2 is the plain squared
 * form; β = 1 an L1-like form that keeps edges (its gradient is unbounded at
 * 0, so `epsilon` is added under the root). `normalisation: "mean"` divides by
 * the number of terms, so the same weight means the same at every image size
 * (what a multi-scale run needs).
 *
 * @module
 */

import {
  add,
  choiceOption,
  constant,
  definePlugin,
  div,
  mul,
  numberOption,
  type Plugin,
  pow,
  reduceSum,
  slice,
  square,
  sub,
  type Tensor,
} from "../core/mod.ts";

/** The pixels `[1, 3, H−1, W−1]` window starting at row `dy`, column `dx`. */
function shifted(image: Tensor, dy: number, dx: number): Tensor {
  const [, , h, w] = image.shape;
  return slice(image, { starts: [dy, dx], ends: [h - 1 + dy, w - 1 + dx], axes: [2, 3] });
}

/** Options of {@linkcode tv}. */
export type TvOptions = {
  /** Exponent β. */
  beta: number;
  /** Added under the power when β < 2. */
  epsilon: number;
  /** `sum`: the formula; `mean`: divided by the number of terms. */
  normalisation: "sum" | "mean";
};

/** The total-variation plugin. */
export const tv: Plugin<TvOptions> = definePlugin({
  name: "tv",
  description: "total variation: penalises differences between neighbouring pixels",
  options: {
    beta: numberOption({
      default: 2,
      min: 1,
      max: 2,
      description: "exponent β: 2 squared, 1 L1-like",
    }),
    epsilon: numberOption({
      default: 1e-8,
      min: 0,
      max: 1,
      description: "added under the power when β < 2, keeping the gradient finite",
    }),
    normalisation: choiceOption(["sum", "mean"], {
      default: "sum",
      description: "sum: the formula; mean: divided by the number of terms (size-independent)",
    }),
  },
  layers: () => ["image"],
  // Sums over positions (the terms, and how many there are), each position
  // weighted by the mask the core gives (the positions a tile counts).
  statistics: ({ features, mask }, { beta, epsilon }) => {
    const image = features("image");
    const here = shifted(image, 0, 0);
    const squares = add(
      square(sub(shifted(image, 1, 0), here)),
      square(sub(shifted(image, 0, 1), here)),
    );
    const terms = beta === 2 ? squares : pow(add(squares, epsilon), beta / 2);
    const m = mask("image");
    if (!m) return { sum: reduceSum(terms), count: constant(terms.size) };
    const weight = shifted(m, 0, 0);
    return { sum: reduceSum(mul(terms, weight)), count: mul(reduceSum(weight), 3) };
  },
  cost: ({ statistics }, { normalisation }) =>
    normalisation === "sum" ? statistics.sum : div(statistics.sum, statistics.count),
});
