/**
 * Chunks of a video: consecutive frames made by one chain each, so that
 * workers can make them in parallel. Two chains differ (each keeps its own
 * first frame's strokes), so each chunk after the first starts `warmup`
 * frames early, on frames of the chunk before; over those frames the final
 * frame cross-fades from the earlier chunk's frame to the later chunk's
 * warm-up frame. The change from one chain to the next is then spread over
 * `warmup + 1` frame steps instead of one jump at the seam.
 *
 * @module
 */

import { type RgbImage, rgbImage } from "../mod.ts";
import type { FrameSink } from "./stylize_frames.ts";

/** Frames `[from, to)` of a chunk, after `warmup` frames of the chunk before. */
export interface Chunk {
  /** First frame of the chunk. */
  readonly from: number;
  /** One past its last frame. */
  readonly to: number;
  /** Frames before `from` it makes first (the overlap with the chunk before). */
  readonly warmup: number;
}

/**
 * Chunks of `count` frames, `size` each (0: one chunk), each after the
 * first with `overlap` warm-up frames (at most the chunk before's length).
 */
export function planChunks(count: number, size: number, overlap: number): Chunk[] {
  const step = size > 0 ? size : count;
  const chunks: Chunk[] = [];
  for (let from = 0; from < count; from += step) {
    chunks.push({
      from,
      to: Math.min(count, from + step),
      warmup: Math.min(from === 0 ? 0 : step, overlap),
    });
  }
  return chunks;
}

/**
 * How final frame `index` is made: the chain frame, and, in the overlap
 * before the next chunk, the weight of that chunk's warm-up frame.
 */
export function seamWeight(chunks: readonly Chunk[], index: number): number {
  const next = chunks.find((c) => c.from > index && c.from - c.warmup <= index);
  if (!next) return 0;
  return (index - (next.from - next.warmup) + 1) / (next.warmup + 1);
}

/** `(1 − w)·a + w·b`, per value. */
function crossFade(a: RgbImage, b: RgbImage, w: number): RgbImage {
  return rgbImage(a.width, a.height, a.data.map((v, i) => (1 - w) * v + w * b.data[i]));
}

/**
 * Writes every final frame not yet in `final`: the chain frame, cross-faded
 * with the next chunk's warm-up frame in the overlaps. Needs every chunk
 * done; a frame already in `final` is kept, so it may run again.
 */
export async function assembleFrames(
  chunks: readonly Chunk[],
  stores: { chain: FrameSink; warmups: FrameSink; final: FrameSink },
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const count = chunks[chunks.length - 1].to;
  for (let i = 0; i < count; i++) {
    options.signal?.throwIfAborted();
    if (await stores.final.has(i)) continue;
    const chain = await stores.chain.read(i);
    const w = seamWeight(chunks, i);
    await stores.final.write(i, w > 0 ? crossFade(chain, await stores.warmups.read(i), w) : chain);
  }
}
