/**
 * Evaluating statistics plugins window by window. Pass 1 runs each window's
 * forward graph and adds up every statistic over the windows; the cost and
 * its gradient with respect to the statistics come from their totals; pass 2
 * runs each window's backward with those gradients as inputs and adds its
 * pixel gradient into the image's. Memory is one window's activations plus
 * the statistics; the result is the whole image's, up to how much of each
 * position's receptive field its window holds.
 *
 * @module
 */

import {
  addN,
  constant,
  grad,
  input,
  mul,
  reduceSum,
  slice,
  type Tensor,
  toOnnx,
  UnsupportedError,
} from "../graph/mod.ts";
import type { OnnxGraph } from "../graph/mod.ts";
import type { Session } from "../runtime/session.ts";
import type { FeatureNetwork } from "../network/feature_network.ts";
import { IMAGE_LAYER, inPluginAsync, type NetworkInfo, type PluginUse } from "../plugin.ts";
import { checkedStatistics, featureReader, noReference } from "../plugin_calls.ts";
import type { TilePlan, Window } from "./plan.ts";
import { addWindowGradient, readWindow } from "./window_pixels.ts";

/** A float32 array with its shape. */
export interface Array32 {
  /** Values, row-major. */
  readonly data: Float32Array;
  /** Shape. */
  readonly shape: readonly number[];
}

/** One set of statistics to gather: a plugin over one region of the image. */
export interface StatisticsPart {
  /** The plugin use. */
  readonly use: PluginUse;
  /** Its guidance mask at each layer over the whole image (`[1, 1, h, w]` arrays), if any. */
  readonly mask?: ReadonlyMap<string, Array32>;
  /**
   * The content image's features over the whole image, by layer (content
   * plugins); or the content image itself, whose features each window then
   * computes again (when keeping them does not fit the memory budget).
   */
  readonly reference?: ReadonlyMap<string, Array32> | { readonly pixels: Float32Array };
}

/** Progress of a windowed pass. */
export interface WindowProgress {
  /** 1: statistics, 2: gradient. */
  readonly pass: 1 | 2;
  /** Windows done in this pass. */
  readonly done: number;
  /** Windows in the plan. */
  readonly windows: number;
  /** The part of the image this window counts (its interior), in image pixels. */
  readonly region: { x: number; y: number; width: number; height: number };
}

