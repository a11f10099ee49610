/**
 * Where the flow can be trusted (Ruder, Dosovitskiy & Brox 2016, §3.2): a
 * pixel of frame t gets weight 0 when the backward flow (t → t−1) and the
 * forward flow (t−1 → t) disagree — it was hidden in frame t−1
 * (disocclusion) — or when it sits on a motion boundary, and 1 elsewhere.
 *
 * @module
 */

import { type Mask, maskImage } from "../mod.ts";
import type { Flow } from "./flow.ts";
import { warpPlanes } from "./warp.ts";

/**
 * The reliability of each pixel of frame t, from the backward flow
 * `backward` (t → t−1) and the forward flow `forward` (t−1 → t):
 *
 * - disoccluded where |f̃ + b|² > 0.01·(|f̃|² + |b|²) + 0.5, with b the
 *   backward flow and f̃ the forward flow at x + b(x);
 * - a motion boundary where |∇b_x|² + |∇b_y|² > 0.01·|b|² + 0.002;
 * - outside where x + b(x) leaves the frame.
 *
 * @example
 * ```ts
 * import { flowReliability } from "./reliability.ts";
 * const still = { width: 4, height: 4, dx: new Float32Array(16), dy: new Float32Array(16) };
 * const everywhere = flowReliability(still, still); // all ones
 * ```
 */
export function flowReliability(backward: Flow, forward: Flow): Mask {
  const { width: w, height: h } = backward;
  if (forward.width !== w || forward.height !== h) {
    throw new RangeError("flow reliability: the two flows differ in size");
  }
  const n = w * h;
  // The forward flow where each pixel of frame t came from.
  const packed = new Float32Array(2 * n);
  packed.set(forward.dx, 0);
  packed.set(forward.dy, n);
  const back = warpPlanes(packed, 2, backward);
  const { dx, dy } = backward;
  const out = new Float32Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const bx = dx[p];
      const by = dy[p];
      const sx = x + bx;
      const sy = y + by;
      if (sx < 0 || sx > w - 1 || sy < 0 || sy > h - 1) continue;
      const fx = back[p];
      const fy = back[n + p];
      const b2 = bx * bx + by * by;
      const disagreement = (fx + bx) ** 2 + (fy + by) ** 2;
      if (disagreement > 0.01 * (fx * fx + fy * fy + b2) + 0.5) continue;
      // Central differences of the backward flow (one-sided at the borders).
      const xl = Math.max(0, x - 1);
      const xr = Math.min(w - 1, x + 1);
      const yu = Math.max(0, y - 1);
      const yd = Math.min(h - 1, y + 1);
      const gx = (a: Float32Array) => (a[y * w + xr] - a[y * w + xl]) / Math.max(1, xr - xl);
      const gy = (a: Float32Array) => (a[yd * w + x] - a[yu * w + x]) / Math.max(1, yd - yu);
      const gradient = gx(dx) ** 2 + gy(dx) ** 2 + gx(dy) ** 2 + gy(dy) ** 2;
      if (gradient > 0.01 * b2 + 0.002) continue;
      out[p] = 1;
    }
  }
  return maskImage(w, h, out);
}
