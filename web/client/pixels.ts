/**
 * Conversions between the core's planar float RGB images and the browser's
 * interleaved RGBA bytes (ImageData, canvases).
 *
 * @module
 */

/** Planar RGB floats in [0, 1] → RGBA bytes (opaque). */
export function planarToRgba(data: Float32Array, width: number, height: number): Uint8ClampedArray {
  const n = width * height;
  const out = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    out[4 * p] = Math.round(data[p] * 255);
    out[4 * p + 1] = Math.round(data[n + p] * 255);
    out[4 * p + 2] = Math.round(data[2 * n + p] * 255);
    out[4 * p + 3] = 255;
  }
  return out;
}

/** RGBA bytes → planar RGB floats in [0, 1]; transparent pixels are put over white. */
export function rgbaToPlanar(rgba: Uint8ClampedArray, width: number, height: number): Float32Array {
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) {
    const a = rgba[4 * p + 3] / 255;
    for (let c = 0; c < 3; c++) out[c * n + p] = (rgba[4 * p + c] / 255) * a + (1 - a);
  }
  return out;
}
