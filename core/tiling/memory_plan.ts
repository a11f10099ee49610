/**
 * A scale's memory plan under a budget: what the run holds besides the
 * evaluation (the image-sized vectors of the optimiser and the driver, the
 * runtime), how many L-BFGS pairs fit, and the tiles the evaluation needs.
 *
 * @module
 */

import { OptionError } from "../options.ts";
import type { NetworkDescription } from "../network/description.ts";
import { IMAGE_LAYER } from "../plugin.ts";
import { layerGrids } from "./geometry.ts";
import { chooseTiles, formatBytes, layerChannels, receptiveHalo, windowBytes } from "./budget.ts";
import { alignmentOf } from "./plan.ts";

/** The runtime, the network's weights and the compiled graphs (measured: 280–380 MB). */
export const RUNTIME_BYTES = 400e6;

/** What a scale may use. */
export interface MemoryPlan {
  /** Tiles for the objective, or `undefined`: the whole image at once. */
  readonly tiles?: { readonly interior: number; readonly halo: number };
  /** L-BFGS pairs that fit. */
  readonly history: number;
  /** The optimiser: the one asked for, or Adam where not even one L-BFGS pair fits. */
  readonly optimizer: "lbfgs" | "adam";
  /** Bytes planned besides the evaluation. */
  readonly fixedBytes: number;
  /** What to tell the user (tiles chosen, history cut), if anything. */
  readonly notice?: string;
}

/** Image-sized float32 vectors the optimiser and the driver hold at once. */
function vectorsHeld(settings: { optimizer: string; history: number; average: number }): number {
  // L-BFGS: x, the trial, two gradients, a float64 direction, 2 per pair;
  // Adam: x, the trial, two moments, two gradients. The driver: the output
  // (and the running average).
  const optimiser = settings.optimizer === "lbfgs" ? 6 + 2 * settings.history : 6;
  return optimiser + 1 + (settings.average > 0 ? 1 : 0);
}

/** Bytes of the features at `layers` over the whole image (a content image's, kept for tiles). */
function featureBytes(
  net: NetworkDescription,
  layers: readonly string[],
  size: { width: number; height: number },
): number {
  const netLayers = [...new Set(layers.filter((l) => l !== IMAGE_LAYER))];
  const grids = layerGrids(net, netLayers, size);
  const channels = layerChannels(net, netLayers);
  let bytes = 0;
  for (const l of netLayers) {
    const g = grids.get(l)!;
    bytes += 4 * channels.get(l)! * g.rows.size * g.columns.size;
  }
  return bytes;
}

/**
 * Plans one scale of `size` within `bytes`: throws {@linkcode OptionError}
 * naming the smallest budget that works when it cannot fit.
 */
export function memoryPlan(
  net: NetworkDescription,
  layers: readonly string[],
  options: {
    size: { readonly width: number; readonly height: number };
    /** Layers whose content-image features are kept over the whole image (content costs). */
    referenceLayers: readonly string[];
    settings: { optimizer: string; history: number; average: number; maxMemory: string };
    bytes: number;
  },
): MemoryPlan {
  const { size, settings, bytes, referenceLayers } = options;
  const padding = Math.min(net.inputPadding ?? 0, Math.min(size.width, size.height) - 1);
  const vector = 12 * size.width * size.height;
  const netLayers = [...new Set(layers.filter((l) => l !== IMAGE_LAYER))];
  const fixed = (optimizer: string, history: number) =>
    RUNTIME_BYTES + vector * vectorsHeld({ ...settings, optimizer, history }) +
    featureBytes(net, referenceLayers, size);
  const halo = receptiveHalo(net, netLayers);
  const s = alignmentOf(net, netLayers);
  const side = (interior: number) => interior + 2 * halo;
  const window = windowBytes(net, netLayers, { height: side(s), width: side(s) });
  const fits = (optimizer: string, history: number) => fixed(optimizer, history) + window <= bytes;
  // L-BFGS as asked; Adam (fewer image-sized arrays) where not even one pair fits.
  const optimizer = settings.optimizer === "lbfgs" && !fits("lbfgs", 1)
    ? "adam"
    : settings.optimizer;
  if (!fits(optimizer, 1)) {
    // Rounded up to what formatBytes shows, so the budget named works.
    const need = fixed("adam", 1) + window;
    const step = need >= 1e9 ? 1e8 : need >= 1e8 ? 1e7 : 1e6;
    const smallest = Math.ceil(need / step) * step;
    const what = settings.maxMemory === "auto"
      ? `the memory available (${formatBytes(bytes)})`
      : `max memory ${formatBytes(bytes)}`;
    throw new OptionError(
      `${what} is too small for network ${net.name} at ${size.width}×${size.height}: the ` +
        `smallest budget that works is ${formatBytes(smallest)} ` +
        `(--max-memory ${formatBytes(smallest).replace(" ", "")})`,
    );
  }
  // Keep the L-BFGS pairs unless they leave too little for tiles worth having.
  const useful = windowBytes(net, netLayers, { height: side(2 * halo), width: side(2 * halo) });
  let history = optimizer === "lbfgs" ? settings.history : 1;
  while (history > 1 && bytes - fixed(optimizer, history) < useful) history--;
  const held = fixed(optimizer, history);
  const tiles = chooseTiles(net, netLayers, size, { bytes: bytes - held, padding, halo });
  const notes: string[] = [];
  if (optimizer !== settings.optimizer) {
    notes.push("Adam instead of L-BFGS (not even one L-BFGS pair fits)");
  } else if (optimizer === "lbfgs" && history < settings.history) {
    notes.push(`L-BFGS history ${history} instead of ${settings.history}`);
  }
  if (tiles) notes.push(`tiles of ${tiles.interior} px with a ${tiles.halo} px halo`);
  return {
    tiles,
    history: optimizer === "lbfgs" ? history : settings.history,
    optimizer: optimizer as "lbfgs" | "adam",
    fixedBytes: held,
    notice: notes.length
      ? `${size.width}×${size.height} within ${formatBytes(bytes)}: ${notes.join(", ")}`
      : undefined,
  };
}
