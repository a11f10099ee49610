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
import { layerChannels } from "../network/random_weights.ts";
import { chooseTiles, formatBytes, receptiveHalo, weightBytes, windowBytes } from "./budget.ts";
import { alignmentOf } from "./plan.ts";

/** The runtime, the network's weights, the compiled graphs and the decoders (measured: 380–500 MB). */
export const RUNTIME_BYTES = 500e6;

/**
 * What one session holds per byte of its network's weights (the model's
 * bytes, the initializers, the kernels' state): about 21 MB for InceptionV3
 * to mixed2's 4 MB of weights (measured). A tiled objective holds a
 * forward and a backward session per window shape, up to 8.
 */
export const SESSION_WEIGHT_FACTOR = 5.5;

/** The sessions a tiled objective holds at most (two per window shape). */
export const TILED_SESSIONS = 8;

/** A window's bytes when it also runs the content image through the network. */
export const RECOMPUTE_FACTOR = 1.5;

/** What a scale may use. */
export interface MemoryPlan {
  /** Tiles for the objective, or `undefined`: the whole image at once. */
  readonly tiles?: {
    readonly interior: number;
    readonly halo: number;
    readonly recomputeReferences?: boolean;
  };
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
  // Adam: x, the trial, two moments, two gradients. The driver: the content
  // image, a gradient and an iterate the collector has not freed yet
  // (measured: without the iterate a 4096² run went 0.8 % over its budget),
  // and the average.
  const optimiser = settings.optimizer === "lbfgs" ? 6 + 2 * settings.history : 6;
  return optimiser + 3 + (settings.average > 0 ? 1 : 0);
}

/** Bytes of the features at `layers` over the whole image (a content image's, kept for tiles). */
export function featureBytes(
  net: NetworkDescription,
  layers: readonly string[],
  size: { width: number; height: number },
): number {
  const netLayers = [...new Set(layers.filter((l) => l !== IMAGE_LAYER))];
  const grids = layerGrids(net, netLayers, size);
  const channels = layerChannels(net);
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
  const stored = featureBytes(net, referenceLayers, size);
  const sessions = TILED_SESSIONS * SESSION_WEIGHT_FACTOR * weightBytes(net, netLayers);
  const halo = receptiveHalo(net, netLayers);
  const s = alignmentOf(net, netLayers);
  const side = (interior: number) => interior + 2 * halo;
  /** One way to hold a scale: the optimiser, its pairs, and where content features come from. */
  type Holding = { optimizer: "lbfgs" | "adam"; history: number; recompute: boolean };
  const fixed = (h: Holding) =>
    RUNTIME_BYTES + vector * vectorsHeld({ ...settings, ...h }) + (h.recompute ? 0 : stored);
  const windowAt = (h: Holding, interior: number) =>
    (h.recompute ? RECOMPUTE_FACTOR : 1) *
    windowBytes(net, netLayers, { height: side(interior), width: side(interior) });
  // In order of preference: every L-BFGS pair asked for, fewer pairs, content
  // features computed in each window, then Adam (fewer image-sized arrays).
  const holdings: Holding[] = [];
  if (settings.optimizer === "lbfgs") {
    for (let m = settings.history; m >= 1; m--) {
      holdings.push({ optimizer: "lbfgs", history: m, recompute: false });
    }
    if (stored) holdings.push({ optimizer: "lbfgs", history: 1, recompute: true });
  }
  holdings.push({ optimizer: "adam", history: settings.history, recompute: false });
  if (stored) holdings.push({ optimizer: "adam", history: settings.history, recompute: true });
  const tiledFits = (h: Holding, interior: number) =>
    fixed(h) + sessions + windowAt(h, interior) <= bytes;
  const holding = holdings.find((h) => tiledFits(h, 2 * halo)) ??
    holdings.find((h) => tiledFits(h, s));
  if (!holding) {
    // Rounded up to what formatBytes shows, so the budget named works.
    const need = Math.min(
      ...holdings.map((h) => fixed(h) + sessions + windowAt(h, s)),
    );
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
  const held = fixed(holding);
  const factor = holding.recompute ? RECOMPUTE_FACTOR : 1;
  const whole = chooseTiles(net, netLayers, size, { bytes: bytes - held, padding, halo }) ===
    undefined;
  const chosen = whole ? undefined : chooseTiles(net, netLayers, size, {
    bytes: Math.max(0, bytes - held - sessions) / factor,
    padding,
    halo,
  });
  const tiles = chosen &&
    { ...chosen, ...(holding.recompute ? { recomputeReferences: true } : {}) };
  const optimizer = holding.optimizer;
  const history = holding.history;
  const notes: string[] = [];
  if (optimizer !== settings.optimizer) {
    notes.push("Adam instead of L-BFGS (not even one L-BFGS pair fits)");
  } else if (optimizer === "lbfgs" && history < settings.history) {
    notes.push(`L-BFGS history ${history} instead of ${settings.history}`);
  }
  if (tiles) notes.push(`tiles of ${tiles.interior} px with a ${tiles.halo} px halo`);
  if (tiles?.recomputeReferences) notes.push("the content's features computed in each tile");
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
