/**
 * Guidance: masks that say which style goes where and how much the content
 * counts where (Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling
 * Perceptual Factors in Neural Style Transfer", CVPR 2017).
 *
 * A mask is one grey plane in [0, 1]. The core brings each mask to the grid
 * of every layer a plugin reads — by propagating it through the network's
 * windows (`receptive`: each conv or pool becomes an average over the same
 * window, so a position's value is the share of its receptive field inside
 * the mask) or by averaging the pixels each position covers (`area`) — and
 * hands it to the plugin next to the features.
 *
 * @module
 */

import { constant, padReflect, type Tensor } from "./graph/mod.ts";
import { resizePlanes, type RgbImage } from "./image.ts";
import { OptionError } from "./options.ts";
import type { FeatureNetwork } from "./network/feature_network.ts";
import { IMAGE_LAYER } from "./plugin.ts";

/** A grey mask: `data[y·W + x]` in [0, 1] (1: fully inside). */
export interface Mask {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** width·height values in [0, 1]. */
  readonly data: Float32Array;
}

/** How a mask reaches a layer's grid. */
export type GuidanceMethod = "receptive" | "area";

/** The masks of a run. Any mask may be absent; sizes are free (each is resized to its image). */
export interface Guidance {
  /**
   * Per style image, where it goes in the output (1: this style). A style
   * image without a mask gets what no other mask claims (1 − their sum).
   */
  readonly styles?: readonly (Mask | undefined)[];
  /** Per style image, the part of it whose statistics are matched. */
  readonly styleSources?: readonly (Mask | undefined)[];
  /** The content cost's weight at each output pixel (grey level = weight). */
  readonly content?: Mask;
  /** How masks reach each layer's grid (default `receptive`). */
  readonly method?: GuidanceMethod;
}

/** Makes a mask, checking its size and values. */
export function maskImage(width: number, height: number, data?: Float32Array): Mask {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`mask size ${width}×${height} must be positive integers`);
  }
  const values = data ?? new Float32Array(width * height);
  if (values.length !== width * height) {
    throw new RangeError(
      `a mask of ${width}×${height} needs ${width * height} values, got ${values.length}`,
    );
  }
  for (const v of values) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`mask values must be in [0, 1], got ${v}`);
  }
  return { width, height, data: values };
}

/** A mask from an image: the mean of its three channels (white: 1, black: 0). */
export function maskFromImage(image: RgbImage): Mask {
  const n = image.width * image.height;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = (image.data[i] + image.data[n + i] + image.data[2 * n + i]) / 3;
    data[i] = Math.min(1, Math.max(0, v));
  }
  return { width: image.width, height: image.height, data };
}

/** Resizes a mask with the image filter (antialiased when shrinking). */
export function resizeMask(mask: Mask, size: { width: number; height: number }): Mask {
  if (mask.width === size.width && mask.height === size.height) return mask;
  const data = resizePlanes(mask.data, 1, mask, size);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, data[i]));
  return maskImage(size.width, size.height, data);
}

/** The mean value of a mask: 0 for all black, 1 for all white. */
export function maskCoverage(mask: Mask): number {
  let sum = 0;
  for (const v of mask.data) sum += v;
  return sum / mask.data.length;
}

/**
 * Refuses a mask whose aspect ratio differs from its image's by more than a
 * pixel's rounding, unless `stretch` (then it is simply resized).
 */
export function checkMaskFits(
  mask: Mask,
  image: { width: number; height: number },
  options: { what: string; image: string; stretch?: boolean },
): void {
  if (options.stretch) return;
  // The mask's height if it had the image's aspect ratio at the mask's width.
  const expected = mask.width * image.height / image.width;
  if (Math.abs(expected - mask.height) <= Math.max(1, mask.height * 0.01)) return;
  throw new OptionError(
    `${options.what} is ${mask.width}×${mask.height} but ${options.image} is ` +
      `${image.width}×${image.height} (another aspect ratio); give a mask of the same shape, ` +
      `or stretch it with --stretch-masks`,
  );
}

/** Refuses more masks (`label`: "style masks", "style source masks") than style images. */
export function checkMaskCount(
  masks: readonly unknown[] | undefined,
  styles: number,
  label: string,
): void {
  if ((masks?.length ?? 0) > styles) {
    throw new OptionError(
      `${masks!.length} ${label} for ${styles} style image(s); give at most one per style image`,
    );
  }
}

/** Refuses a style image's source mask that is all black (nothing of the image to match). */
export function checkSourceCovers(mask: Mask, index: number): void {
  if (maskCoverage(mask) === 0) {
    throw new OptionError(
      `the source mask of style image ${
        index + 1
      } is all black: no part of that image would be matched`,
    );
  }
}

/**
 * Each style image's region of the output: its own mask, or, for a style
 * without one, what the given masks leave (1 − their sum, at least 0).
 * Without any style mask: `undefined` (no guidance).
 */
