/**
 * A safetensors encoder for tests: the files the readers and the downloader
 * are tested on are made here, tensor by tensor.
 *
 * @module
 */

import type { NamedTensor, WeightSet } from "../../core/network/description.ts";

/** A tensor as the file stores it. */
export interface RawTensor {
  /** Safetensors dtype, e.g. `F32`. */
  dtype: string;
  /** Shape. */
  shape: readonly number[];
  /** Its little-endian bytes. */
  bytes: Uint8Array;
}

/** Options of {@linkcode encodeSafetensors}. */
export interface EncodeOptions {
  /** `__metadata__` strings. */
  metadata?: Record<string, string>;
  /** Data order: by name as Python's `safetensors` writes it (default), or as given. */
  order?: "name" | "given";
}

/** A float32 tensor as raw little-endian bytes. */
export function rawF32(tensor: NamedTensor): RawTensor {
  const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  return { dtype: "F32", shape: tensor.shape, bytes: bytes.slice() };
}

/** Every tensor of a weight set as F32. */
export function rawWeights(weights: WeightSet): Map<string, RawTensor> {
  return new Map([...weights].map(([name, t]) => [name, rawF32(t)]));
}

/** A safetensors file: header padded with spaces to 8 bytes, then the data. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, RawTensor>,
  options: EncodeOptions = {},
): Uint8Array {
  const names = [...tensors.keys()];
  if ((options.order ?? "name") === "name") names.sort();
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.bytes.byteLength],
    };
    offset += t.bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const jsonBytes = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20); // space padding
  jsonBytes.set(json);
  const out = new Uint8Array(8 + jsonBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.byteLength;
  for (const name of names) {
    out.set(tensors.get(name)!.bytes, at);
    at += tensors.get(name)!.bytes.byteLength;
  }
  return out;
}
