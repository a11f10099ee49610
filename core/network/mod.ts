/**
 * Feature networks: the description format, VGG-16/19, the tiny test network,
 * random weights, and the runtime object that builds feature expressions;
 * weight readers (safetensors, ONNX initializers), the weight store, and the
 * download with cache, resume and integrity check; InceptionV3 with the
 * offline weights of the npm package nsfwjs, the Keras topology converter it
 * is built with, and its classifier head. The registry of named networks
 * (records, `loadNetwork`) is exported from `registry.ts` by the core.
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
export { checkWeightShape, type WeightSpec, weightSpecs } from "./weight_shapes.ts";
export { CacheError, DownloadError, WeightFileError } from "./weight_errors.ts";
export { decodeFloats, FLOAT_DTYPE_SIZES, type FloatDtype } from "./float_decode.ts";
export {
  decodeTensor,
  FLOAT_DTYPES,
  type HeaderOptions,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
  readSafetensors,
  type ReadSafetensorsOptions,
  SAFETENSORS_DTYPES,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from "./safetensors.ts";
export { readOnnxInitializers, type ReadOnnxOptions } from "./onnx_weights.ts";
export { MemoryStore, type WeightStore } from "./weight_store.ts";
export { type CachedTensorInfo, type PartialInfo, TensorCache } from "./tensor_cache.ts";
export {
  type DownloadOptions,
  type DownloadProgress,
  isRemoteCached,
  loadRemoteTensors,
  type RemoteCacheOptions,
} from "./download.ts";
export {
  isVggCached,
  type LoadVggOptions,
  loadVggWeights,
  type ReadVggOptions,
  readVggWeights,
  VGG_WEIGHTS,
  type VggCacheOptions,
  type VggWeightSource,
} from "./vgg_weights.ts";
export { type KerasConversion, type KerasLayer, kerasLayers } from "./keras_layers.ts";
export {
  INCEPTION_DEFAULTS,
  inceptionDescription,
  loadInception,
  type LoadInceptionOptions,
} from "./inception.ts";
export {
  INCEPTION_CLASSES,
  type InceptionClassifier,
  loadInceptionClassifier,
} from "./inception_classifier.ts";
export {
  type MeanActivationOptions,
  meanActivations,
  type NormaliseActivationOptions,
  normaliseActivations,
} from "./activation_normalisation.ts";
