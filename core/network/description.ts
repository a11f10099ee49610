/**
 * The network description format: a feature network as a table of named
 * layers (conv, relu, pool, concat), its preprocessing, and the layers and
 * weights style transfer should use by default. Weights live apart, in a
 * {@linkcode WeightSet} keyed by the names the table gives.
 *
 * @module
 */

import type { Padding, Pair } from "../graph/mod.ts";

/** A float32 tensor with its shape, as stored in a weight file. */
export interface NamedTensor {
  /** Shape (convolution kernels are OIHW). */
  readonly shape: readonly number[];
  /** Values, row-major. */
  readonly data: Float32Array;
}

/** Weights by name. */
export type WeightSet = ReadonlyMap<string, NamedTensor>;

/** Frozen batch-norm parameters by weight name; folded into the convolution before it. */
export interface BatchNormKeys {
  /** Running mean. */
  mean: string;
  /** Running variance. */
  variance: string;
  /** γ (absent: 1). */
  scale?: string;
  /** β (absent: 0). */
  offset?: string;
  /** Added to the variance. */
  epsilon: number;
}

interface LayerBase {
  /** Unique name, used by costs to read features (e.g. `relu4_2`, `mixed1`). */
  name: string;
  /** The layer it reads; default: the previous row; `"input"` is the preprocessed image. */
  input?: string;
}

/** A 2-D convolution. */
export interface ConvLayer extends LayerBase {
  /** Discriminator. */
  type: "conv";
  /** Output channels. */
  filters: number;
  /** Kernel size. */
  kernel: Pair;
  /** Stride (default 1). */
  stride?: Pair;
  /** Padding (default "valid"). */
  padding?: Padding;
  /** Name of the OIHW kernel in the weight set. */
  weight: string;
  /** Name of the bias, if any. */
  bias?: string;
  /** Batch normalisation after the convolution, folded into it. */
  batchNorm?: BatchNormKeys;
}

/** A rectified linear unit. */
export interface ReluLayer extends LayerBase {
  /** Discriminator. */
  type: "relu";
}

/** Max or average pooling. */
export interface PoolLayer extends LayerBase {
  /** Discriminator. */
  type: "pool";
  /** Max or average. */
  op: "max" | "avg";
  /** Window. */
  kernel: Pair;
  /** Stride (default: the window). */
  stride?: Pair;
  /** Padding (default "valid"). */
  padding?: Padding;
  /** Whether a `pooling` choice may replace `op` (VGG's pools: yes). */
  swappable?: boolean;
}

/** Channel concatenation (Inception blocks). */
export interface ConcatLayer {
  /** Unique name. */
  name: string;
  /** Discriminator. */
  type: "concat";
  /** The layers joined, in order. */
  inputs: string[];
}

/** One row of a network table. */
export type LayerSpec = ConvLayer | ReluLayer | PoolLayer | ConcatLayer;

/** A layer and its weight in a cost. */
export interface WeightedLayer {
  /** Layer name. */
  layer: string;
  /** Its weight. */
  weight: number;
}

/** Everything about a feature network except its weights. */
export interface NetworkDescription {
  /** Registry name (`vgg19`, `inception`, …). */
  name: string;
  /** One line for help texts. */
  title: string;
  /** Input preprocessing of an RGB image in [0, 1]: `(x − mean) / std` per channel. */
  preprocess: { mean: readonly [number, number, number]; std: readonly [number, number, number] };
  /** The layer table in topological order. */
  layers: readonly LayerSpec[];
  /** Recommended layers for style transfer. */
  defaults: { style: readonly WeightedLayer[]; content: readonly WeightedLayer[] };
  /** The smallest image side the network handles (deep layers shrink to nothing below it). */
  minSize: number;
  /**
   * Pixels of mirror padding style transfer should add around the image
   * before the first layer (default 0). Keeps the border pixels in play where
   * a strided first layer would skip them or zero padding would distort their
   * features.
   */
  inputPadding?: number;
}

/** The weight names a layer reads. */
export function weightNames(layer: LayerSpec): string[] {
  if (layer.type !== "conv") return [];
  const bn = layer.batchNorm;
  return [
    layer.weight,
    ...(layer.bias ? [layer.bias] : []),
    ...(bn
      ? [bn.mean, bn.variance, ...(bn.scale ? [bn.scale] : []), ...(bn.offset ? [bn.offset] : [])]
      : []),
  ];
}

/** The layers `targets` depend on (themselves included), in table order. */
export function layersNeeded(net: NetworkDescription, targets: readonly string[]): LayerSpec[] {
  const byName = new Map<string, { layer: LayerSpec; index: number }>();
  net.layers.forEach((layer, index) => byName.set(layer.name, { layer, index }));
  const needed = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const name = stack.pop()!;
    if (name === "input") continue;
    const found = byName.get(name);
    if (!found) {
      throw new RangeError(
        `network ${net.name}: no layer "${name}" (layers: ${
          net.layers.map((l) => l.name).join(", ")
        })`,
      );
    }
    if (needed.has(found.index)) continue;
    needed.add(found.index);
    stack.push(...layerInputs(net, found.index));
  }
  return [...needed].sort((a, b) => a - b).map((i) => net.layers[i]);
}

/** The names a layer reads, resolving the "previous row" default. */
export function layerInputs(net: NetworkDescription, index: number): string[] {
  const layer = net.layers[index];
  if (layer.type === "concat") return layer.inputs;
  return [layer.input ?? (index === 0 ? "input" : net.layers[index - 1].name)];
}
