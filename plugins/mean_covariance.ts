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
 * @module
 */

import {
  add,
  addN,
  definePlugin,
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

/** Mean `[C, 1]` and covariance `[C, C]` of NCHW features (batch 1) over positions. */
export function featureStatistics(features: Tensor): { mean: Tensor; covariance: Tensor } {
  const [, c, h, w] = features.shape;
  const f = reshape(features, [c, h * w]);
  const mean = reduceMean(f, { axes: [1], keepDims: true });
  const centred = sub(f, mean);
  return { mean, covariance: mul(matmul(centred, transpose(centred)), 1 / (h * w)) };
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
  targets: ({ features, network }, o) => {
    const out: Record<string, Tensor> = {};
    resolveLayers(o.layers, network, "plugin mean-covariance").forEach((l, i) => {
      const { mean, covariance } = featureStatistics(features(l.layer));
      out[`mean${i}`] = mean;
      out[`cov${i}`] = covariance;
    });
    return out;
  },
  cost: ({ features, targets, network }, o) =>
    addN(
      resolveLayers(o.layers, network, "plugin mean-covariance").map((l, i) => {
        const { mean, covariance } = featureStatistics(features(l.layer));
        const c = mean.shape[0];
        const dMean = mul(reduceSum(square(sub(mean, targets[`mean${i}`]))), 1 / c);
        const dCov = mul(reduceSum(square(sub(covariance, targets[`cov${i}`]))), 1 / (c * c));
        return mul(add(dMean, dCov), l.weight);
      }),
    ),
});
