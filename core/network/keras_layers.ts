/**
 * Keras (TensorFlow.js layers) topologies as layer tables: a functional
 * model's layers, channels last, become rows of a {@linkcode LayerSpec}
 * table, Keras names kept; what cannot be a row is handed back aside.
 *
 * @module
 */

import type { LayerSpec } from "./description.ts";

/** One layer of a Keras functional model's topology (`model_config.config.layers[i]`). */
export interface KerasLayer {
  /** Unique name (`conv2d_1`, `mixed0`, …). */
  name: string;
  /** Keras class (`Conv2D`, `BatchNormalization`, …). */
  class_name: string;
  /** The layer's constructor arguments. */
  config: Record<string, unknown>;
  /** Call sites: `[[[inputName, nodeIndex, tensorIndex, kwargs], …]]`. */
  inbound_nodes: unknown[];
}

/** What {@linkcode kerasLayers} makes of a Keras topology. */
export interface KerasConversion {
  /** The layer table, in the topology's order, Keras names kept. */
  layers: LayerSpec[];
  /** The layers it could not express as rows (e.g. the classifier head), in order. */
  rest: KerasLayer[];
  /** For layers that became no row of their own: the row (or `input`) giving their output. */
  aliases: ReadonlyMap<string, string>;
}

/** The names of the Keras layers `layer` reads (its one call site's inputs). */
export function kerasInputs(layer: KerasLayer): string[] {
  if (layer.inbound_nodes.length === 0) return [];
  if (layer.inbound_nodes.length !== 1) {
    throw new RangeError(`keras: layer ${layer.name} is called more than once (shared layers)`);
  }
  return (layer.inbound_nodes[0] as unknown[][]).map((n) => String(n[0]));
}

const pairOf = (v: unknown): [number, number] =>
  Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];

/**
 * Converts a Keras (channels-last) topology to a layer table: Conv2D (with
 * the BatchNormalization right after it folded in), Activation relu / linear,
 * MaxPooling2D, AveragePooling2D, Concatenate on the channel axis. Everything
 * else, and everything that reads it, is left in `rest`. Weight names are
 * TensorFlow.js's (`conv2d_1/kernel`, `batch_normalization_1/moving_mean`);
 * kernels are expected OIHW in the weight set.
 */
export function kerasLayers(layers: readonly KerasLayer[]): KerasConversion {
  const consumers = new Map<string, KerasLayer[]>();
  for (const layer of layers) {
    for (const name of kerasInputs(layer)) {
      consumers.set(name, [...(consumers.get(name) ?? []), layer]);
    }
  }
  const rows: LayerSpec[] = [];
  const rest: KerasLayer[] = [];
  const aliases = new Map<string, string>();
  const known = new Set<string>(["input"]);
  // The row holding a Keras layer's output, if that layer has been converted.
  const source = (name: string): string | undefined => {
    const row = aliases.get(name) ?? name;
    return known.has(row) ? row : undefined;
  };
  for (const layer of layers) {
    const c = layer.config;
    const inputs = kerasInputs(layer).map(source);
    const push = (row: LayerSpec) => {
      rows.push(row);
      known.add(row.name);
    };
    if (inputs.some((i) => i === undefined) || c.data_format === "channels_first") {
      rest.push(layer);
      continue;
    }
    const from = inputs[0]!;
    switch (layer.class_name) {
      case "InputLayer":
        aliases.set(layer.name, "input");
        continue;
      case "Conv2D": {
        const dilated = pairOf(c.dilation_rate ?? 1).some((d) => d !== 1);
        if ((c.activation ?? "linear") !== "linear" || dilated) break;
        const next = consumers.get(layer.name) ?? [];
        const bn = next.length === 1 && next[0].class_name === "BatchNormalization" &&
            [-1, 3].includes(Number(next[0].config.axis ?? -1))
          ? next[0]
          : undefined;
        const b = bn?.config;
        push({
          name: layer.name,
          type: "conv",
          input: from,
          filters: Number(c.filters),
          kernel: pairOf(c.kernel_size),
          stride: pairOf(c.strides ?? 1),
          padding: c.padding === "same" ? "same" : "valid",
          weight: `${layer.name}/kernel`,
          bias: c.use_bias === false ? undefined : `${layer.name}/bias`,
          batchNorm: bn && {
            mean: `${bn.name}/moving_mean`,
            variance: `${bn.name}/moving_variance`,
            scale: b!.scale === false ? undefined : `${bn.name}/gamma`,
            offset: b!.center === false ? undefined : `${bn.name}/beta`,
            epsilon: Number(b!.epsilon ?? 1e-3),
          },
        });
        if (bn) aliases.set(bn.name, layer.name);
        continue;
      }
      case "BatchNormalization":
        if (aliases.has(layer.name)) continue; // folded into its convolution
        break;
      case "Activation":
        if (c.activation === "linear") {
          aliases.set(layer.name, from);
          continue;
        }
        if (c.activation !== "relu") break;
        push({ name: layer.name, type: "relu", input: from });
        continue;
      case "MaxPooling2D":
      case "AveragePooling2D": {
        const kernel = pairOf(c.pool_size);
        push({
          name: layer.name,
          type: "pool",
          input: from,
          op: layer.class_name === "MaxPooling2D" ? "max" : "avg",
          kernel,
          stride: c.strides == null ? kernel : pairOf(c.strides),
          padding: c.padding === "same" ? "same" : "valid",
          // TF/Keras average pooling excludes padding from the count, as our
          // avgPool does by default.
          swappable: false,
        });
        continue;
      }
      case "Concatenate":
        if (![-1, 3].includes(Number(c.axis ?? -1))) break;
        // Channels last in Keras is our axis 1 (NCHW).
        push({ name: layer.name, type: "concat", inputs: inputs as string[] });
        continue;
    }
    rest.push(layer);
  }
  return { layers: rows, rest, aliases };
}
