/**
 * Where VGG weights come from: torchvision's ImageNet VGG-16/19 as timm
 * publishes them (safetensors, BSD-3-Clause), downloading only the
 * convolutions asked for; or a local `.safetensors` / `.onnx` file with
 * torchvision's names (`features.N.weight`, `features.N.bias`).
 *
 * @module
 */

import type { NamedTensor, WeightSet } from "./description.ts";
import { WeightError } from "./feature_network.ts";
import { type DownloadProgress, isRemoteCached, loadRemoteTensors } from "./download.ts";
import { readOnnxInitializers } from "./onnx_weights.ts";
import { parseSafetensorsHeader, readSafetensors } from "./safetensors.ts";
import { vggDescription, type VggVariant } from "./vgg.ts";
import { WeightFileError } from "./weight_errors.ts";
import { checkWeightShape, type WeightSpec, weightSpecs } from "./weight_shapes.ts";
import type { WeightStore } from "./weight_store.ts";

/** A published set of VGG weights. */
export interface VggWeightSource {
  /** The safetensors file. */
  readonly url: string;
  /** Its licence. */
  readonly license: string;
  /** The whole file's size in bytes (classifier included); about, for help texts. */
  readonly fileBytes: number;
  /** The convolutions' share of it, the most a download fetches. */
  readonly convBytes: number;
}

/** The default weights of each variant (timm's copies of torchvision's ImageNet weights). */
export const VGG_WEIGHTS: Readonly<Record<VggVariant, VggWeightSource>> = {
  vgg19: {
    url: "https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors",
    license: "BSD-3-Clause",
    fileBytes: 574_700_000,
    convBytes: 80_097_536,
  },
  vgg16: {
    url: "https://huggingface.co/timm/vgg16.tv_in1k/resolve/main/model.safetensors",
    license: "BSD-3-Clause",
    fileBytes: 553_400_000,
    convBytes: 58_858_752,
  },
};

/** Options of {@linkcode loadVggWeights}. */
export interface LoadVggOptions {
  /** Where downloaded tensors are cached (under the variant's name). */
  store: WeightStore;
  /** The layers needed (default: all); only their weights are fetched. */
  layers?: readonly string[];
  /** Another copy of the same safetensors file (default {@linkcode VGG_WEIGHTS}' URL). */
  url?: string;
  /** The fetch to use (default: the global one). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Download progress; not called when everything is cached. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Stops the download; what arrived is kept for a later resume. */
  signal?: AbortSignal;
  /** Retries in a row that bring no new bytes before giving up (default 4). */
  retries?: number;
}

/** Options of {@linkcode readVggWeights}. */
export interface ReadVggOptions {
  /** Names the file in error messages (default `weights`). */
  source?: string;
  /** The layers needed (default: all). */
  layers?: readonly string[];
}

/** Options of {@linkcode isVggCached}. */
export interface VggCacheOptions {
  /** The layers needed (default: all). */
  layers?: readonly string[];
  /** The file the weights were downloaded from (default {@linkcode VGG_WEIGHTS}' URL). */
  url?: string;
}

/**
 * The weights of `variant`'s `layers`, from `store` where cached (and
 * verified), the missing ones downloaded.
 */
export async function loadVggWeights(
  variant: VggVariant,
  options: LoadVggOptions,
): Promise<WeightSet> {
  const specs = weightSpecs(vggDescription(variant), options.layers);
  return await loadRemoteTensors(options.url ?? VGG_WEIGHTS[variant].url, names(specs), {
    store: options.store,
    cacheKey: variant,
    fetch: options.fetch,
    onProgress: options.onProgress,
    signal: options.signal,
    retries: options.retries,
    shapes: new Map(specs.map((s) => [s.name, s.shape])),
  });
}

/** Whether the weights of `variant`'s `layers` are all in `store` (not re-hashed here). */
export async function isVggCached(
  variant: VggVariant,
  store: WeightStore,
  options: VggCacheOptions = {},
): Promise<boolean> {
  const specs = weightSpecs(vggDescription(variant), options.layers);
  return await isRemoteCached(options.url ?? VGG_WEIGHTS[variant].url, names(specs), {
    store,
    cacheKey: variant,
  });
}

/**
 * The weights of `variant`'s `layers` from the bytes of a local `.safetensors`
 * or `.onnx` file. Names are torchvision's; a unique name that ends with one
 * (`model.features.0.weight`) is accepted too. Shapes are checked.
 */
export function readVggWeights(
  variant: VggVariant,
  bytes: Uint8Array,
  options: ReadVggOptions = {},
): WeightSet {
  const source = options.source ?? "weights";
  const net = vggDescription(variant);
  const specs = weightSpecs(net, options.layers);
  // Safetensors: decode only the tensors wanted; ONNX: every float initializer.
  const onnx = isSafetensors(bytes) ? undefined : readOnnx(bytes, source);
  const available = onnx ? [...onnx.keys()] : [
    ...parseSafetensorsHeader(bytes, { source }).tensors.keys(),
  ];
  const chosen = specs.map((spec) => findName(spec, available, source, net.name));
  const tensors = onnx ?? readSafetensors(bytes, { source, names: chosen });
  const out = new Map<string, NamedTensor>();
  specs.forEach((spec, i) => {
    const tensor = tensors.get(chosen[i])!;
    checkWeightShape(spec, tensor.shape, { source, network: net.name });
    out.set(spec.name, tensor);
  });
  return out;
}

const names = (specs: readonly WeightSpec[]): string[] => specs.map((s) => s.name);

/** Safetensors files start with a little-endian length and then `{`. */
function isSafetensors(bytes: Uint8Array): boolean {
  return bytes.byteLength > 8 && bytes[8] === 0x7b;
}

function readOnnx(bytes: Uint8Array, source: string): Map<string, NamedTensor> {
  try {
    return readOnnxInitializers(bytes, { source });
  } catch (e) {
    if (e instanceof WeightFileError && e.message.includes("not an ONNX model")) {
      throw new WeightFileError(`${source}: neither a safetensors file nor an ONNX model`);
    }
    throw e;
  }
}

/** `spec.name` itself, else the one available name ending in `.<name>`. */
function findName(spec: WeightSpec, available: string[], source: string, network: string): string {
  if (available.includes(spec.name)) return spec.name;
  const suffixed = available.filter((n) => n.endsWith(`.${spec.name}`));
  if (suffixed.length === 1) return suffixed[0];
  const problem = suffixed.length
    ? `is ambiguous (${suffixed.join(", ")})`
    : `is missing (the file has ${available.length} tensors${
      available.length
        ? `: ${available.slice(0, 6).join(", ")}${available.length > 6 ? ", …" : ""}`
        : ""
    })`;
  throw new WeightError(
    `${source}: weight "${spec.name}" of layer ${spec.layer} of ${network} ${problem}`,
  );
}
