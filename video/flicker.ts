/**
 * Flicker: how much consecutive output frames differ once the earlier one is
 * moved onto the later one by the input's optical flow, over the pixels where
 * the flow is reliable. A still scene stylised frame by frame flickers as
 * every frame finds its own optimum; temporal consistency lowers this number.
 *
 * @module
 */

import type { Mask, RgbImage } from "../mod.ts";
import type { Flow } from "./flow.ts";
import { warpImage } from "./warp.ts";

/**
 * Mean absolute difference (in 0–255 units, over channels and the pixels
 * whose reliability is above ½) between `current` and `previous` warped by
 * `backward` (the input's flow from the current frame to the previous one).
 *
 * @example
 * ```ts
 * import { maskImage, rgbImage } from "../mod.ts";
 * import { temporalError } from "./flicker.ts";
 * const still = { width: 4, height: 4, dx: new Float32Array(16), dy: new Float32Array(16) };
 * const ones = maskImage(4, 4, new Float32Array(16).fill(1));
 * temporalError(rgbImage(4, 4), rgbImage(4, 4), { backward: still, reliability: ones }); // 0
 * ```
 */
export function temporalError(
  previous: RgbImage,
  current: RgbImage,
  options: { backward: Flow; reliability: Mask },
): number {
  const warped = warpImage(previous, options.backward);
  const n = current.width * current.height;
  const c = options.reliability.data;
  let sum = 0;
  let count = 0;
  for (let p = 0; p < n; p++) {
    if (c[p] <= 0.5) continue;
    for (let k = 0; k < 3; k++) sum += Math.abs(current.data[k * n + p] - warped.data[k * n + p]);
    count += 3;
  }
  return count ? (255 * sum) / count : 0;
}
