/**
 * Little-endian float bytes of any width weight files use (float64, float32,
 * float16, bfloat16) decoded to a fresh Float32Array.
 *
 * @module
 */

/** The floating-point element types weight files store, named as safetensors does. */
export type FloatDtype = "F64" | "F32" | "F16" | "BF16";

/** Bytes per element of each {@linkcode FloatDtype}. */
export const FLOAT_DTYPE_SIZES: Readonly<Record<FloatDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
};

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Decodes `bytes` (little-endian, a whole number of elements) to float32.
 * The result owns its memory, so the (possibly large) source can be freed.
 */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  const width = FLOAT_DTYPE_SIZES[dtype];
  if (bytes.byteLength % width !== 0) {
    throw new RangeError(
      `decodeFloats: ${bytes.byteLength} bytes is not a whole number of ${dtype}`,
    );
  }
  const words = hostOrder(bytes, width);
  switch (dtype) {
    case "F32":
      return new Float32Array(words);
    case "F64":
      return Float32Array.from(new Float64Array(words));
    case "F16": {
      const table = halfTable();
      const half = new Uint16Array(words);
      const out = new Float32Array(half.length);
      for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32.
      const half = new Uint16Array(words);
      const out = new Uint32Array(half.length);
      for (let i = 0; i < half.length; i++) out[i] = half[i] << 16;
      return new Float32Array(out.buffer);
    }
  }
}

/** A copy of `bytes` in host byte order (copying also aligns it for typed-array views). */
function hostOrder(bytes: Uint8Array, width: number): ArrayBuffer {
  const copy = new Uint8Array(bytes); // a copy (Buffer#slice would be a view)
  if (!HOST_IS_LITTLE_ENDIAN) {
    for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  }
  return copy.buffer;
}

let halves: Float32Array | undefined;

/** float16 bit pattern → float32 value, for all 65536 patterns; built once. */
function halfTable(): Float32Array {
  if (halves) return halves;
  halves = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    halves[h] = exponent === 0
      ? sign * fraction * 2 ** -24 // subnormal
      : exponent === 31
      ? (fraction ? NaN : sign * Infinity)
      : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return halves;
}
