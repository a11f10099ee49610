/**
 * A tile plan: the image (mirror-padded as the network sees it) cut into
 * windows, each an interior plus a halo, so that every position of every
 * layer is counted by exactly one window. Window origins are multiples of
 * the deepest layer's stride, so a window's positions are the whole image's
 * positions, shifted.
 *
 * @module
 */

import { IMAGE_LAYER } from "../plugin.ts";
import { UnsupportedError } from "../graph/mod.ts";
import type { NetworkDescription } from "../network/description.ts";
import { type AxisGrid, layerGrids } from "./geometry.ts";

/** One window along one axis, in padded-input pixels. */
export interface AxisWindow {
  /** First pixel of the window. */
  readonly start: number;
  /** One past its last pixel. */
  readonly end: number;
  /** Receptive-field centres in [from, to) belong to this window's interior. */
  readonly from: number;
  /** See `from`. */
  readonly to: number;
}

/** What one window holds of one layer along one axis, in that layer's positions. */
export interface AxisView {
  /** The whole image's position of the window's first one. */
  readonly start: number;
  /** Positions in the window. */
  readonly count: number;
  /** The counted (interior) positions: local [lo, hi). */
  readonly lo: number;
  /** See `lo`. */
  readonly hi: number;
}

/** One window: where it lies, and its view of each layer. */
export interface Window {
  /** Along the height. */
  readonly rows: AxisWindow;
  /** Along the width. */
  readonly columns: AxisWindow;
  /** Its view of every layer read (and `image`, the unpadded pixels). */
  readonly layers: ReadonlyMap<string, { rows: AxisView; columns: AxisView }>;
}

/** Windows over an image, and what they cost. */
export interface TilePlan {
  /** The image's size. */
  readonly size: { readonly width: number; readonly height: number };
  /** Mirror padding around the image before the network. */
  readonly padding: number;
  /** Pixels of context on each side of an interior (a multiple of `alignment`). */
  readonly halo: number;
  /** Interior side of a window that has neighbours on both sides. */
  readonly interior: number;
  /** Window origins are multiples of this (the deepest layer's stride). */
  readonly alignment: number;
  /** The windows, row by row. */
  readonly windows: readonly Window[];
  /** The whole image's grid of every layer read. */
  readonly grids: ReadonlyMap<string, { rows: AxisGrid; columns: AxisGrid }>;
  /** Pixels computed over pixels of the padded image (≥ 1: the halo's overhead). */
  readonly overhead: number;
}

/** Cuts `[0, length)` into windows of `interior + 2·halo` (the last one shorter). */
export function axisWindows(length: number, interior: number, halo: number): AxisWindow[] {
  const size = interior + 2 * halo;
  if (length <= size) return [{ start: 0, end: length, from: -Infinity, to: Infinity }];
  const out: AxisWindow[] = [];
  for (let start = 0;; start += interior) {
    const last = start + size >= length;
    out.push({
      start,
      end: last ? length : start + size,
      from: start === 0 ? -Infinity : start + halo,
      to: last ? Infinity : start + interior + halo,
    });
    if (last) return out;
  }
}

/** The layers' deepest stride: window origins must be multiples of it. */
export function alignmentOf(
  net: NetworkDescription,
  layers: readonly string[],
): number {
  const grids = layerGrids(net, layers.filter((l) => l !== IMAGE_LAYER), {
    height: 1024,
    width: 1024,
  });
  let s = 1;
  for (const g of grids.values()) s = Math.max(s, g.rows.stride, g.columns.stride);
  return s;
}

/** Options of {@linkcode planTiles}. */
export interface PlanOptions {
  /** Interior side of a full window, in pixels (rounded up to the alignment). */
  interior: number;
  /** Context on each side (rounded up to the alignment). */
  halo: number;
  /** Mirror padding the network adds around the image. */
  padding: number;
}

const roundUp = (v: number, m: number) => Math.max(m, Math.ceil(v / m) * m);

/**
 * Plans the windows for an image of `size` read at `layers` of `net`.
 * Throws {@linkcode UnsupportedError} where a network's padding makes a
 * window's grid differ from the whole image's (it cannot be tiled).
 */
export function planTiles(
  net: NetworkDescription,
  layers: readonly string[],
  size: { readonly width: number; readonly height: number },
  options: PlanOptions,
): TilePlan {
  const netLayers = [...new Set(layers.filter((l) => l !== IMAGE_LAYER))];
  const alignment = alignmentOf(net, netLayers);
  const halo = roundUp(options.halo, alignment);
  const interior = roundUp(options.interior, alignment);
  const pad = options.padding;
  const padded = { height: size.height + 2 * pad, width: size.width + 2 * pad };
  const grids = layerGrids(net, netLayers, padded);
  const rows = axisWindows(padded.height, interior, halo);
  const columns = axisWindows(padded.width, interior, halo);
  const windowGrids = new Map<string, ReturnType<typeof layerGrids>>();
  const gridsOf = (h: number, w: number) => {
    const key = `${h}x${w}`;
    let g = windowGrids.get(key);
    if (!g) windowGrids.set(key, g = layerGrids(net, netLayers, { height: h, width: w }));
    return g;
  };
  const view = (
    whole: AxisGrid,
    local: AxisGrid,
    w: AxisWindow,
    layer: string,
  ): AxisView => {
    if (
      w.start % whole.stride !== 0 ||
      local.padding.some((p, i) => p !== whole.padding[i])
    ) {
      throw new UnsupportedError(
        `network ${net.name} cannot be tiled at layer ${layer}: a window's grid does not line ` +
          `up with the whole image's`,
      );
    }
    const start = w.start / whole.stride;
    const first = Math.max(0, Math.ceil((w.from - whole.offset) / whole.stride));
    const last = Math.min(whole.size, Math.ceil((w.to - whole.offset) / whole.stride));
    const lo = first - start;
    const hi = last - start;
    if (lo < 0 || hi > local.size || start + local.size > whole.size) {
      throw new UnsupportedError(
        `tiling: the halo of ${halo} px is too small for layer ${layer} of network ${net.name}`,
      );
    }
    return { start, count: local.size, lo, hi: Math.max(lo, hi) };
  };
  const imageView = (n: number, w: AxisWindow): AxisView => {
    const start = Math.max(0, w.start - pad);
    const end = Math.min(n, w.end - pad);
    const from = Math.max(start, Math.ceil(w.from - pad));
    const to = Math.min(end, Math.ceil(w.to - pad));
    return { start, count: end - start, lo: from - start, hi: Math.max(from, to) - start };
  };
  const windows: Window[] = [];
  let computed = 0;
  for (const r of rows) {
    for (const c of columns) {
      const local = gridsOf(r.end - r.start, c.end - c.start);
      const views = new Map<string, { rows: AxisView; columns: AxisView }>();
      for (const layer of netLayers) {
        const whole = grids.get(layer)!;
        const mine = local.get(layer)!;
        views.set(layer, {
          rows: view(whole.rows, mine.rows, r, layer),
          columns: view(whole.columns, mine.columns, c, layer),
        });
      }
      views.set(IMAGE_LAYER, {
        rows: imageView(size.height, r),
        columns: imageView(size.width, c),
      });
      windows.push({ rows: r, columns: c, layers: views });
      computed += (r.end - r.start) * (c.end - c.start);
    }
  }
  return {
    size: { width: size.width, height: size.height },
    padding: pad,
    halo,
    interior,
    alignment,
    windows,
    grids,
    overhead: computed / (padded.height * padded.width),
  };
}
