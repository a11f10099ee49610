/**
 * InceptionV3 (Szegedy et al. 2015) as a feature network, with pretrained
 * weights that need no download: those inside the npm package
 * `nsfwjs@4.4.0` (MIT), an InceptionV3 fine-tuned by nsfwjs to sort images
 * into five classes (Drawing, Hentai, Neutral, Porn, Sexy). Its convolutional
 * part is ImageNet-style InceptionV3 and makes good style features.
 *
 * The package holds a Keras 2.2.4 layers model (a TensorFlow.js `model.json`)
 * and its weights as base64 text, every tensor quantised to uint8 with one
 * `min` and `scale` (value = min + scale·q). The layer table is converted from
 * the Keras topology at run time ({@linkcode kerasLayers}) and keeps Keras's
 * names (`conv2d_1`, `activation_3`, `mixed0` … `mixed10`); each
 * `batch_normalization_N` is folded into the `conv2d_N` before it, so the
 * conv row's output *is* the batch-norm output.
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
import type { LayerSpec, NamedTensor, NetworkDescription } from "./description.ts";
import { FeatureNetwork, WeightError } from "./feature_network.ts";

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

/** The classes of nsfwjs's InceptionV3, in output order (its `nsfw_classes.js`). */
export const INCEPTION_CLASSES: readonly string[] = [
  "Drawing",
  "Hentai",
  "Neutral",
  "Porn",
  "Sexy",
];

/** Where the weights come from: a pinned npm package (see deno.json). */
const PACKAGE = "nsfwjs/models/inception_v3";

