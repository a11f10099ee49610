/**
 * Backward warping by a flow field: the frame before, moved onto this one.
 *
 * @module
 */

import { type RgbImage, rgbImage } from "../mod.ts";
import type { Flow } from "./flow.ts";

/**
 * Samples planes of `width`×`height` at (x + dx, y + dy) for every pixel,
 * bilinearly, clamped at the borders.
 */
export function warpPlanes(
  planes: Float32Array,
  channels: number,
  flow: Flow,
): Float32Array {
  const { width: w, height: h, dx, dy } = flow;
  const n = w * h;
  const out = new Float32Array(channels * n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const sx = Math.min(w - 1, Math.max(0, x + dx[p]));
      const sy = Math.min(h - 1, Math.max(0, y + dy[p]));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(w - 1, x0 + 1);
      const y1 = Math.min(h - 1, y0 + 1);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < channels; c++) {
        const o = c * n;
        const top = planes[o + y0 * w + x0] * (1 - fx) + planes[o + y0 * w + x1] * fx;
        const bottom = planes[o + y1 * w + x0] * (1 - fx) + planes[o + y1 * w + x1] * fx;
        out[o + p] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

/**
 * `image` warped by `flow`: pixel x of the result is `image(x + flow(x))`.
 * With the flow from frame t to frame t−1, this brings frame t−1 (or its
 * stylised output) onto frame t.
 *
 * @example
 * ```ts
 * import { rgbImage } from "../mod.ts";
 * import { warpImage } from "./warp.ts";
 * const still = { width: 4, height: 4, dx: new Float32Array(16), dy: new Float32Array(16) };
 * const same = warpImage(rgbImage(4, 4), still);
 * ```
 */
export function warpImage(image: RgbImage, flow: Flow): RgbImage {
  if (image.width !== flow.width || image.height !== flow.height) {
    throw new RangeError(
      `warp: a ${image.width}×${image.height} image and a ${flow.width}×${flow.height} flow`,
    );
  }
  return rgbImage(image.width, image.height, warpPlanes(image.data, 3, flow));
}