/** A window's interior in image pixels (clipped to the image). */
function regionOf(plan: TilePlan, w: Window): WindowProgress["region"] {
  const clip = (from: number, to: number, n: number) => [
    Math.max(0, Math.min(n, from - plan.padding)),
    Math.max(0, Math.min(n, to - plan.padding)),
  ];
  const [x0, x1] = clip(w.columns.from, w.columns.to, plan.size.width);
  const [y0, y1] = clip(w.rows.from, w.rows.to, plan.size.height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Options of a windowed evaluation. */
export interface WindowedOptions {
  /** Called after each window. */
  onWindow?: (progress: WindowProgress) => void;
  /** Stops between windows. */
  signal?: AbortSignal;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");

/** A window's crop of a layer array `[1, C, H, W]` (its view's positions). */
function crop(
  whole: Array32,
  view: { rows: { start: number; count: number }; columns: { start: number; count: number } },
): Float32Array {
  const [, c, h, w] = whole.shape;
  const { rows, columns } = view;
  const out = new Float32Array(c * rows.count * columns.count);
  for (let k = 0; k < c; k++) {
    for (let i = 0; i < rows.count; i++) {
      const src = (k * h + rows.start + i) * w + columns.start;
      out.set(
        whole.data.subarray(src, src + columns.count),
        (k * rows.count + i) * columns.count,
      );
    }
  }
  return out;
}

/** The statistics graphs of one window shape. */
interface WindowGraph {
  /** Stats outputs by name with shapes. */
  stats: Map<string, readonly number[]>;
  /** Masks the plugins read: input name → [part, layer]. */
  masks: Map<string, [number, string]>;
  /** Reference features read: input name → [part, layer]. */
  references: Map<string, [number, string]>;
  /** Reference windows fed as pixels (features computed in the window): input name → part. */
  referencePixels: Map<string, number>;
  forward: OnnxGraph;
  backward: OnnxGraph;
  forwardSession?: Session;
  backwardSession?: Session;
}

/** Windows of one image and the sessions that evaluate them. */
export class WindowedStatistics {
  readonly #network: FeatureNetwork;
  readonly #pooling: "max" | "avg" | undefined;
  readonly #plan: TilePlan;
  readonly #parts: readonly StatisticsPart[];
  readonly #layers: readonly string[];
  readonly #open: (g: OnnxGraph) => Promise<Session>;
  readonly #graphs = new Map<string, WindowGraph>();
  readonly #info: NetworkInfo;

  /** Prepares windows over `plan` for the statistics of `parts`. */
  constructor(
    network: FeatureNetwork,
    plan: TilePlan,
    options: {
      parts: readonly StatisticsPart[];
      layers: readonly string[];
      pooling?: "max" | "avg";
      info: NetworkInfo;
      open: (g: OnnxGraph) => Promise<Session>;
    },
  ) {
    this.#network = network;
    this.#plan = plan;
    this.#parts = options.parts;
    this.#layers = options.layers;
    this.#pooling = options.pooling;
    this.#open = options.open;
    this.#info = options.info;
  }

  /** The plan. */
  get plan(): TilePlan {
    return this.#plan;
  }

  /** Shapes of every statistic, by output name (`s<part>_<key>`), from the first window. */
  async shapes(): Promise<Map<string, readonly number[]>> {
    return (await this.#graph(this.#plan.windows[0])).stats;
  }

  #key(w: Window): string {
    const image = w.layers.get(IMAGE_LAYER)!;
    return [
      w.rows.end - w.rows.start,
      w.columns.end - w.columns.start,
      image.rows.count,
      image.columns.count,
      image.rows.start + this.#plan.padding - w.rows.start,
      image.columns.start + this.#plan.padding - w.columns.start,
    ].join(",");
  }

  async #graph(w: Window): Promise<WindowGraph> {
    const key = this.#key(w);
    const known = this.#graphs.get(key);
    if (known) return known;
    const h = w.rows.end - w.rows.start;
    const wd = w.columns.end - w.columns.start;
    const pixels = input("window", [1, 3, h, wd]);
    const netLayers = [...new Set(this.#layers.filter((l) => l !== IMAGE_LAYER))];
    const image = w.layers.get(IMAGE_LAYER)!;
    const top = image.rows.start + this.#plan.padding - w.rows.start;
    const left = image.columns.start + this.#plan.padding - w.columns.start;
    // A window is padded already; its raw pixels are the image's part of it.
    const windowReader = (window: Tensor) =>
      featureReader(this.#network, window, netLayers, {
        pooling: this.#pooling,
        inputPadding: 0,
        pixels: slice(window, {
          starts: [top, left],
          ends: [top + image.rows.count, left + image.columns.count],
          axes: [2, 3],
        }),
      });
    const read = windowReader(pixels);
    const masks = new Map<string, [number, string]>();
    const maskInputs = new Map<string, Tensor>();
    const references = new Map<string, [number, string]>();
    const refInputs = new Map<string, Tensor>();
    const referencePixels = new Map<string, number>();
    // One input per reference image (parts may share one: its features are computed once).
    const refReaders = new Map<unknown, { n: number; read?: (layer: string) => Tensor }>();
    const stats = new Map<string, Tensor>();
    for (const [p, part] of this.#parts.entries()) {
      const use = part.use;
      const out = await inPluginAsync(use, "statistics", () =>
        use.plugin.spec.statistics!({
          features: read,
          mask: (layer) => {
            const name = `m${p}_${safe(layer)}`;
            let t = maskInputs.get(name);
            if (!t) {
              const [, , mh, mw] = read(layer).shape;
              t = input(name, [1, 1, mh, mw]);
              maskInputs.set(name, t);
              masks.set(name, [p, layer]);
            }
            return t;
          },
          reference: (layer) => {
            if (!part.reference) return noReference();
            let ref = refReaders.get(part.reference);
            if (!ref) refReaders.set(part.reference, ref = { n: refReaders.size });
            if ("pixels" in part.reference) {
              // The reference's window through the network, in this window's graph.
              if (!ref.read) {
                const name = `reference_window${ref.n}`;
                referencePixels.set(name, p);
                ref.read = windowReader(input(name, pixels.shape));
              }
              return ref.read(layer);
            }
            const name = `r${ref.n}_${safe(layer)}`;
            let t = refInputs.get(name);
            if (!t) {
              t = input(name, read(layer).shape);
              refInputs.set(name, t);
              references.set(name, [p, layer]);
            }
            return t;
          },
          network: this.#info,
        }, use.options));
      for (const [k, t] of Object.entries(checkedStatistics(use, out))) {
        stats.set(`s${p}_${k}`, t);
      }
    }
    const forward = toOnnx(Object.fromEntries(stats), { name: `window_statistics_${key}` });
    const dual = [...stats].map(([name, t]) => reduceSum(mul(input(`d${name}`, t.shape), t)));
    const [gradient] = grad(addN(dual), [pixels]);
    const backward = toOnnx({ gradient }, { name: `window_gradient_${key}` });
    const graph: WindowGraph = {
      stats: new Map([...stats].map(([n, t]) => [n, t.shape])),
      masks,
      references,
      referencePixels,
      forward,
      backward,
    };
    const first = this.#graphs.values().next().value as WindowGraph | undefined;
    if (first) {
      for (const [n, s] of graph.stats) {
        const f = first.stats.get(n);
        if (!f || f.join() !== s.join()) {
          throw new UnsupportedError(
            `statistic ${n} has another shape in another window: statistics must be sums over positions`,
          );
        }
      }
    }
    this.#graphs.set(key, graph);
    return graph;
  }

  /** The inputs of window `w` other than its pixels and the statistics' gradients. */
  #feeds(w: Window, graph: WindowGraph, pixels: Float32Array): Record<string, Float32Array> {
    const feeds: Record<string, Float32Array> = {
      window: readWindow(pixels, this.#plan.size, { ...w, padding: this.#plan.padding }),
    };
    for (const [name, [p, layer]] of graph.masks) {
      const view = w.layers.get(layer)!;
      const whole = this.#parts[p].mask?.get(layer);
      const { rows, columns } = view;
      const m = whole ? crop(whole, view) : new Float32Array(rows.count * columns.count).fill(1);
      // Only the interior counts.
      for (let i = 0; i < rows.count; i++) {
        for (let j = 0; j < columns.count; j++) {
          if (i < rows.lo || i >= rows.hi || j < columns.lo || j >= columns.hi) {
            m[i * columns.count + j] = 0;
          }
        }
      }
      feeds[name] = m;
    }
    for (const [name, [p, layer]] of graph.references) {
      const stored = this.#parts[p].reference as ReadonlyMap<string, Array32>;
      feeds[name] = crop(stored.get(layer)!, w.layers.get(layer)!);
    }
    for (const [name, p] of graph.referencePixels) {
      const { pixels: reference } = this.#parts[p].reference as { pixels: Float32Array };
      feeds[name] = readWindow(reference, this.#plan.size, { ...w, padding: this.#plan.padding });
    }
    return feeds;
  }

  /** Pass 1: every statistic summed over the windows of `pixels`. */
  async statistics(
    pixels: Float32Array,
    options: WindowedOptions = {},
  ): Promise<Map<string, Array32>> {
    const sums = new Map<string, Float64Array>();
    const windows = this.#plan.windows;
    for (const [k, w] of windows.entries()) {
      options.signal?.throwIfAborted();
      const graph = await this.#graph(w);
      graph.forwardSession ??= await this.#open(graph.forward);
      const out = await graph.forwardSession.run(this.#feeds(w, graph, pixels));
      for (const name of graph.stats.keys()) {
        const v = out[name];
        let acc = sums.get(name);
        if (!acc) sums.set(name, acc = new Float64Array(v.length));
        for (let i = 0; i < v.length; i++) acc[i] += v[i];
      }
      options.onWindow?.({
        pass: 1,
        done: k + 1,
        windows: windows.length,
        region: regionOf(this.#plan, w),
      });
    }
    const shapes = await this.shapes();
    return new Map(
      [...sums].map(([n, acc]) => [n, { data: Float32Array.from(acc), shape: shapes.get(n)! }]),
    );
  }

  /** Pass 2: the image gradient of Σ ⟨dS, S⟩ for the statistics' gradients `dS`. */
  async gradient(
    pixels: Float32Array,
    dStatistics: ReadonlyMap<string, Float32Array>,
    options: WindowedOptions = {},
  ): Promise<Float32Array> {
    const out = new Float32Array(pixels.length);
    const windows = this.#plan.windows;
    for (const [k, w] of windows.entries()) {
      options.signal?.throwIfAborted();
      const graph = await this.#graph(w);
      graph.backwardSession ??= await this.#open(graph.backward);
      const feeds = this.#feeds(w, graph, pixels);
      // A statistic that does not depend on the pixels (a count) has no input here.
      for (const { name } of graph.backwardSession.inputs) {
        if (name.startsWith("ds")) feeds[name] = dStatistics.get(name.slice(1))!;
      }
      const { gradient } = await graph.backwardSession.run(feeds);
      addWindowGradient(out, this.#plan.size, { ...w, padding: this.#plan.padding }, gradient);
      options.onWindow?.({
        pass: 2,
        done: k + 1,
        windows: windows.length,
        region: regionOf(this.#plan, w),
      });
    }
    return out;
  }

  /** Frees every session. */
  async release(): Promise<void> {
    for (const g of this.#graphs.values()) {
      await g.forwardSession?.release();
      await g.backwardSession?.release();
      g.forwardSession = g.backwardSession = undefined;
    }
  }
}

/** The features at `layers` of an image over the whole image, gathered window by window. */
export async function windowedFeatures(
  network: FeatureNetwork,
  plan: TilePlan,
  options: {
    pixels: Float32Array;
    layers: readonly string[];
    pooling?: "max" | "avg";
    open: (g: OnnxGraph) => Promise<Session>;
    signal?: AbortSignal;
  },
): Promise<Map<string, Array32>> {
  const layers = [...new Set(options.layers.filter((l) => l !== IMAGE_LAYER))];
  const sessions = new Map<string, { session: Session; shapes: Map<string, readonly number[]> }>();
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  try {
    for (const w of plan.windows) {
      options.signal?.throwIfAborted();
      const h = w.rows.end - w.rows.start;
      const wd = w.columns.end - w.columns.start;
      const key = `${h}x${wd}`;
      let s = sessions.get(key);
      if (!s) {
        const pixels = input("window", [1, 3, h, wd]);
        const f = network.features(pixels, layers, { pooling: options.pooling, inputPadding: 0 });
        const outputs = Object.fromEntries(layers.map((l) => [`f_${safe(l)}`, f[l]]));
        s = {
          session: await options.open(toOnnx(outputs, { name: `window_features_${key}` })),
          shapes: new Map(layers.map((l) => [l, f[l].shape])),
        };
        sessions.set(key, s);
      }
      const values = await s.session.run({
        window: readWindow(options.pixels, plan.size, { ...w, padding: plan.padding }),
      });
      for (const layer of layers) {
        const grid = plan.grids.get(layer)!;
        const [, c] = s.shapes.get(layer)!;
        let whole = out.get(layer);
        if (!whole) {
          const shape = [1, c, grid.rows.size, grid.columns.size];
          out.set(
            layer,
            whole = { data: new Float32Array(c * grid.rows.size * grid.columns.size), shape },
          );
        }
        const { rows, columns } = w.layers.get(layer)!;
        const v = values[`f_${safe(layer)}`];
        const [, , H, W] = whole.shape;
        for (let k = 0; k < c; k++) {
          for (let i = rows.lo; i < rows.hi; i++) {
            const src = (k * rows.count + i) * columns.count;
            const dst = (k * H + rows.start + i) * W + columns.start;
            whole.data.set(v.subarray(src + columns.lo, src + columns.hi), dst + columns.lo);
          }
        }
      }
    }
  } finally {
    for (const s of sessions.values()) await s.session.release();
  }
  return out;
}

/** The constant `[…]` of an array (for targets made from statistics). */
export const constantOf = (a: Array32, name?: string): Tensor =>
  constant(a.data, a.shape, name ? { name } : undefined);
