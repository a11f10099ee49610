/**
 * The offline InceptionV3 weights inside the npm package `nsfwjs@4.4.0`
 * (MIT): a Keras 2.2.4 layers model (a TensorFlow.js `model.json`) and its
 * weights as base64 text in six shards, every tensor quantised to uint8 with
 * one `min` and `scale` (value = min + scale·q). Read once per process;
 * tensors are dequantised when first read.
 *
 * @module
 */

import type { NamedTensor, WeightSet } from "./description.ts";
import { WeightError } from "./feature_network.ts";
import type { KerasLayer } from "./keras_layers.ts";

/** Where the weights come from: a pinned npm package (see deno.json). */
const PACKAGE = "nsfwjs/models/inception_v3";

/** The package as read: the Keras topology and the lazily dequantised weights. */
export interface InceptionPackage {
  /** The layers of `modelTopology.model_config.config`, in order. */
  readonly layers: readonly KerasLayer[];
  /** Every tensor, dequantised on first read; conv kernels OIHW. */
  readonly weights: WeightSet;
}

/** A tfjs weights-manifest entry. */
interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: string };
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

async function importModel(): Promise<NsfwjsModel["InceptionV3Model"]> {
  // A variable specifier: the package's type declarations would otherwise
  // widen the global `Window` type of every module type-checked with this one.
  const specifier = PACKAGE;
  return ((await import(specifier)) as NsfwjsModel).InceptionV3Model;
}

async function readPackage(): Promise<InceptionPackage> {
  const model = await importModel();
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

async function readTopology(): Promise<readonly KerasLayer[]> {
  const json = await (await importModel()).modelJson();
  return json.default.modelTopology.model_config.config.layers;
}

/** A read shared by the whole process; a failed read is retried next time. */
function once<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= read().catch((e) => {
      pending = undefined;
      throw new WeightError(
        `network inception: cannot read the weights of npm:nsfwjs@4.4.0 (${
          e instanceof Error ? e.message : String(e)
        }); is the package installed?`,
      );
    });
    return pending;
  };
}

const packageOnce = once(readPackage);
const topologyOnce = once(readTopology);

/**
 * The whole package, read once per process (well under a second): later
 * calls share the parsed and dequantised weights.
 */
export function readInceptionPackage(): Promise<InceptionPackage> {
  return packageOnce();
}

/**
 * Only the Keras topology (the package's `model.json`, no weight shards):
 * enough to list the layers.
 */
export function readInceptionTopology(): Promise<readonly KerasLayer[]> {
  return topologyOnce();
}
