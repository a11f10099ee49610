/**
 * A feature network ready to use: a description plus its weights. It builds
 * the expressions for just the layers a cost asks for, on any image tensor.
 *
 * @module
 */

import {
  avgPool,
  concat,
  constant,
  conv2d,
  div,
  foldBatchNorm,
  formatShape,
  maxPool,
  padReflect,
  relu,
  sub,
  type Tensor,
} from "../graph/mod.ts";
import {
  type ConvLayer,
  layerInputs,
  layersNeeded,
  type NamedTensor,
  type NetworkDescription,
  weightNames,
  type WeightSet,
} from "./description.ts";

/** Options of {@linkcode FeatureNetwork.features}. */
export interface FeatureOptions {
  /** Replace the op of swappable pooling layers (VGG: max or average). */
  pooling?: "max" | "avg";
  /**
   * Mirror padding around the image, in pixels (default 0: the network as
   * published). Style transfer uses the description's `inputPadding`.
   */
  inputPadding?: number;
}

/** Thrown when weights are missing or do not fit the network's table. */
export class WeightError extends Error {
  /** Creates the error; the message names the network, the weight and the problem. */
  constructor(message: string) {
    super(message);
    this.name = "WeightError";
  }
}

/** A network description with its weights. */
export class FeatureNetwork {
  /** The layer table and defaults. */
  readonly description: NetworkDescription;
  /** The weights, by name. */
  readonly weights: WeightSet;
  readonly #convs = new Map<string, { kernel: Tensor; bias?: Tensor }>();

  /** Pairs a description with weights (checked when layers are built). */
  constructor(description: NetworkDescription, weights: WeightSet) {
    this.description = description;
    this.weights = weights;
  }

  /** The network's name. */
  get name(): string {
    return this.description.name;
  }

  /** Every layer name, in table order. */
  get layerNames(): string[] {
    return this.description.layers.map((l) => l.name);
  }

  /**
   * The expressions of the layers `names`, computed from `image` (NCHW RGB in
   * [0, 1]); only the layers they depend on are built.
   */
  features(
    image: Tensor,
    names: readonly string[],
    options: FeatureOptions = {},
  ): Record<string, Tensor> {
    const net = this.description;
    if (image.rank !== 4 || image.shape[1] !== 3) {
      throw new RangeError(
        `network ${net.name}: the image must be [N, 3, H, W], got ${formatShape(image.shape)}`,
      );
    }
    const side = Math.min(image.shape[2], image.shape[3]);
    if (side < net.minSize) {
      throw new RangeError(
        `network ${net.name}: images need at least ${net.minSize}×${net.minSize} pixels, got ` +
          `${image.shape[3]}×${image.shape[2]}; use a larger size`,
      );
    }
    const perChannel = (v: readonly number[]) => constant(Float32Array.from(v), [1, 3, 1, 1]);
    const normalised = div(
      sub(image, perChannel(net.preprocess.mean)),
      perChannel(net.preprocess.std),
    );
    const pad = Math.min(options.inputPadding ?? 0, side - 1);
    const values = new Map<string, Tensor>([["input", padReflect(normalised, pad)]]);
    const indexOf = new Map(net.layers.map((l, i) => [l.name, i]));
    for (const layer of layersNeeded(net, names)) {
      const inputs = layerInputs(net, indexOf.get(layer.name)!).map((n) => values.get(n)!);
      let out: Tensor;
      switch (layer.type) {
        case "conv": {
          const { kernel, bias } = this.#conv(layer, inputs[0].shape[1]);
          out = conv2d(inputs[0], kernel, { bias, stride: layer.stride, padding: layer.padding });
          break;
        }
        case "relu":
          out = relu(inputs[0]);
          break;
        case "pool": {
          const op = layer.swappable && options.pooling ? options.pooling : layer.op;
          const pool = op === "max" ? maxPool : avgPool;
          out = pool(inputs[0], {
            kernel: layer.kernel,
            stride: layer.stride,
            padding: layer.padding,
          });
          break;
        }
        case "concat":
          out = concat(inputs, 1);
          break;
      }
      values.set(layer.name, out);
    }
    return Object.fromEntries(names.map((n) => [n, values.get(n)!]));
  }

