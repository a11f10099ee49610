/**
 * Gram-matrix style cost (Gatys, Ecker & Bethge, "Image Style Transfer Using
 * Convolutional Neural Networks", CVPR 2016):
 *
 *     G[l] = F·Fᵀ,  F = a[l] reshaped to n_C × (n_H·n_W)
 *     J_style = Σ_l λ_l · 1/(2·n_H·n_W·n_C)² · Σ_{k,k'} (G[l](S) − G[l](G))²
 *
 * Several style images blend by mixing their Gram targets with the blend
 * weights (normalised to sum to 1): one cost against Σ_s w_s·G[l](S_s).
 *
 * A style image of another size than the output (see `scale`) has its Gram
 * matrix rescaled by (n_H·n_W of the output) / (n_H·n_W of the style image),
 * i.e. compared per position; at equal sizes this is exactly the formula.
 *
 * With masks (Gatys et al., CVPR 2017) the features are weighted by the mask
 * M at the layer's grid: G_M = (F∘M)(F∘M)ᵀ. A style image's target is its
 * guided Gram per masked position, G_M(S) / Σ M_S²; the cost of a region
 * with output mask M (N_M = Σ M² of its n_H·n_W positions) is
 *
 *     λ_l · 1/(4·n_H·n_W·N_M·n_C²) · Σ_{k,k'} (G_M(G) − N_M·G_M(S)/Σ M_S²)²
 *
 * i.e. the unguided cost of the region normalised per masked position and
 * weighted by the region's share of the image, N_M/(n_H·n_W). With M = 1 it
 * is the unguided cost.
 *
 * The cost is written as a function of sums over positions (G_M and N_M),
 * so the core can add them up over tiles and evaluate images of any size.
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
  numberOption,
  type Plugin,
  reduceSum,
  reshape,
  resolveLayers,
  square,
  sub,
  type Tensor,
  transpose,
} from "../core/mod.ts";

/** The Gram matrix F·Fᵀ of NCHW features (batch 1): `[C, C]`. */
export function gramMatrix(features: Tensor): Tensor {
  const [, c, h, w] = features.shape;
  const f = reshape(features, [c, h * w]);
  return matmul(f, transpose(f));
}

/**
 * Σ M² over a mask's positions: how many positions it covers, counting a
 * position with value m as m². Never 0, so a region that vanishes at a deep
 * layer contributes nothing instead of 0/0.
 */
export function maskedPositions(mask: Tensor): Tensor {
  return add(reduceSum(square(mask)), 1e-6);
}

/** Options of {@linkcode style}. */
export type StyleOptions = {
  /** Layers compared, with weights λ_l. */
  layers: LayerSelection;
  /** Style image size relative to the output. */
  scale: number;
};

/** The style cost plugin. */
export const style: Plugin<StyleOptions> = definePlugin({
  name: "style",
  description: "matches the style images' Gram matrices at the style layers",
  reference: "style",
  blend: "targets",
  options: {
    layers: layersOption({
      default: "style",
      description: "layers compared, with weights λ_l (default: the network's style layers)",
    }),
    scale: numberOption({
      default: 1,
      min: 0.05,
      max: 8,
      description: "style image size relative to the output's longer side (style scale)",
    }),
  },
  layers: (o, network) => resolveLayers(o.layers, network, "plugin style").map((l) => l.layer),
  referenceScale: (o) => o.scale,
  // Sums over positions: the (guided) Gram matrix and how many positions it covers.
  statistics: ({ features, mask, network }, o) =>
    Object.fromEntries(
      resolveLayers(o.layers, network, "plugin style").flatMap((l, i) => {
        const f = features(l.layer);
        const m = mask(l.layer);
        return [
          [`gram${i}`, gramMatrix(m ? mul(f, m) : f)],
          [`positions${i}`, m ? reduceSum(square(m)) : constant(f.shape[2] * f.shape[3])],
        ];
      }),
    ),
  // Gram matrices per (masked) position, so style images of any size compare alike.
  targets: ({ statistics, network }, o) =>
    Object.fromEntries(
      resolveLayers(o.layers, network, "plugin style").map((_, i) => [
        `gram${i}`,
        div(statistics[`gram${i}`], add(statistics[`positions${i}`], 1e-6)),
      ]),
    ),
  cost: ({ statistics, targets, shape, network }, o) =>
    addN(
      resolveLayers(o.layers, network, "plugin style").map((l, i) => {
        const [, c, h, w] = shape(l.layer);
        const n = add(statistics[`positions${i}`], 1e-6);
        const target = mul(targets[`gram${i}`], n);
        const diff = reduceSum(square(sub(statistics[`gram${i}`], target)));
        return mul(div(diff, n), l.weight / (4 * h * w * c * c));
      }),
    ),
});
