/**
 * The network registry: names → description, weight source, licence, size,
 * default layers; and one loader for all of them. `auto` is VGG-19 when its
 * weights are cached, else the offline InceptionV3.
 *
 * @module
 */

import { FeatureNetwork } from "./feature_network.ts";
import type { NetworkDescription } from "./description.ts";
import { vggDescription, type VggVariant } from "./vgg.ts";
import { TINY } from "./tiny.ts";
import { randomWeights } from "./random_weights.ts";
import { isVggCached, loadVggWeights, readVggWeights, VGG_WEIGHTS } from "./vgg_weights.ts";
import { inceptionDescription, kerasLayers, loadInception } from "./inception.ts";
import type { WeightStore } from "./weight_store.ts";
import type { DownloadProgress } from "./download.ts";
import { parseSafetensorsHeader } from "./safetensors.ts";
import { readOnnxInitializers } from "./onnx_weights.ts";

/** What the registry knows about a network before loading it. */
export interface NetworkEntry {
  /** Registry name. */
  readonly name: string;
  /** One line for help texts. */
  readonly title: string;
  /** Where the weights come from. */
  readonly source: string;
  /** The weights' licence. */
  readonly license: string;
  /** How much is read or downloaded, for help texts. */
  readonly size: string;
}

function vggEntry(name: VggVariant, title: string): NetworkEntry {
  const w = VGG_WEIGHTS[name];
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  return {
    name,
    title,
    source: w.url,
    license: w.license,
    size: `downloads ${mb(w.convBytes)} MB of a ${mb(w.fileBytes)} MB file once`,
  };
}

/** Every named network. */
export const NETWORKS: readonly NetworkEntry[] = [
  {
    name: "inception",
    title: "InceptionV3 (offline; the default when VGG-19 is not cached)",
    source: "npm package nsfwjs@4.4.0",
    license: "MIT",
    size: "22 MB, installed with stylegram",
  },
  vggEntry("vgg19", "VGG-19, ImageNet (torchvision weights; Gatys et al.'s network)"),
  vggEntry("vgg16", "VGG-16, ImageNet (torchvision weights)"),
  {
    name: "random",
    title: "VGG-19 layout with seeded random weights (colours, not structure)",
    source: "generated from the seed",
    license: "none needed",
    size: "no download",
  },
  {
    name: "tiny",
    title: "a three-layer test network with seeded random weights",
    source: "generated from the seed",
    license: "none needed",
    size: "no download",
  },
];

/** Options of {@linkcode loadNetwork}. */
export interface LoadNetworkOptions {
  /** Cache of downloaded weights (VGG). Without one, `auto` picks InceptionV3. */
  store?: WeightStore;
  /**
   * The layers that will be read, given the network's description (so only
   * their weights are fetched); default: the description's default layers.
   */
  layers?: (description: NetworkDescription) => readonly string[];
  /** Seed of `random` and `tiny` (default 0). */
  seed?: number;
  /** Download progress (VGG). */
  onProgress?: (progress: DownloadProgress) => void;
  /** One-line notices (what `auto` chose and why). */
  onNotice?: (message: string) => void;
  /** Stops a download. */
  signal?: AbortSignal;
  /** The fetch to use for downloads (default: the global one). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Another copy of the VGG weights file (default: the published one). */
  url?: string;
}

function defaultLayers(d: NetworkDescription): string[] {
  return [...new Set([...d.defaults.style, ...d.defaults.content].map((l) => l.layer))];
}

/**
 * Loads a network by registry name.
 *
 * @example
 * ```ts
 * import { loadNetwork } from "../../mod.ts";
 * const net = await loadNetwork("tiny", { seed: 1 });
 * console.log(net.layerNames);
 * ```
 */
export async function loadNetwork(
  name: string,
  options: LoadNetworkOptions = {},
): Promise<FeatureNetwork> {
  const layersOf = options.layers ?? defaultLayers;
  switch (name) {
    case "auto": {
      const vgg = vggDescription("vgg19");
      if (
        options.store &&
        await isVggCached("vgg19", options.store, { layers: layersOf(vgg), url: options.url })
      ) {
        options.onNotice?.("network: vgg19 (its weights are cached)");
        return loadNetwork("vgg19", options);
      }
      options.onNotice?.(
        "network: inception (offline); VGG-19 is used once downloaded: run once with --network vgg19",
      );
      return loadNetwork("inception", options);
    }
    case "inception": {
      // The description first (cheap), to know which layers' weights to prepare.
      const probe = await loadInception({ layers: [] });
      return await loadInception({ layers: layersOf(probe.description) });
    }
    case "vgg19":
    case "vgg16": {
      if (!options.store) {
        throw new RangeError(`network ${name}: a weight store is needed to cache the download`);
      }
      const description = vggDescription(name);
      const weights = await loadVggWeights(name, {
        store: options.store,
        layers: layersOf(description),
        onProgress: options.onProgress,
        signal: options.signal,
        fetch: options.fetch,
        url: options.url,
      });
      return new FeatureNetwork(description, weights);
    }
    case "random": {
      const description = { ...vggDescription("vgg19"), name: "random", title: NETWORKS[3].title };
      return new FeatureNetwork(description, randomWeights(description, options.seed ?? 0));
    }
    case "tiny":
      return new FeatureNetwork(TINY, randomWeights(TINY, options.seed ?? 0));
    default:
      throw new RangeError(
        `unknown network "${name}"; choose auto, ${NETWORKS.map((n) => n.name).join(", ")}, ` +
          `or a .safetensors/.onnx file of VGG weights`,
      );
  }
}

/**
 * VGG weights from a local `.safetensors` or `.onnx` file's bytes. The
 * variant is told from the tensor names (VGG-19 has `features.34`).
 */
export function networkFromFile(
  bytes: Uint8Array,
  options: { source: string; layers?: (description: NetworkDescription) => readonly string[] },
): FeatureNetwork {
  const variant = vggVariantOf(bytes, options.source);
  const description = vggDescription(variant);
  const layers = (options.layers ?? defaultLayers)(description);
  return new FeatureNetwork(
    description,
    readVggWeights(variant, bytes, { source: options.source, layers }),
  );
}

function vggVariantOf(bytes: Uint8Array, source: string): VggVariant {
  // Safetensors starts with an 8-byte length then "{"; anything else is read as ONNX.
  const names = bytes.byteLength > 8 && bytes[8] === 0x7b
    ? [...parseSafetensorsHeader(bytes, { source }).tensors.keys()]
    : [...readOnnxInitializers(bytes, { source }).keys()];
  return names.some((n) => n.endsWith("features.34.weight")) ? "vgg19" : "vgg16";
}

/** The InceptionV3 layer table, for listing layers without loading weights. */
export { inceptionDescription, kerasLayers };
