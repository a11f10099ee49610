/**
 * Content cost (Gatys, Ecker & Bethge, CVPR 2016): the squared
 * difference between the generated image's features and the content image's
 * at one or more layers,
 *
 *     J_content = Σ_l λ_l · k_l · Σ_{i,j,k} (a[l](C)_{ijk} − a[l](G)_{ijk})²
 *
 * with k_l = 1/2 (`normalisation: "half"`, the paper's formula) or
 * k_l = 1/(4·n_H·n_W·n_C) (`"size"`, a common normalisation by the layer's size).
 *
 * A content mask M (grey level = weight, brought to each layer's grid)
 * weights each position: Σ_{i,j,k} M_{ij} · (a[l](C)_{ijk} − a[l](G)_{ijk})².
 * Without a mask the plain sum runs unchanged. Written as a sum over
 * positions, so the core can evaluate it in tiles.
 *
 * @module
 */

import {
  addN,
  choiceOption,
  definePlugin,
  type LayerSelection,
  layersOption,
  mul,
  type Plugin,
  reduceSum,
  resolveLayers,
  square,
  sub,
} from "../core/mod.ts";

/** Options of {@linkcode content}. */
export type ContentOptions = {
  /** Layers compared, with weights. */
  layers: LayerSelection;
  /** `half`: ½·Σ; `size`: Σ / (4·nH·nW·nC). */
  normalisation: "half" | "size";
};

/** The content cost plugin. */
export const content: Plugin<ContentOptions> = definePlugin({
  name: "content",
  description: "keeps the content image's features at the content layers",
  reference: "content",
  options: {
    layers: layersOption({
      default: "content",
      description: "layers compared, with weights (default: the network's content layers)",
    }),
    normalisation: choiceOption(["half", "size"], {
      default: "half",
      description: "half: ½·Σ(a_C − a_G)²; size: Σ(a_C − a_G)² / (4·nH·nW·nC)",
    }),
  },
  layers: (o, network) => resolveLayers(o.layers, network, "plugin content").map((l) => l.layer),
  // A sum over positions of the squared difference to the content image's
  // features there (weighted by the content mask).
  statistics: ({ features, reference, mask, network }, o) =>
    Object.fromEntries(
      resolveLayers(o.layers, network, "plugin content").map((l, i) => {
        const squares = square(sub(features(l.layer), reference(l.layer)));
        const m = mask(l.layer);
        return [`squares${i}`, reduceSum(m ? mul(squares, m) : squares)];
      }),
    ),
  cost: ({ statistics, shape, network }, o) =>
    addN(
      resolveLayers(o.layers, network, "plugin content").map((l, i) => {
        const [, c, h, w] = shape(l.layer);
        const k = o.normalisation === "half" ? 0.5 : 1 / (4 * h * w * c);
        return mul(statistics[`squares${i}`], k * l.weight);
      }),
    ),
});
