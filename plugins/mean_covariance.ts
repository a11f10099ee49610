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
 * The cost reads only sums over positions (Σ M² f, Σ M² f fᵀ, Σ M²), from
 * which μ = Σ M² f / Σ M² and Σ = Σ M² f fᵀ / Σ M² − μ μᵀ; the core can then
 * add them up over tiles.
 *
 * @module
 */

import {
  add,
  addN,
  constant,
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
  // Sums over positions (weighted by M²): Σ f, Σ f fᵀ and Σ 1.
  statistics: ({ features, mask, network }, o) => {
    const out: Record<string, Tensor> = {};
    resolveLayers(o.layers, network, "plugin mean-covariance").forEach((l, i) => {
      const [, c, h, w] = features(l.layer).shape;
      const f = reshape(features(l.layer), [c, h * w]);
      const m = mask(l.layer);
      const weighted = m ? mul(f, reshape(square(m), [1, h * w])) : f;
      out[`sum${i}`] = reduceSum(weighted, { axes: [1], keepDims: true });
      out[`outer${i}`] = matmul(weighted, transpose(f));
      out[`positions${i}`] = m ? reduceSum(square(m)) : constant(h * w);
    });
    return out;
  },
  targets: ({ statistics, network }, o) => {
    const out: Record<string, Tensor> = {};
    resolveLayers(o.layers, network, "plugin mean-covariance").forEach((_, i) => {
      const { mean, covariance } = momentsOf(statistics, i);
      out[`mean${i}`] = mean;
      out[`cov${i}`] = covariance;
    });
    return out;
  },
  cost: ({ statistics, targets, shape, network }, o) =>
    addN(
      resolveLayers(o.layers, network, "plugin mean-covariance").map((l, i) => {
        const { mean, covariance } = momentsOf(statistics, i);
        const [, c, h, w] = shape(l.layer);
        const dMean = mul(reduceSum(square(sub(mean, targets[`mean${i}`]))), 1 / c);
        const dCov = mul(reduceSum(square(sub(covariance, targets[`cov${i}`]))), 1 / (c * c));
        // A region counts by its share of the image.
        const share = mul(statistics[`positions${i}`], 1 / (h * w));
        return mul(mul(add(dMean, dCov), l.weight), share);
      }),
    ),
});

/** Mean `[C, 1]` and covariance `[C, C]` from the sums of layer `i`. */
function momentsOf(
  statistics: Readonly<Record<string, Tensor>>,
  i: number,
): { mean: Tensor; covariance: Tensor } {
  const n = add(statistics[`positions${i}`], 1e-6);
  const mean = div(statistics[`sum${i}`], n);
  const covariance = sub(div(statistics[`outer${i}`], n), matmul(mean, transpose(mean)));
  return { mean, covariance };
}
