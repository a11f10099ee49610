/**
 * Mean-and-covariance style cost: matches the mean and the covariance of the
 * style image's features at each layer (the feature statistics that Gram
 * matrices mix together; Li et al. 2017 "Demystifying Neural Style
 * Transfer"). Written with the public API only, as the "write your own
 * plugin" tutorial in docs/plugins.md walks through.
 *
 *     μ = mean over positions of F (n_C),  Σ = (F − μ)(F − μ)ᵀ / (n_H·n_W)
 *     J = Σ_l λ_l · (‖μ_G − μ_S‖² / n_C + ‖Σ_G − Σ_S‖²_F / n_C²)
 *
 * With masks, μ and Σ are weighted by M² at each position (as the Gram
 * cost's F∘M), and a region's cost is weighted by its share of the image,
 * Σ M² / (n_H·n_W).
 *
 * @module
 */

import {
  add,
  addN,
  definePlugin,
  div,
  type LayerSelection,
  layersOption,
  matmul,
  mul,
  type Plugin,
  reduceMean,
  reduceSum,
  reshape,
  resolveLayers,
  square,
  sub,
  type Tensor,
  transpose,
} from "../core/mod.ts";

/**
 * Mean `[C, 1]` and covariance `[C, C]` of NCHW features (batch 1) over
 * positions; with a mask `[1, 1, H, W]`, weighted by its square.
 */
export function featureStatistics(
  features: Tensor,
  mask?: Tensor,
): { mean: Tensor; covariance: Tensor } {
  const [, c, h, w] = features.shape;
  const f = reshape(features, [c, h * w]);
  if (!mask) {
    const mean = reduceMean(f, { axes: [1], keepDims: true });
    const centred = sub(f, mean);
    return { mean, covariance: mul(matmul(centred, transpose(centred)), 1 / (h * w)) };
  }
  const weights = reshape(square(mask), [1, h * w]);
  const n = add(reduceSum(weights), 1e-6);
  const mean = div(reduceSum(mul(f, weights), { axes: [1], keepDims: true }), n);
  const centred = sub(f, mean);
  return { mean, covariance: div(matmul(mul(centred, weights), transpose(centred)), n) };
}

/** Options of {@linkcode meanCovariance}. */
export type MeanCovarianceOptions = {
  /** Layers compared, with weights. */
  layers: LayerSelection;
};

/** The mean-and-covariance style plugin. */
export const meanCovariance: Plugin<MeanCovarianceOptions> = definePlugin({
  name: "mean-covariance",
  description: "matches the mean and covariance of the style features (a Gram alternative)",
  reference: "style",
  options: {
    layers: layersOption({ default: "style", description: "layers compared, with weights" }),
  },
  layers: (o, network) =>
    resolveLayers(o.layers, network, "plugin mean-covariance").map((l) => l.layer),
  targets: ({ features, mask, network }, o) => {
    const out: Record<string, Tensor> = {};
    resolveLayers(o.layers, network, "plugin mean-covariance").forEach((l, i) => {
      const { mean, covariance } = featureStatistics(features(l.layer), mask(l.layer));
      out[`mean${i}`] = mean;
      out[`cov${i}`] = covariance;
    });
    return out;
  },
  cost: ({ features, targets, mask, network }, o) =>
    addN(
      resolveLayers(o.layers, network, "plugin mean-covariance").map((l, i) => {
        const f = features(l.layer);
        const m = mask(l.layer);
        const { mean, covariance } = featureStatistics(f, m);
        const c = mean.shape[0];
        const dMean = mul(reduceSum(square(sub(mean, targets[`mean${i}`]))), 1 / c);
        const dCov = mul(reduceSum(square(sub(covariance, targets[`cov${i}`]))), 1 / (c * c));
        const cost = mul(add(dMean, dCov), l.weight);
        // A region counts by its share of the image.
        return m ? mul(cost, mul(reduceSum(square(m)), 1 / (f.shape[2] * f.shape[3]))) : cost;
      }),
    ),
});
