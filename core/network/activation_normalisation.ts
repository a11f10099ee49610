/**
 * Gatys et al.'s mean-activation normalisation of VGG: rescale the weights so
 * that every filter's mean activation over a set of images and all positions
 * is 1. ReLU and pooling commute with positive per-channel scaling, so
 * dividing a convolution's output channel c by its mean m_c (kernel and bias)
 * and multiplying the next convolution's input channel c by m_c leaves what
 * the network detects unchanged: every feature map becomes its original
 * divided by m_c. What changes is the relative size of the layers and
 * channels, and so the balance of the costs read from them.
 *
 * Gatys et al. measured the means on ImageNet images; here they are measured
 * on the images given (for example the content and style images, or a few
 * bundled examples), so the result depends on that choice.
 *
 * @module
 */

import { input, reduceMean, type Tensor, toOnnx } from "../graph/mod.ts";
import { createSession, type Session, type SessionOptions } from "../runtime/mod.ts";
import type { RgbImage } from "../image.ts";
import {
  type ConvLayer,
  layerInputs,
  layersNeeded,
  type NamedTensor,
  type NetworkDescription,
  weightNames,
} from "./description.ts";
import { FeatureNetwork } from "./feature_network.ts";

/** Options of {@linkcode meanActivations}. */
export interface MeanActivationOptions extends SessionOptions {
  /** The layers measured. */
  layers: readonly string[];
  /** Pooling of the network's swappable pools while measuring (default: the table's own). */
  pooling?: "max" | "avg";
}

/** Options of {@linkcode normaliseActivations}. */
export interface NormaliseActivationOptions extends SessionOptions {
  /**
   * The layers that will be read; the convolutions they depend on are
   * normalised. Default: every convolution whose weights the network holds.
   */
  layers?: readonly string[];
  /** Pooling of the network's swappable pools while measuring (default: the table's own). */
  pooling?: "max" | "avg";
}

/** Means below this count as a channel that never fires on the images (left unscaled). */
const MIN_MEAN = 1e-20;

/**
 * The mean of each channel of the layers `options.layers` over `images` and
 * all positions, each image weighing the same whatever its size. Images are
 * used at their own size (shrink large ones first: the cost is a forward
 * pass each); images of one size share a compiled graph.
 */
export async function meanActivations(
  network: FeatureNetwork,
  images: readonly RgbImage[],
  options: MeanActivationOptions,
): Promise<Map<string, Float64Array>> {
  if (images.length === 0) {
    throw new RangeError(`network ${network.name}: no images to measure mean activations on`);
  }
  const { layers: asked, pooling, ...first } = options;
  const layers = [...new Set(asked)];
  // Every session runs where the first landed, which is announced once.
  let sessionOptions: SessionOptions = first;
  const sums = new Map<string, Float64Array>();
  const bySize = new Map<string, RgbImage[]>();
  for (const image of images) {
    const key = `${image.width}x${image.height}`;
    bySize.set(key, [...(bySize.get(key) ?? []), image]);
  }
  for (const group of bySize.values()) {
    const { width, height } = group[0];
    const features = network.features(input("image", [1, 3, height, width]), layers, {
      pooling,
      inputPadding: network.description.inputPadding,
    });
    // Rows first, then the rest: float32 sums over short runs stay accurate
    // where one long sequential sum over H·W positions would not.
    const outputs: Record<string, Tensor> = {};
    layers.forEach((name, i) => {
      outputs[`m${i}`] = reduceMean(reduceMean(features[name], { axes: [3] }), { axes: [0, 2] });
    });
    const session: Session = await createSession(
      toOnnx(outputs, { name: "mean_activations" }),
      sessionOptions,
    );
    sessionOptions = { ...first, backend: session.backend, onNotice: undefined };
    try {
      for (const image of group) {
        const out = await session.run({ image: image.data });
        layers.forEach((name, i) => {
          const means = out[`m${i}`];
          const sum = sums.get(name) ?? new Float64Array(means.length);
          for (let c = 0; c < means.length; c++) sum[c] += means[c];
          sums.set(name, sum);
        });
      }
    } finally {
      await session.release();
    }
  }
  for (const [name, sum] of sums) {
    for (let c = 0; c < sum.length; c++) {
      sum[c] /= images.length;
      if (!Number.isFinite(sum[c])) {
        throw new RangeError(
          `network ${network.name}: the mean activation of ${name} channel ${c} is ${sum[c]}; ` +
            `check the images for NaN or infinite pixels`,
        );
      }
    }
  }
  return sums;
}

/** The conv layers whose weights `network` holds. */
function heldConvs(network: FeatureNetwork): string[] {
  return network.description.layers
    .filter((l) => l.type === "conv" && weightNames(l).every((w) => network.weights.has(w)))
    .map((l) => l.name);
}

/** A convolution to normalise and the relu that measures it. */
interface Step {
  conv: ConvLayer;
  relu: string;
}

