/**
 * The whole nsfwjs InceptionV3, classifier head included: the feature table
 * of {@linkcode inceptionDescription} and, after it, the Keras layers it
 * leaves aside (Flatten, Dense, Dropout), built as matrix products. Used to
 * check the rebuild against nsfwjs's own class probabilities.
 *
 * @module
 */

import {
  add,
  constant,
  matmul,
  relu,
  reshape,
  softmax,
  type Tensor,
  transpose,
} from "../graph/mod.ts";
import { FeatureNetwork, WeightError } from "./feature_network.ts";
import { inceptionDescription } from "./inception.ts";
import { kerasInputs, kerasLayers } from "./keras_layers.ts";
import { readInceptionPackage } from "./nsfwjs_package.ts";

/** The classes of nsfwjs's InceptionV3, in output order (its `nsfw_classes.js`). */
export const INCEPTION_CLASSES: readonly string[] = [
  "Drawing",
  "Hentai",
  "Neutral",
  "Porn",
  "Sexy",
];

/** InceptionV3 with nsfwjs's classifier head. */
export interface InceptionClassifier {
  /** The feature network (every layer up to the head). */
  readonly network: FeatureNetwork;
  /** Class names, in output order. */
  readonly classes: readonly string[];
  /**
   * Logits and softmax probabilities `[N, 5]` of an image `[N, 3, 299, 299]`
   * in [0, 1] (the head's pooling window fits 299 px exactly).
   */
  classify(image: Tensor): { logits: Tensor; probabilities: Tensor };
}

/**
 * The whole nsfwjs InceptionV3, classifier included: the layers after the
 * feature table (Flatten, Dense, Dropout, read from the topology) are built
 * as matrix products; Dropout is the identity at inference.
 */
export async function loadInceptionClassifier(): Promise<InceptionClassifier> {
  const { layers, weights } = await readInceptionPackage();
  const network = new FeatureNetwork(inceptionDescription(layers), weights);
  const { rest, aliases } = kerasLayers(layers);
  const weight = (key: string, shape: readonly number[]): Tensor => {
    const w = weights.get(key);
    if (!w || w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new WeightError(
        `network inception: weight "${key}" is missing or not of shape [${shape.join(", ")}]`,
      );
    }
    return constant(w.data, w.shape, { name: key });
  };
  const classify = (image: Tensor) => {
    const [first] = kerasInputs(rest[0]);
    const start = aliases.get(first) ?? first;
    const values = new Map<string, Tensor>([[first, network.features(image, [start])[start]]]);
    let logits: Tensor | undefined;
    let last: Tensor | undefined;
    for (const layer of rest) {
      const inputs = kerasInputs(layer).map((n) => values.get(n));
      if (inputs.length !== 1 || !inputs[0]) {
        throw new RangeError(`network inception: head layer ${layer.name} must read one layer`);
      }
      let x = inputs[0];
      switch (layer.class_name) {
        case "Flatten":
          // Keras flattens channels-last: H, W, C.
          x = reshape(transpose(x, [0, 2, 3, 1]), [x.shape[0], -1]);
          break;
        case "Dropout":
          break;
        case "Dense": {
          const units = Number(layer.config.units);
          x = matmul(x, weight(`${layer.name}/kernel`, [x.shape[1], units]));
          if (layer.config.use_bias !== false) x = add(x, weight(`${layer.name}/bias`, [units]));
          const activation = String(layer.config.activation ?? "linear");
          if (activation === "relu") x = relu(x);
          else if (activation === "softmax") {
            logits = x;
            x = softmax(x, -1);
          } else if (activation !== "linear") {
            throw new RangeError(`network inception: activation ${activation} is not supported`);
          }
          break;
        }
        default:
          throw new RangeError(
            `network inception: head layer ${layer.name} (${layer.class_name}) is not supported`,
          );
      }
      values.set(layer.name, x);
      last = x;
    }
    return { logits: logits ?? last!, probabilities: last! };
  };
  return { network, classes: INCEPTION_CLASSES, classify };
}
