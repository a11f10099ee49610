/**
 * Memory budgets: how much one evaluation of a window holds, and the
 * largest window (or none: the whole image) that fits a budget.
 *
 * A window's forward activations are counted from the layer table (every
 * layer's channels × positions, as float32); an evaluation with its
 * backward holds a multiple of that, `ACTIVATION_FACTOR`, measured on
 * onnxruntime (see the memory benchmark, which prints predicted against
 * measured peaks).
 *
 * @module
 */

import { IMAGE_LAYER } from "../plugin.ts";
import { OptionError } from "../options.ts";
import { layerInputs, layersNeeded, type NetworkDescription } from "../network/description.ts";
import { layerGrids } from "./geometry.ts";
import { layerChannels } from "../network/random_weights.ts";
import { alignmentOf, axisWindows } from "./plan.ts";

/**
 * Peak bytes of a forward + backward evaluation per byte of forward
 * activations (measured on InceptionV3 to mixed2, onnxruntime without its
 * memory arena: native 1.26–1.5 from 2048 to 1024 px, wasm 1.37 at 768 px).
 */
export const ACTIVATION_FACTOR = 1.6;

/** Bytes of the convolution weights `layers` need. */
export function weightBytes(net: NetworkDescription, layers: readonly string[]): number {
  const netLayers = layers.filter((l) => l !== IMAGE_LAYER);
  const channels = layerChannels(net);
  const indexOf = new Map(net.layers.map((l, i) => [l.name, i]));
  let values = 0;
  for (const layer of layersNeeded(net, netLayers)) {
    if (layer.type !== "conv") continue;
    const [input] = layerInputs(net, indexOf.get(layer.name)!);
    const [kh, kw] = typeof layer.kernel === "number" ? [layer.kernel, layer.kernel] : layer.kernel;
    values += layer.filters * (channels.get(input)! * kh * kw + 1);
  }
  return 4 * values;
}

/** Bytes of the forward activations of `layers` (and those they need) on a `height`×`width` input. */
export function activationBytes(
  net: NetworkDescription,
  layers: readonly string[],
  size: { readonly height: number; readonly width: number },
): number {
  const netLayers = layers.filter((l) => l !== IMAGE_LAYER);
  const grids = layerGrids(net, netLayers, size);
  const channels = layerChannels(net);
  let elements = 3 * size.height * size.width;
  for (const layer of layersNeeded(net, netLayers)) {
    const g = grids.get(layer.name)!;
    elements += channels.get(layer.name)! * g.rows.size * g.columns.size;
  }
  return 4 * elements;
}

/** The halo that holds the whole receptive field of every layer read (rounded to the alignment). */
export function receptiveHalo(net: NetworkDescription, layers: readonly string[]): number {
  const netLayers = layers.filter((l) => l !== IMAGE_LAYER);
  const grids = layerGrids(net, netLayers, { height: 1024, width: 1024 });
  const s = alignmentOf(net, netLayers);
  let r = 1;
  for (const l of netLayers) {
    r = Math.max(r, grids.get(l)!.rows.radius, grids.get(l)!.columns.radius);
  }
  return Math.ceil(r / s) * s;
}

/** Options of {@linkcode chooseTiles}. */
export interface TileBudget {
  /** Bytes one evaluation may hold (the window's activations and the session's buffers). */
  readonly bytes: number;
  /** Mirror padding the network adds around the image. */
  readonly padding: number;
  /** Context on each side; default {@linkcode receptiveHalo}. */
  readonly halo?: number;
}

/** Evaluation bytes of a window `h`×`w`. */
export function windowBytes(
  net: NetworkDescription,
  layers: readonly string[],
  size: { readonly height: number; readonly width: number },
): number {
  return ACTIVATION_FACTOR * activationBytes(net, layers, size);
}

/**
 * The tiles for an image of `size` under a budget: `undefined` when the
 * whole image fits, else the largest interior (square windows, a multiple
 * of the alignment) whose windows fit. Throws {@linkcode OptionError} naming
 * the smallest budget that works when not even the smallest window fits.
 */
export function chooseTiles(
  net: NetworkDescription,
  layers: readonly string[],
  size: { readonly width: number; readonly height: number },
  budget: TileBudget,
): { interior: number; halo: number } | undefined {
  const netLayers = layers.filter((l) => l !== IMAGE_LAYER);
  const padded = {
    height: size.height + 2 * budget.padding,
    width: size.width + 2 * budget.padding,
  };
  if (windowBytes(net, netLayers, padded) <= budget.bytes) return undefined;
  const s = alignmentOf(net, netLayers);
  const halo = budget.halo ?? receptiveHalo(net, netLayers);
  const bytesAt = (interior: number) => {
    const rows = axisWindows(padded.height, interior, halo);
    const columns = axisWindows(padded.width, interior, halo);
    const h = Math.max(...rows.map((r) => r.end - r.start));
    const w = Math.max(...columns.map((c) => c.end - c.start));
    return windowBytes(net, netLayers, { height: h, width: w });
  };
  if (bytesAt(s) > budget.bytes) {
    throw new OptionError(
      `a memory budget of ${formatBytes(budget.bytes)} per evaluation is too small for network ` +
        `${net.name}: its smallest tile needs ${formatBytes(bytesAt(s))}`,
    );
  }
  // The largest interior that fits (bytes grow with the interior).
  let lo = s;
  let hi = Math.ceil(Math.max(padded.height, padded.width) / s) * s;
  while (hi - lo > s) {
    const mid = Math.floor((lo + hi) / 2 / s) * s;
    if (bytesAt(mid) <= budget.bytes) lo = mid;
    else hi = mid;
  }
  return { interior: lo, halo };
}

/** Bytes as `512 MB`, `2.5 GB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, "")} ${units[u]}`;
}

/**
 * Reads a memory size: `2GB`, `512MB`, `1.5 G`, `800M`, `4096` (bytes);
 * decimal units (1 GB = 10⁹ bytes), `GiB`/`MiB` binary. `undefined` for
 * `auto`.
 */
export function parseBytes(text: string): number | undefined {
  const t = text.trim();
  if (t.toLowerCase() === "auto") return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?$/i.exec(t);
  if (!m) {
    throw new OptionError(
      `max memory "${text}" is not a memory size; give one like 2GB, 512MB or auto (--max-memory)`,
    );
  }
  const power = " kmgt".indexOf(m[2].toLowerCase() || " ");
  const base = m[3] ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}
