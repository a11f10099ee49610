/**
 * Colour transforms for "preserve original colours" (Gatys, Bethge,
 * Hertzmann & Shechtman 2016, luminance-only transfer): style transfer runs
 * on luminance images, then the result's luminance is combined with the
 * content image's chrominance. Uses YIQ, as the paper does.
 *
 * @module
 */

import { type RgbImage, rgbImage } from "./image.ts";

/** Planar Y, I, Q of an RGB image. */
function toYiq(image: RgbImage): Float32Array {
  const n = image.width * image.height;
  const d = image.data;
  const out = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) {
    const r = d[p];
    const g = d[n + p];
    const b = d[2 * n + p];
    out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    out[n + p] = 0.595716 * r - 0.274453 * g - 0.321263 * b;
    out[2 * n + p] = 0.211456 * r - 0.522591 * g + 0.311135 * b;
  }
  return out;
}

/** Luminance (Y) of each pixel. */
export function luminance(image: RgbImage): Float32Array {
  return toYiq(image).subarray(0, image.width * image.height);
}

function meanStd(v: Float32Array): [number, number] {
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return [mean, Math.sqrt(q / v.length)];
}

/**
 * A grey image carrying `image`'s luminance. With `matchTo`, the luminance is
 * shifted and scaled to the mean and standard deviation of `matchTo`'s (the
 * paper's luminance matching of the style to the content).
 */
export function luminanceImage(image: RgbImage, matchTo?: RgbImage): RgbImage {
  const y = Float32Array.from(luminance(image));
  if (matchTo) {
    const [m1, s1] = meanStd(y);
    const [m2, s2] = meanStd(luminance(matchTo));
    const k = s1 > 1e-8 ? s2 / s1 : 1;
    for (let i = 0; i < y.length; i++) y[i] = Math.min(1, Math.max(0, (y[i] - m1) * k + m2));
  }
  const n = y.length;
  const data = new Float32Array(3 * n);
  data.set(y, 0);
  data.set(y, n);
  data.set(y, 2 * n);
  return rgbImage(image.width, image.height, data);
}

/**
 * The luminance of `stylised` with the chrominance (I, Q) of `colours`, both
 * of one size, back in RGB and clamped to [0, 1].
 */
export function combineLuminance(stylised: RgbImage, colours: RgbImage): RgbImage {
  if (stylised.width !== colours.width || stylised.height !== colours.height) {
    throw new RangeError(
      `combineLuminance: sizes differ (${stylised.width}×${stylised.height} vs ${colours.width}×${colours.height})`,
    );
  }
  const n = stylised.width * stylised.height;
  const y = luminance(stylised);
  const iq = toYiq(colours);
  const out = new Float32Array(3 * n);
  const clamp = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let p = 0; p < n; p++) {
    const i = iq[n + p];
    const q = iq[2 * n + p];
    out[p] = clamp(y[p] + 0.9563 * i + 0.621 * q);
    out[n + p] = clamp(y[p] - 0.2721 * i - 0.6474 * q);
    out[2 * n + p] = clamp(y[p] - 1.107 * i + 1.7046 * q);
  }
  return rgbImage(stylised.width, stylised.height, out);
}
