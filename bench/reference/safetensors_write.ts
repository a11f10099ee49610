/**
 * A small safetensors writer for the files the PyTorch reference reads
 * (exported weights, input bundles, gradient dumps): an 8-byte little-endian
 * header length, a JSON header padded with spaces to a multiple of 8, then
 * the float32 data in name order. stylegram's core only reads the format.
 *
 * @module
 */

/** A float32 tensor to write. */
export interface F32Tensor {
  /** Shape. */
  readonly shape: readonly number[];
  /** Row-major values. */
  readonly data: Float32Array;
}

/** Encodes float32 tensors and `__metadata__` strings as one safetensors file. */
export function encodeSafetensors(
  tensors: Readonly<Record<string, F32Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new RangeError(`safetensors: ${name} has ${data.length} values for shape [${shape}]`);
    }
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  // Float32Array is little-endian on every platform Deno runs on.
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}
