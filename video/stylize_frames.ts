/**
 * The video driver: stylises consecutive frames, each one starting from the
 * previous output warped onto it by optical flow and held to it by the
 * `temporal` plugin where the flow is reliable (Ruder et al. 2016). Without a
 * temporal term every frame is stylised on its own. Frames already in the
 * sink are kept and skipped, so a run resumes where it stopped; a range of
 * frames can start with warm-up frames before it (the overlap of a chunk),
 * kept apart from the frames, so that the chain is settled at its first
 * frame and its seam with the chunk before can be blended.
 *
 * Runtime-agnostic: frames come from a {@linkcode FrameSource} and go to a
 * {@linkcode FrameSink}.
 *
 * @module
 */

import {
  type Guidance,
  type PluginUse,
  type ProgressEvent,
  type RgbImage,
  type Settings,
  stylize,
  type StylizeOptions,
} from "../mod.ts";
import type { FeatureNetwork } from "../core/network/feature_network.ts";
import { type EarlierFrame, warpedPrevious } from "./warped_previous.ts";

/** Frames to stylise, all of one size. */
export interface FrameSource {
  /** How many frames. */
  readonly count: number;
  /** Frame `index` (from 0), at the size the run works at. */
  read(index: number): Promise<RgbImage>;
}

/** Where stylised frames go (and where a resumed run finds those already made). */
export interface FrameSink {
  /** Whether frame `index` is already done. */
  has(index: number): Promise<boolean>;
  /** A frame already done. */
  read(index: number): Promise<RgbImage>;
  /** Stores frame `index`, completely or not at all. */
  write(index: number, image: RgbImage): Promise<void>;
}

/** Progress of a video run. */
export type FrameEvent =
  | {
    type: "frame";
    /** Frame index, from 0. */
    frame: number;
    /** Frames in the range. */
    frames: number;
    /** Frames of the range done so far (made or skipped). */
    done: number;
    /** `made`: stylised now; `skipped`: already in the sink; `warmup`: a warm-up frame made. */
    status: "made" | "skipped" | "warmup";
    /** Seconds this frame took. */
    seconds: number;
  }
  | { type: "progress"; frame: number; event: ProgressEvent };

/** What to stylise. */
export interface FramesJob {
  /** The feature network. */
  network: FeatureNetwork;
  /** The cost terms; a `temporal` term makes the frames consistent. */
  plugins: readonly PluginUse[];
  /** The style images. */
  styles: readonly RgbImage[];
  /** Style masks (per style image) and source masks, as for one image. */
  masks?: Omit<Guidance, "method" | "content">;
  /** Run settings, as for one image. */
  settings: Partial<Settings>;
  /** The frames. */
  frames: FrameSource;
  /** Where the stylised frames go. */
  outputs: FrameSink;
  /** The frames to make, `[from, to)` (default all), and warm-up frames before `from`. */
  range?: { from: number; to: number; warmup?: number };
  /**
   * How many frames back the temporal term looks (default `[1]`, the
   * previous frame only): `[1, 2, 4]` also holds each pixel to the output
   * 2 or 4 frames back where the previous frame could not see it
   * (long-term consistency).
   */
  earlier?: readonly number[];
  /**
   * Where warm-up frames go (kept, so a resumed chunk skips them, and so its
   * seam with the chunk before can be blended; `assembleFrames`). Without
   * it they are made and dropped.
   */
  warmups?: FrameSink;
}

/** Options of {@linkcode stylizeFrames}. */
export interface FramesOptions extends Omit<StylizeOptions, "onProgress"> {
  /** Receives frame and per-frame progress events. */
  onProgress?: (event: FrameEvent) => void;
}

/** What a video run did. */
export interface FramesResult {
  /** Frames stylised now (warm-up frames included). */
  made: number;
  /** Frames found done and kept. */
  skipped: number;
  /** Warnings of the frames' runs, with their frame numbers. */
  warnings: string[];
}