  /**
   * A guidance mask (`[1, 1, H, W]`, already padded like the input) carried
   * to the layers `names`: every conv and pool becomes an average over the
   * same window (padding excluded), ReLUs pass it on, and a concat's inputs
   * share one grid. Each value is the share of the position's receptive field
   * that lies inside the mask, weighted as the windows nest.
   */
  guidance(mask: Tensor, names: readonly string[]): Record<string, Tensor> {
    const net = this.description;
    const values = new Map<string, Tensor>([["input", mask]]);
    const indexOf = new Map(net.layers.map((l, i) => [l.name, i]));
    for (const layer of layersNeeded(net, names)) {
      const inputs = layerInputs(net, indexOf.get(layer.name)!).map((n) => values.get(n)!);
      const out = layer.type === "conv" || layer.type === "pool"
        ? avgPool(inputs[0], {
          kernel: layer.kernel,
          stride: layer.stride ?? (layer.type === "pool" ? layer.kernel : 1),
          padding: layer.padding,
        })
        : inputs[0];
      values.set(layer.name, out);
    }
    return Object.fromEntries(names.map((n) => [n, values.get(n)!]));
  }

  /** The weights the layers `names` need (for loaders that fetch only those). */
  weightsFor(names: readonly string[]): string[] {
    return layersNeeded(this.description, names).flatMap(weightNames);
  }

  /** A conv layer's kernel and bias constants, batch norm folded in; built once. */
  #conv(layer: ConvLayer, inChannels: number): { kernel: Tensor; bias?: Tensor } {
    const known = this.#convs.get(layer.name);
    if (known) return known;
    const [kh, kw] = typeof layer.kernel === "number" ? [layer.kernel, layer.kernel] : layer.kernel;
    const kernel = this.#weight(layer.weight, [layer.filters, inChannels, kh, kw], layer.name);
    const bias = layer.bias ? this.#weight(layer.bias, [layer.filters], layer.name) : undefined;
    let result: { kernel: Tensor; bias?: Tensor };
    if (layer.batchNorm) {
      const bn = layer.batchNorm;
      const vec = (key?: string) =>
        key ? this.#weight(key, [layer.filters], layer.name).data : undefined;
      const folded = foldBatchNorm(kernel.data, bias?.data, {
        mean: vec(bn.mean)!,
        variance: vec(bn.variance)!,
        scale: vec(bn.scale),
        offset: vec(bn.offset),
        epsilon: bn.epsilon,
      });
      result = {
        kernel: constant(folded.kernel, kernel.shape, { name: layer.weight }),
        bias: constant(folded.bias, [layer.filters], { name: `${layer.name}.folded_bias` }),
      };
    } else {
      result = {
        kernel: constant(kernel.data, kernel.shape, { name: layer.weight }),
        bias: bias && constant(bias.data, bias.shape, { name: layer.bias }),
      };
    }
    this.#convs.set(layer.name, result);
    return result;
  }

  #weight(key: string, shape: readonly number[], layer: string): NamedTensor {
    const w = this.weights.get(key);
    if (!w) {
      throw new WeightError(`network ${this.name}: weight "${key}" of layer ${layer} is missing`);
    }
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new WeightError(
        `network ${this.name}: weight "${key}" has shape ${formatShape(w.shape)}, layer ${layer} ` +
          `expects ${formatShape(shape)}`,
      );
    }
    if (w.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new WeightError(
        `network ${this.name}: weight "${key}" holds ${w.data.length} values for shape ${
          formatShape(shape)
        }`,
      );
    }
    return w;
  }
}