export function styleRegions(
  masks: readonly (Mask | undefined)[] | undefined,
  styles: number,
  size: { width: number; height: number },
): Mask[] | undefined {
  if (!masks?.some((m) => m)) return undefined;
  checkMaskCount(masks, styles, "style masks");
  const given = Array.from({ length: styles }, (_, i) => masks[i] && resizeMask(masks[i], size));
  const n = size.width * size.height;
  const rest = new Float32Array(n).fill(1);
  for (const m of given) if (m) { for (let i = 0; i < n; i++) rest[i] -= m.data[i]; }
  for (let i = 0; i < n; i++) rest[i] = Math.max(0, rest[i]);
  return given.map((m) => m ?? maskImage(size.width, size.height, Float32Array.from(rest)));
}

/**
 * The weight of each style image's regional cost, so that every covered
 * pixel gets the style at full strength: style s gets
 * w_s·Σ_p M_s² / Σ_p M_s²·(Σ_t w_t·M_t²). Disjoint regions each get 1;
 * styles sharing a region split it by their blend weights (which is then
 * exactly the blend of their targets). An empty region gets 0.
 */
export function regionWeights(regions: readonly Mask[], weights: readonly number[]): number[] {
  const n = regions[0]?.data.length ?? 0;
  const cover = new Float64Array(n);
  regions.forEach((r, s) => {
    for (let p = 0; p < n; p++) cover[p] += weights[s] * r.data[p] ** 2;
  });
  return regions.map((r, s) => {
    let own = 0;
    let shared = 0;
    for (let p = 0; p < n; p++) {
      const m2 = r.data[p] ** 2;
      own += m2;
      shared += m2 * cover[p];
    }
    return shared > 0 ? weights[s] * own / shared : 0;
  });
}

/** A mask mirrored by `pad` pixels on every side (as the network pads its input). */
function padMask(mask: Mask, pad: number): Mask {
  if (pad <= 0) return mask;
  const w = mask.width + 2 * pad;
  const h = mask.height + 2 * pad;
  const mirror = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = mirror(y - pad, mask.height);
    for (let x = 0; x < w; x++) {
      data[y * w + x] = mask.data[sy * mask.width + mirror(x - pad, mask.width)];
    }
  }
  return { width: w, height: h, data };
}

/**
 * Area average of a mask onto a `width × height` grid: each cell is the mean
 * of the pixels it covers (fractional at the cell's edges).
 */
export function areaResize(mask: Mask, size: { width: number; height: number }): Float32Array {
  const cols = boxWeights(mask.width, size.width);
  const rows = boxWeights(mask.height, size.height);
  const out = new Float32Array(size.width * size.height);
  for (let y = 0; y < size.height; y++) {
    for (let x = 0; x < size.width; x++) {
      let acc = 0;
      for (const [py, wy] of rows[y]) {
        for (const [px, wx] of cols[x]) acc += wy * wx * mask.data[py * mask.width + px];
      }
      out[y * size.width + x] = acc;
    }
  }
  return out;
}

/** For each of `to` cells over `from` pixels: the pixels it covers and their shares (summing to 1). */
function boxWeights(from: number, to: number): [number, number][][] {
  const step = from / to;
  return Array.from({ length: to }, (_, i) => {
    const lo = i * step;
    const hi = lo + step;
    const cells: [number, number][] = [];
    for (let p = Math.floor(lo); p < Math.min(from, Math.ceil(hi)); p++) {
      const overlap = Math.min(hi, p + 1) - Math.max(lo, p);
      if (overlap > 1e-9) cells.push([p, overlap / step]);
    }
    return cells;
  });
}

/** Options of {@linkcode layerMasks}. */
export interface LayerMaskOptions {
  /** How the mask reaches each layer. */
  readonly method: GuidanceMethod;
  /** The mirror padding the network's features use (`receptive` pads the mask alike). */
  readonly inputPadding?: number;
  /** Every layer that may be asked for (`receptive` builds them in one pass). */
  readonly layers: readonly string[];
  /** The shape `[N, C, H, W]` of each layer's features (for `area`). */
  readonly shapeOf: (layer: string) => readonly number[];
}

/**
 * The mask at each of `layers` (`[1, 1, h, w]`, constant), built on first use;
 * {@linkcode IMAGE_LAYER} gives the mask itself. `mask` must have the image's size.
 */
export function layerMasks(
  network: FeatureNetwork,
  mask: Mask,
  options: LayerMaskOptions,
): (layer: string) => Tensor {
  const pixels = constant(mask.data, [1, 1, mask.height, mask.width], { name: "mask" });
  const cache = new Map<string, Tensor>([[IMAGE_LAYER, pixels]]);
  // The layers see the image mirror-padded like this; so does the mask.
  const pad = Math.min(options.inputPadding ?? 0, Math.min(mask.width, mask.height) - 1);
  let propagated = false;
  return (layer) => {
    if (options.method === "receptive" && !propagated) {
      propagated = true;
      const padded = padReflect(pixels, pad);
      const layers = [...new Set(options.layers.filter((l) => l !== IMAGE_LAYER))];
      for (const [name, t] of Object.entries(network.guidance(padded, layers))) {
        cache.set(name, t);
      }
    }
    let t = cache.get(layer);
    if (t) return t;
    if (options.method === "receptive") {
      throw new OptionError(
        `mask of layer "${layer}" asked for, but the plugin did not declare it`,
      );
    }
    const [, , h, w] = options.shapeOf(layer);
    t = constant(areaResize(padMask(mask, pad), { width: w, height: h }), [1, 1, h, w]);
    cache.set(layer, t);
    return t;
  };
}
