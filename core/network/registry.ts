/**
 * The network registry: one {@linkcode NetworkRecord} per named network
 * (help texts, default layers, where it runs, description, loader), looked
 * up by name; `auto` is VGG-19 when its weights are cached, else the offline
 * InceptionV3. Local VGG weight files load through
 * {@linkcode networkFromFile}.
 *
 * @module
 */

import { FeatureNetwork } from "./feature_network.ts";
import type { NetworkDescription } from "./description.ts";
import { vggDescription, type VggVariant } from "./vgg.ts";
import { TINY } from "./tiny.ts";
import { randomWeights } from "./random_weights.ts";
import { isVggCached, loadVggWeights, readVggWeights, VGG_WEIGHTS } from "./vgg_weights.ts";
import { INCEPTION_DEFAULTS, inceptionDescription, loadInception } from "./inception.ts";
import { readInceptionTopology } from "./nsfwjs_package.ts";
import { parseSafetensorsHeader } from "./safetensors.ts";
import { readOnnxInitializers } from "./onnx_weights.ts";
import {
  defaultLayers,
  layersToLoad,
  type LoadNetworkOptions,
  type NetworkRecord,
} from "./network_record.ts";

export { defaultLayers, type LoadNetworkOptions, type NetworkRecord };

// The topology alone (model.json), not the 22 MB of weight shards.
const describeInception = async (): Promise<NetworkDescription> =>
  inceptionDescription(await readInceptionTopology());

const inception: NetworkRecord = {
  name: "inception",
  title: "InceptionV3 (offline weights; good results)",
  source: "npm package nsfwjs@4.4.0",
  license: "MIT",
  size: "22 MB, installed with stylegram",
  defaults: INCEPTION_DEFAULTS,
  browser: true,
  seeded: false,
  describe: describeInception,
  load: async (options = {}) =>
    await loadInception({ layers: layersToLoad(await describeInception(), options) }),
};

function vggRecord(variant: VggVariant, title: string): NetworkRecord {
  const w = VGG_WEIGHTS[variant];
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  return {
    name: variant,
    title,
    source: w.url,
    license: w.license,
    size: `downloads ${mb(w.convBytes)} MB of a ${mb(w.fileBytes)} MB file once`,
    defaults: vggDescription(variant).defaults,
    // Hundreds of MB, cached in a weight store on disk: not for a page.
    browser: false,
    seeded: false,
    describe: () => Promise.resolve(vggDescription(variant)),
    async load(options = {}) {
      if (!options.store) {
        throw new RangeError(`network ${variant}: a weight store is needed to cache the download`);
      }
      const description = vggDescription(variant);
      const weights = await loadVggWeights(variant, {
        store: options.store,
        layers: layersToLoad(description, options),
        onProgress: options.onProgress,
        signal: options.signal,
        fetch: options.fetch,
        url: options.url,
      });
      return new FeatureNetwork(description, weights);
    },
  };
}

/** A network whose weights are made from the seed: nothing to read, runs anywhere. */
function seededRecord(description: NetworkDescription, title: string): NetworkRecord {
  return {
    name: description.name,
    title,
    source: "generated from the seed",
    license: "none needed",
    size: "no download",
    defaults: description.defaults,
    browser: true,
    seeded: true,
    describe: () => Promise.resolve(description),
    load: (options = {}) =>
      Promise.resolve(
        new FeatureNetwork(description, randomWeights(description, options.seed ?? 0)),
      ),
  };
}

const RANDOM_TITLE = "VGG-19 layout with seeded random weights (colours, not structure; slow)";

/** Every named network, in the order help texts list them. */
export const NETWORKS: readonly NetworkRecord[] = [
  inception,
  vggRecord("vgg19", "VGG-19, ImageNet (torchvision weights; Gatys et al.'s network)"),
  vggRecord("vgg16", "VGG-16, ImageNet (torchvision weights)"),
  seededRecord({ ...vggDescription("vgg19"), name: "random", title: RANDOM_TITLE }, RANDOM_TITLE),
  seededRecord(TINY, "a tiny three-layer test network with seeded random weights (fast)"),
];

/**
 * The record of a registry name (not `auto`, see {@linkcode resolveNetwork}).
 *
 * @throws {RangeError} naming every choice when `name` is unknown.
 */
export function networkRecord(name: string): NetworkRecord {
  const found = NETWORKS.find((n) => n.name === name);
  if (!found) {
    throw new RangeError(
      `unknown network "${name}"; choose auto, ${NETWORKS.map((n) => n.name).join(", ")}, ` +
        `or a .safetensors/.onnx file of VGG weights`,
    );
  }
  return found;
}

/**
 * The record a name stands for: `auto` is VGG-19 when its weights are cached
 * in `options.store` (for `options.layers`), else InceptionV3; the choice is
 * told through `options.onNotice`.
 */
export async function resolveNetwork(
  name: string,
  options: LoadNetworkOptions = {},
): Promise<NetworkRecord> {
  if (name !== "auto") return networkRecord(name);
  const vgg = networkRecord("vgg19");
  if (
    options.store &&
    await isVggCached("vgg19", options.store, {
      layers: layersToLoad(await vgg.describe(), options),
      url: options.url,
    })
  ) {
    options.onNotice?.("network: vgg19 (its weights are cached)");
    return vgg;
  }
  options.onNotice?.(
    "network: inception (offline); VGG-19 is used once downloaded: run once with --network vgg19",
  );
  return networkRecord("inception");
}

/**
 * Loads a network by registry name (or `auto`).
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
  return await (await resolveNetwork(name, options)).load(options);
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
  return new FeatureNetwork(
    description,
    readVggWeights(variant, bytes, {
      source: options.source,
      layers: layersToLoad(description, options),
    }),
  );
}

function vggVariantOf(bytes: Uint8Array, source: string): VggVariant {
  // Safetensors starts with an 8-byte length then "{"; anything else is read as ONNX.
  const names = bytes.byteLength > 8 && bytes[8] === 0x7b
    ? [...parseSafetensorsHeader(bytes, { source }).tensors.keys()]
    : [...readOnnxInitializers(bytes, { source }).keys()];
  return names.some((n) => n.endsWith("features.34.weight")) ? "vgg19" : "vgg16";
}
