/**
 * Feature networks: the description format, VGG-16/19, the tiny test network,
 * random weights, and the runtime object that builds feature expressions.
 *
 * @module
 */

export {
  type BatchNormKeys,
  type ConcatLayer,
  type ConvLayer,
  layerInputs,
  layersNeeded,
  type LayerSpec,
  type NamedTensor,
  type NetworkDescription,
  type PoolLayer,
  type ReluLayer,
  type WeightedLayer,
  weightNames,
  type WeightSet,
} from "./description.ts";
export { FeatureNetwork, type FeatureOptions, WeightError } from "./feature_network.ts";
export { vggDescription, vggLayers, type VggVariant } from "./vgg.ts";
export { TINY } from "./tiny.ts";
export { layerChannels, randomWeights } from "./random_weights.ts";
