/**
 * Network bundles: a network's description and the weights of the layers it
 * keeps, in one compact binary file that a browser fetches once (the
 * playground's offline network). Layout:
 *
 *     "SGNB" | u32 version | u32 header bytes | header JSON | pad to 4 | float32 data
 *
 * The header holds the (pruned) description and, per tensor, its name, shape
 * and offset in the data. Integers are little-endian.
 *
 * @module
 */

import type { NamedTensor, NetworkDescription } from "./description.ts";
import { layersNeeded, weightNames } from "./description.ts";
import { FeatureNetwork } from "./feature_network.ts";
import { WeightFileError } from "./weight_errors.ts";

const MAGIC = "SGNB";
const VERSION = 1;

interface BundleHeader {
  description: NetworkDescription;
  tensors: { name: string; shape: number[]; offset: number }[];
}

/**
 * The bundle of `network` keeping only the layers `layers` depend on (the
 * description is pruned to them, so a user interface lists only usable
 * layers).
 */
export function encodeNetworkBundle(
  network: FeatureNetwork,
  layers: readonly string[],
): Uint8Array {
  const kept = layersNeeded(network.description, layers);
  const description: NetworkDescription = {
    ...network.description,
    layers: kept,
    defaults: {
      style: network.description.defaults.style.filter((l) => kept.some((k) => k.name === l.layer)),
      content: network.description.defaults.content.filter((l) =>
        kept.some((k) => k.name === l.layer)
      ),
    },
  };
  const names = [...new Set(kept.flatMap(weightNames))];
  const tensors: BundleHeader["tensors"] = [];
  let floats = 0;
  for (const name of names) {
    const t = network.weights.get(name);
    if (!t) {
      throw new WeightFileError(`bundle: weight "${name}" of network ${network.name} is missing`);
    }
    tensors.push({ name, shape: [...t.shape], offset: floats });
    floats += t.data.length;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ description, tensors } satisfies BundleHeader),
  );
  const dataStart = Math.ceil((12 + header.length) / 4) * 4;
  const out = new Uint8Array(dataStart + floats * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  const data = new Float32Array(out.buffer, dataStart, floats);
  names.forEach((name, i) => data.set(network.weights.get(name)!.data, tensors[i].offset));
  return out;
}

/** Reads a bundle; `source` names it in errors. */
export function decodeNetworkBundle(
  bytes: Uint8Array,
  options: { source?: string } = {},
): FeatureNetwork {
  const source = options.source ?? "network bundle";
  const fail = (problem: string): never => {
    throw new WeightFileError(`${source}: ${problem}`);
  };
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) {
    fail("not a stylegram network bundle");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION) fail(`bundle version ${version} is not supported (expected ${VERSION})`);
  const headerBytes = view.getUint32(8, true);
  if (12 + headerBytes > bytes.length) fail("truncated: the header runs past the end of the file");
  let header: BundleHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerBytes)));
  } catch {
    return fail("the header is not valid JSON");
  }
  const dataStart = Math.ceil((12 + headerBytes) / 4) * 4;
  const floats = (bytes.length - dataStart) / 4;
  // Copy so the data is aligned whatever the buffer's offset.
  const data = new Float32Array(bytes.slice(dataStart, dataStart + Math.floor(floats) * 4).buffer);
  const weights = new Map<string, NamedTensor>();
  for (const t of header.tensors ?? []) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.offset >= 0 && t.offset + size <= data.length)) {
      fail(`truncated: tensor "${t.name}" runs past the end of the data`);
    }
    weights.set(t.name, { shape: t.shape, data: data.subarray(t.offset, t.offset + size) });
  }
  if (!header.description?.layers) fail("the header has no network description");
  return new FeatureNetwork(header.description, weights);
}
