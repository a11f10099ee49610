/**
 * InceptionV3 (Szegedy et al. 2015) as a feature network, with pretrained
 * weights that need no download: those inside the npm package
 * `nsfwjs@4.4.0` (MIT; read by `nsfwjs_package.ts`), an InceptionV3
 * fine-tuned by nsfwjs to sort images into five classes. Its convolutional
 * part is ImageNet-style InceptionV3 and makes good style features.
 *
 * The layer table is converted from the package's Keras topology at run time
 * ({@linkcode kerasLayers}) and keeps Keras's names (`conv2d_1`,
 * `activation_3`, `mixed0` … `mixed10`); each `batch_normalization_N` is
 * folded into the `conv2d_N` before it, so the conv row's output *is* the
 * batch-norm output.
 *
 * @example
 * ```ts
 * import { input, loadInception } from "../../mod.ts";
 * const net = await loadInception();
 * const image = input("image", [1, 3, 128, 128]);
 * const { mixed1 } = net.features(image, ["mixed1"]); // [1, 288, 13, 13]
 * ```
 *
 * @module
 */

import type { NetworkDescription } from "./description.ts";
import { FeatureNetwork, WeightError } from "./feature_network.ts";
import { type KerasLayer, kerasLayers } from "./keras_layers.ts";
import { readInceptionPackage } from "./nsfwjs_package.ts";

/**
 * InceptionV3's default layers for style transfer: style activation_1,
 * activation_3, activation_5, mixed0, mixed2 (0.2 each); content mixed1.
 */
export const INCEPTION_DEFAULTS: NetworkDescription["defaults"] = {
  style: ["activation_1", "activation_3", "activation_5", "mixed0", "mixed2"].map((layer) => ({
    layer,
    weight: 0.2,
  })),
  content: [{ layer: "mixed1", weight: 1 }],
};

/**
 * The InceptionV3 description made from nsfwjs's Keras topology (the layers
 * of `modelTopology.model_config.config`), with
 * {@linkcode INCEPTION_DEFAULTS} as its defaults.
 */
export function inceptionDescription(layers: readonly KerasLayer[]): NetworkDescription {
  return {
    name: "inception",
    title: "InceptionV3 (nsfwjs 4.4.0 weights, offline)",
    // Keras InceptionV3 as nsfwjs runs it: pixel / 255, i.e. our [0, 1] as is.
    preprocess: { mean: [0, 0, 0], std: [1, 1, 1] },
    layers: kerasLayers(layers).layers,
    defaults: INCEPTION_DEFAULTS,
    // The smallest side for which mixed2, the deepest default, keeps a pixel:
    // stem 3×3/2 valid, 3×3 valid, 3×3 same, max 3×3/2, 1×1, 3×3 valid,
    // max 3×3/2 (mixed0…2 keep the size): 27 → 13 → 11 → 11 → 5 → 5 → 3 → 1.
    minSize: 27,
    // The stride-2 valid first convolution never reads the last row/column of
    // an even-sized image and reads the borders less often than the rest;
    // mirrored borders keep every pixel under the cost's control (no noisy
    // frame around results).
    inputPadding: 8,
  };
}

/** Options of {@linkcode loadInception}. */
export interface LoadInceptionOptions {
  /**
   * The layers that will be used: checked now, and only the weights they
   * need are dequantised now. Others are dequantised when first built.
   * Default: the description's style and content defaults.
   */
  layers?: readonly string[];
}

/**
 * InceptionV3 with nsfwjs's weights, read from the installed npm package.
 * The first call parses the package (well under a second); later calls
 * share the parsed and dequantised weights.
 */
export async function loadInception(options: LoadInceptionOptions = {}): Promise<FeatureNetwork> {
  const { layers, weights } = await readInceptionPackage();
  const net = new FeatureNetwork(inceptionDescription(layers), weights);
  const wanted = options.layers ??
    [...net.description.defaults.style, ...net.description.defaults.content].map((l) => l.layer);
  for (const name of net.weightsFor(wanted)) {
    if (!weights.get(name)) {
      throw new WeightError(`network inception: weight "${name}" is not in the package`);
    }
  }
  return net;
}
