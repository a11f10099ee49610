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
 * Without a mask the plain sum runs unchanged.
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
  // The content image's features themselves are the targets.
  targets: ({ features, network }, o) =>
    Object.fromEntries(
      resolveLayers(o.layers, network, "plugin content").map((
        l,
        i,
      ) => [`layer${i}`, features(l.layer)]),
    ),
  cost: ({ features, targets, mask, network }, o) =>
    addN(
      resolveLayers(o.layers, network, "plugin content").map((l, i) => {
        const a = features(l.layer);
        const [, c, h, w] = a.shape;
        const k = o.normalisation === "half" ? 0.5 : 1 / (4 * h * w * c);
        const m = mask(l.layer);
        const squares = square(sub(a, targets[`layer${i}`]));
        return mul(reduceSum(m ? mul(squares, m) : squares), k * l.weight);
      }),
    ),
});
