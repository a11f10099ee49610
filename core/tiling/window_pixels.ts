/**
 * Moving pixels between an image and its windows: a window is a crop of the
 * image mirror-padded as the network sees it, so reading one reflects at the
 * borders, and adding a window's gradient back folds the reflection (a
 * padded pixel's gradient belongs to the pixel it mirrors).
 *
 * @module
 */

import type { AxisWindow } from "./plan.ts";

/** The image index that padded coordinate `u` mirrors (reflection without repeating the edge). */
export function reflectIndex(u: number, pad: number, n: number): number {
  let x = u - pad;
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  x = ((x % period) + period) % period;
  return x < n ? x : period - x;
}

/** A window of the padded image, as the image rows and columns each of its rows and columns mirrors. */
interface WindowIndex {
  rows: Int32Array;
  columns: Int32Array;
}

function windowIndex(
  size: { readonly width: number; readonly height: number },
  window: { readonly rows: AxisWindow; readonly columns: AxisWindow; readonly padding: number },
): WindowIndex {
  const { rows, columns, padding } = window;
  return {
    rows: Int32Array.from(
      { length: rows.end - rows.start },
      (_, i) => reflectIndex(rows.start + i, padding, size.height),
    ),
    columns: Int32Array.from(
      { length: columns.end - columns.start },
      (_, j) => reflectIndex(columns.start + j, padding, size.width),
    ),
  };
}

/** Planar RGB of the window `rows × columns` of the padded image (`pixels` is W×H, unpadded). */
export function readWindow(
  pixels: Float32Array,
  size: { readonly width: number; readonly height: number },
  window: { readonly rows: AxisWindow; readonly columns: AxisWindow; readonly padding: number },
): Float32Array {
  const { width, height } = size;
  const { rows: ys, columns: xs } = windowIndex(size, window);
  const [h, w] = [ys.length, xs.length];
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h; i++) {
      const src = (c * height + ys[i]) * width;
      const dst = (c * h + i) * w;
      for (let j = 0; j < w; j++) out[dst + j] = pixels[src + xs[j]];
    }
  }
  return out;
}

/** Adds a window's gradient (planar, like {@linkcode readWindow}'s output) into the image's. */
export function addWindowGradient(
  gradient: Float32Array,
  size: { readonly width: number; readonly height: number },
  window: { readonly rows: AxisWindow; readonly columns: AxisWindow; readonly padding: number },
  part: Float32Array,
): void {
  const { width, height } = size;
  const { rows: ys, columns: xs } = windowIndex(size, window);
  const [h, w] = [ys.length, xs.length];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h; i++) {
      const dst = (c * height + ys[i]) * width;
      const src = (c * h + i) * w;
      for (let j = 0; j < w; j++) gradient[dst + xs[j]] += part[src + j];
    }
  }
}
