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
 * @module
 */

import {
  addN,
  definePlugin,
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
  // Gram matrices per position, so style images of any size compare alike.
  targets: ({ features, network }, o) =>
    Object.fromEntries(
      resolveLayers(o.layers, network, "plugin style").map((l, i) => {
        const f = features(l.layer);
        return [`gram${i}`, mul(gramMatrix(f), 1 / (f.shape[2] * f.shape[3]))];
      }),
    ),
  cost: ({ features, targets, network }, o) =>
    addN(
      resolveLayers(o.layers, network, "plugin style").map((l, i) => {
        const f = features(l.layer);
        const [, c, h, w] = f.shape;
        const target = mul(targets[`gram${i}`], h * w);
        const diff = reduceSum(square(sub(gramMatrix(f), target)));
        return mul(diff, l.weight / (2 * h * w * c) ** 2);
      }),
    ),
});
