/**
 * Seeded random weights for any network description: He-normal kernels and
 * zero biases (batch norm as identity). Used by the `random` network and by
 * tests, where real weights are not needed.
 *
 * @module
 */

import { normal } from "../random.ts";
import type { NamedTensor, NetworkDescription, WeightSet } from "./description.ts";
import { layerInputs } from "./description.ts";

/** Output channels of every layer, walking the table from the 3-channel input. */
export function layerChannels(net: NetworkDescription): Map<string, number> {
  const channels = new Map<string, number>([["input", 3]]);
  net.layers.forEach((layer, i) => {
    const inputs = layerInputs(net, i).map((n) => channels.get(n)!);
    channels.set(
      layer.name,
      layer.type === "conv"
        ? layer.filters
        : layer.type === "concat"
        ? inputs.reduce((a, b) => a + b, 0)
        : inputs[0],
    );
  });
  return channels;
}

/** Random weights for every layer of `net`, reproducible from `seed`. */
export function randomWeights(net: NetworkDescription, seed: number): WeightSet {
  const channels = layerChannels(net);
  const weights = new Map<string, NamedTensor>();
  let k = 0;
  net.layers.forEach((layer, i) => {
    if (layer.type !== "conv") return;
    const inChannels = channels.get(layerInputs(net, i)[0])!;
    const [kh, kw] = typeof layer.kernel === "number" ? [layer.kernel, layer.kernel] : layer.kernel;
    const fanIn = inChannels * kh * kw;
    const shape = [layer.filters, inChannels, kh, kw];
    weights.set(layer.weight, {
      shape,
      data: normal(layer.filters * fanIn, seed * 7919 + k++, Math.sqrt(2 / fanIn)),
    });
    const zeros = { shape: [layer.filters], data: new Float32Array(layer.filters) };
    if (layer.bias) weights.set(layer.bias, zeros);
    const bn = layer.batchNorm;
    if (bn) {
      weights.set(bn.mean, zeros);
      weights.set(bn.variance, {
        shape: [layer.filters],
        data: new Float32Array(layer.filters).fill(1 - bn.epsilon),
      });
      if (bn.scale) {
        weights.set(bn.scale, {
          shape: [layer.filters],
          data: new Float32Array(layer.filters).fill(1),
        });
      }
      if (bn.offset) weights.set(bn.offset, zeros);
    }
  });
  return weights;
}