/**
 * Stylises the frames of `job.range` in order.
 *
 * @example
 * ```ts ignore
 * const result = await stylizeFrames({ network, plugins, styles, settings, frames, outputs });
 * ```
 */
export async function stylizeFrames(
  job: FramesJob,
  options: FramesOptions = {},
): Promise<FramesResult> {
  const from = job.range?.from ?? 0;
  const to = job.range?.to ?? job.frames.count;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to)) {
    throw new RangeError(`frames: the range [${from}, ${to}) holds no frame`);
  }
  if (to > job.frames.count) {
    throw new RangeError(`frames: the range ends at ${to}, past the last frame`);
  }
  // Frames of this chain: its warm-up frames, then its own (stored, or made now).
  const chainStart = Math.max(0, from - (job.range?.warmup ?? 0));
  // Warm-up is for a chain that starts here: not needed when `from` is done.
  const start = (await job.outputs.has(from)) ? from : chainStart;
  const chained = job.plugins.some((u) => u.plugin.spec.reference === "previous");
  const offsets = [...new Set(job.earlier ?? [1])].sort((a, b) => a - b);
  if (!offsets.length || offsets.some((j) => !Number.isInteger(j) || j < 1)) {
    throw new RangeError(`frames: earlier frames must be whole numbers ≥ 1, got ${offsets}`);
  }
  const madeHere = new Map<number, RgbImage>();
  const earlierOutput = async (k: number): Promise<RgbImage | undefined> => {
    if (k < chainStart) return undefined;
    const known = madeHere.get(k);
    if (known) return known;
    const sink = k < from ? job.warmups : job.outputs;
    return sink && (await sink.has(k)) ? await sink.read(k) : undefined;
  };
  const emit = options.onProgress ?? (() => {});
  const result: FramesResult = { made: 0, skipped: 0, warnings: [] };
  let done = 0;
  for (let i = start; i < to; i++) {
    options.signal?.throwIfAborted();
    const warmup = i < from;
    const sink = warmup ? job.warmups : job.outputs;
    if (sink && await sink.has(i)) {
      if (!warmup) {
        result.skipped++;
        done++;
        emit({ type: "frame", frame: i, frames: to - from, done, status: "skipped", seconds: 0 });
      }
      continue;
    }
    const t0 = performance.now();
    const frame = await job.frames.read(i);
    const earlier: EarlierFrame[] = [];
    for (const j of chained ? offsets : []) {
      const output = await earlierOutput(i - j);
      // The chain runs from the previous frame: without it, no temporal term.
      if (!output) {
        if (j === offsets[0]) break;
        continue;
      }
      earlier.push({ output, frame: await job.frames.read(i - j) });
    }
    const warped = earlier.length ? await warpedPrevious(earlier, frame) : undefined;
    // The first frame of a chain has no previous one: the temporal term sits out.
    const plugins = warped
      ? job.plugins
      : job.plugins.filter((u) => u.plugin.spec.reference !== "previous");
    const { image, warnings } = await stylize({
      network: job.network,
      plugins,
      content: frame,
      styles: job.styles,
      masks: job.masks,
      initImage: warped?.image,
      references: warped && {
        previous: { image: warped.image, mask: warped.reliability },
      },
      settings: warped ? { ...job.settings, init: "image", noise: 0 } : job.settings,
    }, {
      ...options,
      onProgress: (event) => emit({ type: "progress", frame: i, event }),
    });
    result.warnings.push(...warnings.map((w) => `frame ${i + 1}: ${w}`));
    let output = image;
    if (sink) {
      await sink.write(i, image);
      // The next frame chains on to what was stored (8-bit in an image
      // file), so a resumed or chunked run makes the same frames as one run.
      output = await sink.read(i);
    }
    madeHere.set(i, output);
    for (const k of madeHere.keys()) if (k < i - offsets[offsets.length - 1]) madeHere.delete(k);
    result.made++;
    if (!warmup) done++;
    emit({
      type: "frame",
      frame: i,
      frames: to - from,
      done,
      status: warmup ? "warmup" : "made",
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return result;
}
