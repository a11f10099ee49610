/**
 * Images as the core sees them: RGB, planar (CHW, matching NCHW tensors),
 * float32 in [0, 1]. Resizing and sizing rules live here; decoding and
 * encoding files are the job of the CLI and the browser.
 *
 * @module
 */

/** An RGB image, planar: `data[c·H·W + y·W + x]`, values in [0, 1]. */
export interface RgbImage {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** 3·width·height values, channel planes R, G, B. */
  readonly data: Float32Array;
}

/** Makes an image, checking that the data fits. */
export function rgbImage(width: number, height: number, data?: Float32Array): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size ${width}×${height} must be positive integers`);
  }
  const values = data ?? new Float32Array(3 * width * height);
  if (values.length !== 3 * width * height) {
    throw new RangeError(
      `an image of ${width}×${height} needs ${3 * width * height} values, got ${values.length}`,
    );
  }
  return { width, height, data: values };
}

/** Weights of a 1-D resampling from `from` to `to` samples (triangle filter, antialiased). */
function resampleWeights(from: number, to: number): { start: Int32Array; weights: Float32Array[] } {
  const scale = from / to;
  // Widen the filter when shrinking so every input sample contributes (no aliasing).
  const support = Math.max(1, scale);
  const start = new Int32Array(to);
  const weights: Float32Array[] = [];
  for (let i = 0; i < to; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(from, Math.ceil(center + support));
    const w = new Float32Array(hi - lo);
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const v = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
      w[j - lo] = v;
      sum += v;
    }
    if (sum === 0) {
      // Only possible when upscaling an edge: take the nearest sample.
      const nearest = Math.min(from - 1, Math.max(0, Math.floor(center)));
      start[i] = nearest;
      weights.push(new Float32Array([1]));
      continue;
    }
    for (let k = 0; k < w.length; k++) w[k] /= sum;
    start[i] = lo;
    weights.push(w);
  }
  return { start, weights };
}

/**
 * Resizes with a separable triangle (bilinear) filter that widens when
 * shrinking, so downscaled images are antialiased.
 */
export function resizeImage(image: RgbImage, size: { width: number; height: number }): RgbImage {
  const { width: w, height: h } = size;
  if (w === image.width && h === image.height) return image;
  rgbImage(w, h, new Float32Array(3 * w * h)); // validates the size
  return { width: w, height: h, data: resizePlanes(image.data, 3, image, size) };
}

/**
 * Resizes `planes` planar images of size `from` to `to` with the filter of
 * {@linkcode resizeImage} (masks use it with one plane).
 */
export function resizePlanes(
  data: Float32Array,
  planes: number,
  from: { width: number; height: number },
  to: { width: number; height: number },
): Float32Array {
  const { width: w, height: h } = to;
  const cols = resampleWeights(from.width, w);
  const rows = resampleWeights(from.height, h);
  const tmp = new Float32Array(from.height * w);
  const out = new Float32Array(planes * w * h);
  for (let c = 0; c < planes; c++) {
    const plane = data.subarray(c * from.width * from.height);
    for (let y = 0; y < from.height; y++) {
      for (let x = 0; x < w; x++) {
        const ws = cols.weights[x];
        let acc = 0;
        const base = y * from.width + cols.start[x];
        for (let k = 0; k < ws.length; k++) acc += ws[k] * plane[base + k];
        tmp[y * w + x] = acc;
      }
    }
    const target = out.subarray(c * w * h);
    for (let y = 0; y < h; y++) {
      const ws = rows.weights[y];
      const s = rows.start[y];
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k] * tmp[(s + k) * w + x];
        target[y * w + x] = acc;
      }
    }
  }
  return out;
}

/**
 * The size whose longer side is `longSide`, keeping `image`'s aspect ratio
 * (each side at least 1).
 */
export function fitLongSide(
  image: { width: number; height: number },
  longSide: number,
): { width: number; height: number } {
  const scale = longSide / Math.max(image.width, image.height);
  return {
    width: Math.max(1, Math.round(image.width * scale)),
    height: Math.max(1, Math.round(image.height * scale)),
  };
}
