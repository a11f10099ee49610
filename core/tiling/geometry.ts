/**
 * The grid of each feature layer, along one image axis: how many positions
 * it has, how far apart they are in input pixels (stride), where the first
 * one's receptive field is centred, and how far that field reaches (radius).
 * Tiling uses it to map a window's positions to the whole image's and to
 * give every position to exactly one tile.
 *
 * @module
 */

import { resolvePadding, windowOutput } from "../graph/ops/window.ts";
import { layerInputs, layersNeeded, type NetworkDescription } from "../network/description.ts";

/** One layer's grid along one axis, in the coordinates of the (padded) network input. */
export interface AxisGrid {
  /** Positions. */
  readonly size: number;
  /** Input pixels between neighbouring positions. */
  readonly stride: number;
  /** Input pixel at the centre of position 0's receptive field. */
  readonly offset: number;
  /** Half the receptive field's extent, in input pixels. */
  readonly radius: number;
  /** Zero padding before the first position of every window op on the way (they must agree). */
  readonly padding: readonly number[];
}

/** A layer's grid along both axes. */
export interface LayerGrid {
  /** Along the height. */
  readonly rows: AxisGrid;
  /** Along the width. */
  readonly columns: AxisGrid;
}

const pairOf = (v: number | readonly [number, number] | undefined, fallback: number) =>
  v === undefined ? [fallback, fallback] : typeof v === "number" ? [v, v] : [v[0], v[1]];

/**
 * The grids of `layers` (and everything they depend on) for a network input
 * of `height`×`width` pixels (already padded).
 */
export function layerGrids(
  net: NetworkDescription,
  layers: readonly string[],
  size: { readonly height: number; readonly width: number },
): Map<string, LayerGrid> {
  const start = (n: number): AxisGrid => ({
    size: n,
    stride: 1,
    offset: 0,
    radius: 0,
    padding: [],
  });
  const grids = new Map<string, LayerGrid>([[
    "input",
    { rows: start(size.height), columns: start(size.width) },
  ]]);
  const indexOf = new Map(net.layers.map((l, i) => [l.name, i]));
  for (const layer of layersNeeded(net, layers)) {
    const inputs = layerInputs(net, indexOf.get(layer.name)!).map((n) => grids.get(n)!);
    const g = inputs[0];
    if (layer.type === "relu") {
      grids.set(layer.name, g);
      continue;
    }
    if (layer.type === "concat") {
      // The branches share one grid; the widest receptive field counts.
      const join = (axis: "rows" | "columns"): AxisGrid => ({
        ...g[axis],
        radius: Math.max(...inputs.map((i) => i[axis].radius)),
        padding: inputs.flatMap((i) => i[axis].padding),
      });
      grids.set(layer.name, { rows: join("rows"), columns: join("columns") });
      continue;
    }
    const kernel = pairOf(layer.kernel, 1);
    const stride = pairOf(layer.stride, layer.type === "pool" ? kernel[0] : 1);
    if (layer.type === "pool" && layer.stride === undefined) stride[1] = kernel[1];
    const pads = resolvePadding(
      layer.padding ?? "valid",
      [g.rows.size, g.columns.size],
      kernel as [number, number],
      stride as [number, number],
      [1, 1],
      layer.name,
    );
    const axis = (a: AxisGrid, i: 0 | 1): AxisGrid => ({
      size: windowOutput(a.size, kernel[i], stride[i], 1, pads[i], pads[i + 2]),
      stride: a.stride * stride[i],
      offset: a.offset + a.stride * ((kernel[i] - 1) / 2 - pads[i]),
      radius: a.radius + a.stride * (kernel[i] - 1) / 2,
      padding: [...a.padding, pads[i]],
    });
    grids.set(layer.name, { rows: axis(g.rows, 0), columns: axis(g.columns, 1) });
  }
  return grids;
}