/** The Keras layer names a row reads. */
function inboundNames(layer: KerasLayer): string[] {
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
    for (const name of inboundNames(layer)) {
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
    const inputs = inboundNames(layer).map(source);
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

/**
 * The InceptionV3 description made from nsfwjs's Keras topology (the layers
 * of `modelTopology.model_config.config`). Style defaults: activation_1,
 * activation_3, activation_5, mixed0, mixed2 (0.2 each); content: mixed1.
 */
export function inceptionDescription(layers: readonly KerasLayer[]): NetworkDescription {
  return {
    name: "inception",
    title: "InceptionV3 (nsfwjs 4.4.0 weights, offline)",
    // Keras InceptionV3 as nsfwjs runs it: pixel / 255, i.e. our [0, 1] as is.
    preprocess: { mean: [0, 0, 0], std: [1, 1, 1] },
    layers: kerasLayers(layers).layers,
    defaults: {
      style: ["activation_1", "activation_3", "activation_5", "mixed0", "mixed2"].map((layer) => ({
        layer,
        weight: 0.2,
      })),
      content: [{ layer: "mixed1", weight: 1 }],
    },
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

/** A tfjs weights-manifest entry. */
interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: string };
}

/** The parsed package: topology, raw quantised bytes, and tensors dequantised so far. */
interface Store {
  layers: KerasLayer[];
  weights: QuantisedWeights;
}

/**
 * The package's weights as a lazy weight set: a tensor is dequantised (and
 * a conv kernel transposed from Keras's HWIO to OIHW) the first time it is
 * read, then kept. Iterating over values dequantises everything.
 */
class QuantisedWeights implements ReadonlyMap<string, NamedTensor> {
  readonly #specs = new Map<string, { spec: ManifestEntry; offset: number }>();
  readonly #bytes: Uint8Array;
  readonly #hwio: ReadonlySet<string>;
  readonly #done = new Map<string, NamedTensor>();

  constructor(specs: readonly ManifestEntry[], bytes: Uint8Array, hwio: ReadonlySet<string>) {
    let offset = 0;
    for (const spec of specs) {
      const q = spec.quantization;
      if (spec.dtype !== "float32" || q?.dtype !== "uint8") {
        throw new WeightError(
          `network inception: weight "${spec.name}" is ${q?.dtype ?? spec.dtype}, expected ` +
            `uint8-quantised float32`,
        );
      }
      this.#specs.set(spec.name, { spec, offset });
      offset += spec.shape.reduce((a, b) => a * b, 1);
    }
    if (offset !== bytes.length) {
      throw new WeightError(
        `network inception: the manifest needs ${offset} bytes, the package holds ${bytes.length}`,
      );
    }
    this.#bytes = bytes;
    this.#hwio = hwio;
  }

  get size(): number {
    return this.#specs.size;
  }

  has(key: string): boolean {
    return this.#specs.has(key);
  }

  get(key: string): NamedTensor | undefined {
    const done = this.#done.get(key);
    if (done) return done;
    const found = this.#specs.get(key);
    if (!found) return undefined;
    const { spec, offset } = found;
    const { min, scale } = spec.quantization!;
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const q = this.#bytes.subarray(offset, offset + n);
    let tensor: NamedTensor;
    if (this.#hwio.has(key)) {
      // Keras HWIO [kh, kw, in, out] → OIHW [out, in, kh, kw].
      const [kh, kw, ci, co] = spec.shape;
      const data = new Float32Array(n);
      for (let h = 0; h < kh; h++) {
        for (let w = 0; w < kw; w++) {
          for (let i = 0; i < ci; i++) {
            const src = ((h * kw + w) * ci + i) * co;
            for (let o = 0; o < co; o++) {
              // Same arithmetic as TensorFlow.js: q·scale + min, rounded to float32.
              data[((o * ci + i) * kh + h) * kw + w] = q[src + o] * scale + min;
            }
          }
        }
      }
      tensor = { shape: [co, ci, kh, kw], data };
    } else {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = q[i] * scale + min;
      tensor = { shape: [...spec.shape], data };
    }
    this.#done.set(key, tensor);
    return tensor;
  }

  /** Every tensor, dequantised. */
  #all(): Map<string, NamedTensor> {
    return new Map([...this.#specs.keys()].map((key) => [key, this.get(key)!]));
  }

  forEach(
    callback: (value: NamedTensor, key: string, map: ReadonlyMap<string, NamedTensor>) => void,
  ): void {
    for (const [key, value] of this.#all()) callback(value, key, this);
  }

  entries(): MapIterator<[string, NamedTensor]> {
    return this.#all().entries();
  }

  keys(): MapIterator<string> {
    return this.#specs.keys();
  }

  values(): MapIterator<NamedTensor> {
    return this.#all().values();
  }

  [Symbol.iterator](): MapIterator<[string, NamedTensor]> {
    return this.entries();
  }
}

/** Base64 to bytes; `Uint8Array.fromBase64` where the runtime has it (fast, native). */
function fromBase64(text: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (native) return native(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

interface NsfwjsModel {
  InceptionV3Model: {
    modelJson(): Promise<{
      default: {
        modelTopology: { model_config: { config: { layers: KerasLayer[] } } };
        weightsManifest: { paths: string[]; weights: ManifestEntry[] }[];
      };
    }>;
    weightBundles: (() => Promise<{ default: string }>)[];
  };
}

let store: Promise<Store> | undefined;

async function readPackage(): Promise<Store> {
  // A variable specifier: the package's type declarations would otherwise
  // widen the global `Window` type of every module type-checked with this one.
  const specifier = PACKAGE;
  const { InceptionV3Model: model } = (await import(specifier)) as NsfwjsModel;
  const [json, ...shards] = await Promise.all([
    model.modelJson(),
    ...model.weightBundles.map((bundle) => bundle()),
  ]);
  const { modelTopology, weightsManifest } = json.default;
  const layers = modelTopology.model_config.config.layers;
  // Each shard is base64 on its own; their bytes, in order, are the weights.
  const parts = shards.map((s) => fromBase64(s.default));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  const hwio = new Set(
    layers.filter((l) => l.class_name === "Conv2D").map((l) => `${l.name}/kernel`),
  );
  const weights = new QuantisedWeights(weightsManifest.flatMap((g) => g.weights), bytes, hwio);
  return { layers, weights };
}

/** The package read once per process; a failed read is retried next time. */
function readOnce(): Promise<Store> {
  store ??= readPackage().catch((e) => {
    store = undefined;
    throw new WeightError(
      `network inception: cannot read the weights of npm:nsfwjs@4.4.0 (${
        e instanceof Error ? e.message : String(e)
      }); is the package installed?`,
    );
  });
  return store;
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
  const { layers, weights } = await readOnce();
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
  const { layers, weights } = await readOnce();
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
    const [first] = inboundNames(rest[0]);
    const start = aliases.get(first) ?? first;
    const values = new Map<string, Tensor>([[first, network.features(image, [start])[start]]]);
    let logits: Tensor | undefined;
    let last: Tensor | undefined;
    for (const layer of rest) {
      const inputs = inboundNames(layer).map((n) => values.get(n));
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
