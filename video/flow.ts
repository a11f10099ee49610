/**
 * Dense optical flow between two frames, by Farnebäck's polynomial-expansion
 * method from OpenCV (the npm build `@techstark/opencv-js`, WebAssembly, so
 * it runs wherever the CLI does). Loaded once, on first use.
 *
 * @module
 */

import type { RgbImage } from "../mod.ts";

/**
 * A flow field: for each pixel x of the frame it was computed from, the
 * displacement (dx, dy) to where that pixel's content is in the other frame.
 */
export interface Flow {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Horizontal displacement per pixel, row-major. */
  readonly dx: Float32Array;
  /** Vertical displacement per pixel, row-major. */
  readonly dy: Float32Array;
}

// deno-lint-ignore no-explicit-any
type OpenCv = any;

// The module is boxed: Emscripten modules are thenables that resolve to
// themselves, so awaiting one directly never ends.
let loading: Promise<{ cv: OpenCv }> | undefined;

/** The OpenCV module, ready to use (boxed, see above). */
function openCv(): Promise<{ cv: OpenCv }> {
  loading ??= (async () => {
    const { default: cv } = await import("@techstark/opencv-js");
    if (!cv.Mat) {
      await new Promise<void>((resolve) => {
        cv.onRuntimeInitialized = resolve;
        if (cv.Mat) resolve();
      });
    }
    return { cv };
  })();
  return loading;
}

/** Luma (Rec. 601) as 8-bit grey, the input Farnebäck's method takes. */
function grey(cv: OpenCv, image: RgbImage): OpenCv {
  const n = image.width * image.height;
  const mat = new cv.Mat(image.height, image.width, cv.CV_8UC1);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const y = 0.299 * d[i] + 0.587 * d[n + i] + 0.114 * d[2 * n + i];
    mat.data[i] = Math.max(0, Math.min(255, Math.round(y * 255)));
  }
  return mat;
}

/**
 * The flow from `from` to `to` (same size): `from(x) ≈ to(x + flow(x))`.
 *
 * @example
 * ```ts
 * import { rgbImage } from "../mod.ts";
 * import { opticalFlow } from "./flow.ts";
 * const a = rgbImage(64, 48);
 * const flow = await opticalFlow(a, a); // all zeros
 * ```
 */
export async function opticalFlow(from: RgbImage, to: RgbImage): Promise<Flow> {
  if (from.width !== to.width || from.height !== to.height) {
    throw new RangeError(
      `optical flow needs frames of one size, got ${from.width}×${from.height} and ` +
        `${to.width}×${to.height}`,
    );
  }
  const { cv } = await openCv();
  const a = grey(cv, from);
  const b = grey(cv, to);
  const flow = new cv.Mat();
  try {
    // Pyramid levels down to about 16 px; a 15 px window, Gaussian-weighted.
    const levels = Math.max(1, Math.floor(Math.log2(Math.min(from.width, from.height) / 16)));
    cv.calcOpticalFlowFarneback(a, b, flow, 0.5, levels, 15, 3, 5, 1.2, 256);
    const n = from.width * from.height;
    const packed: Float32Array = flow.data32F;
    const dx = new Float32Array(n);
    const dy = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      dx[i] = packed[2 * i];
      dy[i] = packed[2 * i + 1];
    }
    return { width: from.width, height: from.height, dx, dy };
  } finally {
    a.delete();
    b.delete();
    flow.delete();
  }
}
