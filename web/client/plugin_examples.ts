/**
 * Starting points for the playground's plugin editor: a template and three
 * worked examples, each a module importing only from "stylegram".
 *
 * @module
 */

/** A named example module. */
export interface PluginExample {
  /** Shown in the picker. */
  title: string;
  /** The module's code. */
  code: string;
}

const TEMPLATE = `import { definePlugin, numberOption, reduceMean, square, sub } from "stylegram";

// A cost term is forward math on tensors: stylegram differentiates it.
// features("image") is the picture, [1, 3, H, W] in [0, 1]; other layers
// are the network's (declare them in layers()).
export const brightness = definePlugin({
  name: "brightness",
  description: "pulls the mean brightness towards a target",
  options: {
    target: numberOption({ default: 0.6, min: 0, max: 1, description: "target mean" }),
  },
  layers: () => ["image"],
  cost: ({ features }, { target }) => square(sub(reduceMean(features("image")), target)),
});
`;

const TINT =
  `import { constant, definePlugin, numberOption, reduceMean, reduceSum, square, sub } from "stylegram";

// Pulls the mean colour (per channel) towards a tint.
export const tint = definePlugin({
  name: "tint",
  description: "mean colour close to a tint",
  options: {
    red: numberOption({ default: 0.8, min: 0, max: 1, description: "target mean red" }),
    green: numberOption({ default: 0.45, min: 0, max: 1, description: "target mean green" }),
    blue: numberOption({ default: 0.3, min: 0, max: 1, description: "target mean blue" }),
  },
  layers: () => ["image"],
  cost: ({ features }, { red, green, blue }) => {
    const mean = reduceMean(features("image"), { axes: [0, 2, 3] });
    return reduceSum(square(sub(mean, constant([red, green, blue]))));
  },
});
`;

const PALETTE =
  `import { constant, definePlugin, div, exp, log, mul, neg, numberOption, reduceMean, reduceSum, reshape, square, sub } from "stylegram";

// Pulls every pixel towards the nearest of a few colours (a soft minimum of
// the squared distances, so the cost stays smooth).
const COLOURS = [[0.9, 0.8, 0.2], [0.1, 0.3, 0.6], [0.8, 0.2, 0.2], [0.95, 0.95, 0.9]];

export const palette = definePlugin({
  name: "palette",
  description: "pixels close to one of a few colours",
  options: {
    softness: numberOption({ default: 0.02, min: 0.001, max: 1, description: "how soft the nearest colour is" }),
  },
  layers: () => ["image"],
  cost: ({ features }, { softness }) => {
    const image = features("image");
    const [, , h, w] = image.shape;
    const pixels = reshape(image, [1, 3, h * w]);
    const colours = constant(COLOURS.flat(), [COLOURS.length, 3, 1]);
    const d = reduceSum(square(sub(pixels, colours)), { axes: [1] }); // [K, H·W]
    const softMin = mul(neg(log(reduceSum(exp(div(neg(d), softness)), { axes: [0] }))), softness);
    return reduceMean(softMin);
  },
});
`;

const MEAN_COVARIANCE =
  `import { add, addN, definePlugin, div, layersOption, matmul, mul, reduceMean, reduceSum, reshape, resolveLayers, square, sub, transpose, type Tensor } from "stylegram";

// Matches the mean and covariance of the style features (Li et al. 2017).
function statistics(features: Tensor) {
  const [, c, h, w] = features.shape;
  const f = reshape(features, [c, h * w]);
  const mean = reduceMean(f, { axes: [1], keepDims: true });
  const centred = sub(f, mean);
  return { mean, covariance: div(matmul(centred, transpose(centred)), h * w) };
}

export const meanCov = definePlugin({
  name: "my-mean-covariance",
  description: "mean and covariance of the style features",
  reference: "style",
  options: { layers: layersOption({ default: "style", description: "layers compared" }) },
  layers: (o, network) => resolveLayers(o.layers, network, "my-mean-covariance").map((l) => l.layer),
  targets: ({ features, network }, o) => {
    const out: Record<string, Tensor> = {};
    resolveLayers(o.layers, network, "my-mean-covariance").forEach((l, i) => {
      const s = statistics(features(l.layer));
      out["mean" + i] = s.mean;
      out["cov" + i] = s.covariance;
    });
    return out;
  },
  cost: ({ features, targets, network }, o) =>
    addN(resolveLayers(o.layers, network, "my-mean-covariance").map((l, i) => {
      const s = statistics(features(l.layer));
      const c = s.mean.shape[0];
      const dMean = mul(reduceSum(square(sub(s.mean, targets["mean" + i]))), 1 / c);
      const dCov = mul(reduceSum(square(sub(s.covariance, targets["cov" + i]))), 1 / (c * c));
      return mul(add(dMean, dCov), l.weight);
    })),
});
`;

/** The editor's starting points, the template first. */
export const PLUGIN_EXAMPLES: readonly PluginExample[] = [
  { title: "Template: brightness", code: TEMPLATE },
  { title: "Tint", code: TINT },
  { title: "Palette", code: PALETTE },
  { title: "Mean and covariance", code: MEAN_COVARIANCE },
];