/** The convolutions behind `targets`, each with the relu reading it; throws where none does. */
function stepsFor(net: NetworkDescription, targets: readonly string[]): Step[] {
  const reluOf = new Map<string, string>();
  net.layers.forEach((layer, i) => {
    const from = layerInputs(net, i)[0];
    if (layer.type === "relu" && !reluOf.has(from)) reluOf.set(from, layer.name);
  });
  return layersNeeded(net, targets).flatMap((layer): Step[] => {
    if (layer.type !== "conv") return [];
    const refuse = (why: string): never => {
      throw new RangeError(
        `network ${net.name}: cannot normalise the mean activations of ${layer.name}: ${why}`,
      );
    };
    // Folding a per-channel scale into frozen batch-norm statistics is not done.
    if (layer.batchNorm) refuse("it has batch normalisation");
    const relu = reluOf.get(layer.name) ?? refuse("no relu layer reads it");
    return [{ conv: layer, relu }];
  });
}

/**
 * A copy of `network` whose every normalised ReLU layer has mean activation 1
 * per channel over `images` (Gatys et al.'s normalisation of VGG). Each
 * convolution's output channel o is divided by its mean m_o (kernel and
 * bias), and its input channel i multiplied by the mean of the channel it
 * reads, so every feature map is the original's divided by its channel's mean.
 * A channel that never fires on the images (mean 0, or below 1e-20) is left
 * as it is.
 *
 * The means are measured with `options.pooling` (default: the table's); the
 * rescaling itself is valid for either pooling, but the means come out at
 * exactly 1 only under the pooling measured with (the layers before the first
 * pool are the same either way).
 *
 * @example
 * ```ts
 * import { loadNetwork, normaliseActivations, rgbImage, uniform } from "../../mod.ts";
 * const net = await loadNetwork("tiny", { seed: 1 });
 * const images = [rgbImage(16, 16, uniform(3 * 16 * 16, 2, { lo: 0, hi: 1 }))];
 * const normalised = await normaliseActivations(net, images, { backend: "wasm" });
 * ```
 */
export async function normaliseActivations(
  network: FeatureNetwork,
  images: readonly RgbImage[],
  options: NormaliseActivationOptions = {},
): Promise<FeatureNetwork> {
  const net = network.description;
  const { layers, ...measure } = options;
  const targets = layers ?? heldConvs(network);
  const steps = stepsFor(net, targets);
  const means = await meanActivations(network, images, {
    ...measure,
    layers: steps.map((s) => s.relu),
  });
  // divisor.get(name)[c]: what channel c of that layer's output ends up divided by.
  // ReLU and pooling pass it through, concatenation joins it, a convolution
  // replaces it with its own mean (dead channels: 1, i.e. left as they are).
  const divisor = new Map<string, Float64Array>([["input", new Float64Array(3).fill(1)]]);
  const measured = new Map(steps.map((s) => [s.conv.name, means.get(s.relu)!]));
  const weights = new Map<string, NamedTensor>(network.weights);
  const indexOf = new Map(net.layers.map((l, i) => [l.name, i]));
  for (const layer of layersNeeded(net, targets)) {
    const from = layerInputs(net, indexOf.get(layer.name)!).map((n) => divisor.get(n)!);
    if (layer.type === "concat") {
      divisor.set(layer.name, Float64Array.from(from.flatMap((d) => [...d])));
      continue;
    }
    if (layer.type !== "conv") {
      divisor.set(layer.name, from[0]);
      continue;
    }
    const out = measured.get(layer.name)!.map((m) => (m > MIN_MEAN ? m : 1));
    divisor.set(layer.name, out);
    rescaleConv(layer, weights, { in: from[0], out });
  }
  return new FeatureNetwork(
    { ...net, title: `${net.title}, mean activations normalised` },
    weights,
  );
}

/** Replaces a conv's kernel W[o, i] by W[o, i]·in[i]/out[o] and its bias b[o] by b[o]/out[o]. */
function rescaleConv(
  conv: ConvLayer,
  weights: Map<string, NamedTensor>,
  scale: { in: Float64Array; out: Float64Array },
): void {
  const kernel = weights.get(conv.weight)!;
  const [filters, inChannels] = kernel.shape;
  const area = kernel.data.length / (filters * inChannels);
  const data = new Float32Array(kernel.data.length);
  for (let o = 0; o < filters; o++) {
    for (let i = 0; i < inChannels; i++) {
      const k = scale.in[i] / scale.out[o];
      const at = (o * inChannels + i) * area;
      for (let j = at; j < at + area; j++) data[j] = kernel.data[j] * k;
    }
  }
  weights.set(conv.weight, { shape: kernel.shape, data });
  if (conv.bias) {
    const bias = weights.get(conv.bias)!;
    weights.set(conv.bias, {
      shape: bias.shape,
      data: bias.data.map((b, o) => b / scale.out[o]),
    });
  }
}
