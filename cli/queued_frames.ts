/**
 * A video's chunks on the job queue: the producer's side of `cli.ts video
 * --redis`. The input frames and style images go to Redis, one job per chunk,
 * and each chunk's frames (and warm-up frames) come back into the run's work
 * folder as its job finishes, so a producer that stops (or a Redis that restarts) loses nothing:
 * running the same command again collects what is done and waits for the rest.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { readFile } from "node:fs/promises";
import type { Recipe } from "../mod.ts";
import { decodeImage, encodeImage } from "../io.ts";
import type { FramesJob } from "../queue/jobs.ts";
import { type BatchProgress, runBatch } from "../queue/producer.ts";
import type { FrameInput } from "../video/frame_files.ts";
import type { FrameSink } from "../video/stylize_frames.ts";

/** A batch id from the run's record: the same run finds the same jobs. */
export async function batchId(run: Record<string, unknown>): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(run)),
  );
  return [...new Uint8Array(digest).slice(0, 12)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** What to queue. */
export interface QueuedFrames {
  /** The batch id ({@linkcode batchId}). */
  batch: string;
  /** The recipe the workers run. */
  recipe: Recipe;
  /** The chunks. */
  chunks: { from: number; to: number; warmup: number }[];
  /** How many frames back the temporal term looks. */
  earlier: number[];
  /** The input frames. */
  frames: FrameInput;
  /** The style images' files. */
  styles: readonly string[];
  /** Where each chunk's frames go. */
  chain: FrameSink;
  /** Where each chunk's warm-up frames go. */
  warmups: FrameSink;
}

/** Runs a video's chunks on the queue and collects their frames into `sink`. */
export async function queueFrames(
  redis: Redis,
  spec: QueuedFrames,
  options: { signal?: AbortSignal; onProgress?: (progress: BatchProgress) => void },
): Promise<void> {
  const { frames, chain, warmups } = spec;
  const jobs: FramesJob[] = spec.chunks.map((c) => ({
    kind: "frames",
    batch: spec.batch,
    recipe: spec.recipe as unknown as Record<string, unknown>,
    styles: spec.styles.length,
    count: frames.count,
    earlier: spec.earlier,
    ...c,
  }));
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  /** Each frame a chunk stores, and where it goes here. */
  const stored = (job: FramesJob) => [
    ...range(job.from - job.warmup, job.from).map((i) => ({ i, key: `warm:${i}`, sink: warmups })),
    ...range(job.from, job.to).map((i) => ({ i, key: `out:${i}`, sink: chain })),
  ];
  await runBatch(redis, {
    batch: spec.batch,
    jobs,
    items: (job) => (job as FramesJob).to - (job as FramesJob).from,
    collected: async (job) => {
      for (const { i, sink } of stored(job as FramesJob)) if (!(await sink.has(i))) return false;
      return true;
    },
    upload: async (blobs) => {
      for (const [k, path] of spec.styles.entries()) {
        await blobs.set(`style:${k}`, await readFile(path));
      }
      // Every frame a chunk reads: its own and its warm-up frames.
      for (let i = 0; i < frames.count; i++) {
        if (!(await blobs.has(`in:${i}`))) {
          await blobs.set(`in:${i}`, await encodeImage(await frames.read(i), "frame.png"));
        }
      }
    },
    collect: async (job, blobs) => {
      for (const { i, key, sink } of stored(job as FramesJob)) {
        if (await sink.has(i)) continue;
        const bytes = await blobs.get(key);
        if (!bytes) throw new Error(`${key} is missing in Redis after its job finished`);
        await sink.write(i, await decodeImage(bytes, key));
      }
    },
  }, options);
}
