/**
 * The shape each weight of a network description must have, worked out from
 * its layer table, so loaders can reject a wrong file with a message naming
 * the weight and the layer before a graph is built.
 *
 * @module
 */

import { formatShape } from "../graph/mod.ts";
import { layerInputs, layersNeeded, type NetworkDescription } from "./description.ts";
import { WeightError } from "./feature_network.ts";
import { layerChannels } from "./random_weights.ts";

/** A weight a layer reads, and the shape it needs. */
export interface WeightSpec {
  /** Weight name (e.g. `features.0.weight`). */
  readonly name: string;
  /** The layer that reads it (e.g. `conv1_1`). */
  readonly layer: string;
  /** Required shape (kernels OIHW, vectors `[filters]`). */
  readonly shape: readonly number[];
}

/** The weights the layers `targets` depend on (default: every layer), in table order. */
export function weightSpecs(
  net: NetworkDescription,
  targets: readonly string[] = net.layers.map((l) => l.name),
): WeightSpec[] {
  const channels = layerChannels(net);
  const index = new Map(net.layers.map((l, i) => [l.name, i]));
  const specs: WeightSpec[] = [];
  for (const layer of layersNeeded(net, targets)) {
    if (layer.type !== "conv") continue;
    const inChannels = channels.get(layerInputs(net, index.get(layer.name)!)[0])!;
    const [kh, kw] = typeof layer.kernel === "number" ? [layer.kernel, layer.kernel] : layer.kernel;
    const vector = [layer.filters];
    specs.push({
      name: layer.weight,
      layer: layer.name,
      shape: [layer.filters, inChannels, kh, kw],
    });
    if (layer.bias) specs.push({ name: layer.bias, layer: layer.name, shape: vector });
    const bn = layer.batchNorm;
    if (bn) {
      for (const name of [bn.mean, bn.variance, bn.scale, bn.offset]) {
        if (name) specs.push({ name, layer: layer.name, shape: vector });
      }
    }
  }
  return specs;
}

/** Throws a {@linkcode WeightError} unless `shape` is the one `spec` needs. */
export function checkWeightShape(
  spec: WeightSpec,
  shape: readonly number[],
  options: { source: string; network: string },
): void {
  if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
    throw new WeightError(
      `${options.source}: weight "${spec.name}" has shape ${
        formatShape(shape)
      }, layer ${spec.layer} ` +
        `of ${options.network} expects ${formatShape(spec.shape)}`,
    );
  }
}
