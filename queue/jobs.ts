/**
 * The jobs of a batch and how a worker does one. A batch is a set of jobs
 * sharing a recipe and style images; its images travel through Redis as
 * blobs (`in:N`, `style:K`, `out:N`, `warm:N`), so a worker on any machine that reaches
 * Redis can take a job. Doing a job is idempotent: an output already stored
 * is kept, so a job retried after a worker died goes on where it stopped and
 * no frame is made twice over.
 *
 * @module
 */

import { type PluginUse, type RgbImage, stylize } from "../mod.ts";
import type { FeatureNetwork } from "../core/network/feature_network.ts";
import { decodeImage, encodeImage } from "../io.ts";
import { type FrameSink, stylizeFrames } from "../video/stylize_frames.ts";

/** The queue's name in Redis. */
export const QUEUE_NAME = "stylegram";

/** What every job of a batch carries. */
interface BatchJob {
  /** The batch's id (its blobs' namespace). */
  batch: string;
  /** The recipe (JSON, plugins and settings). */
  recipe: Record<string, unknown>;
  /** How many style images the batch stored (`style:0`, …). */
  styles: number;
}

/** One image of a batch of images: `in:index` stylised into `out:index`. */
export interface ImageJob extends BatchJob {
  kind: "image";
  /** The image's number in the batch. */
  index: number;
  /** Its file name, for messages. */
  name: string;
}

/** Consecutive frames of a video: `in:from…` into `out:from…`, after warm-up frames. */
export interface FramesJob extends BatchJob {
  kind: "frames";
  /** First frame made. */
  from: number;
  /** One past the last frame made. */
  to: number;
  /** Frames before `from` made first (not stored) so the chain is settled at `from`. */
  warmup: number;
  /** Frames in the video. */
  count: number;
  /** How many frames back the temporal term looks (`FramesJob.earlier` of the driver). */
  earlier: number[];
}

/** A job's data. */
export type JobData = ImageJob | FramesJob;

/** Binary values of one batch, by key (`in:3`). */
export interface Blobs {
  /** The value, or `undefined`. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores a value. */
  set(key: string, bytes: Uint8Array): Promise<void>;
  /** Whether a value is stored. */
  has(key: string): Promise<boolean>;
}

/** What a worker lends a job. */
export interface JobContext {
  /** The batch's blobs. */
  blobs: Blobs;
  /** The recipe's plugins and settings, checked (`parseRecipe` with the worker's registry). */
  parse(recipe: Record<string, unknown>): { uses: PluginUse[]; settings: Record<string, unknown> };
  /** The network the recipe names, with the layers its plugins read (a worker keeps it). */
  network(name: string, uses: readonly PluginUse[], seed: number): Promise<FeatureNetwork>;
  /** CPU threads for the backend. */
  threads?: number;
  /** Bytes a run whose budget is `auto` may take (large frames then go in tiles). */
  memory?: number;
  /** Collects garbage between scales (see `StylizeOptions.collectGarbage`). */
  collectGarbage?: () => void;
  /** Stops the job. */
  signal?: AbortSignal;
  /** Progress: items done of the job's items. */
  onProgress?(done: number, total: number): void;
  /** One-line notices. */
  onNotice?(message: string): void;
}

/** A blob that must be there, or an error naming it. */
async function need(blobs: Blobs, key: string, batch: string): Promise<Uint8Array> {
  const bytes = await blobs.get(key);
  if (!bytes) throw new Error(`batch ${batch}: ${key} is missing in Redis (expired or deleted?)`);
  return bytes;
}

async function decoded(blobs: Blobs, key: string, batch: string): Promise<RgbImage> {
  return await decodeImage(await need(blobs, key, batch), key);
}

/** PNG bytes of an image (lossless, so a chained frame reads back as stored). */
const png = (image: RgbImage) => encodeImage(image, "frame.png");

/** Frames stored as blobs `PREFIX:N`. */
function frameBlobs(blobs: Blobs, job: FramesJob, prefix: string): FrameSink {
  return {
    has: (i) => blobs.has(`${prefix}:${i}`),
    read: (i) => decoded(blobs, `${prefix}:${i}`, job.batch),
    write: async (i, image) => await blobs.set(`${prefix}:${i}`, await png(image)),
  };
}

/** Does one job. */
export async function runJob(job: JobData, context: JobContext): Promise<void> {
  const { blobs } = context;
  const { uses, settings } = context.parse(job.recipe);
  const styles = await Promise.all(
    Array.from({ length: job.styles }, (_, k) => decoded(blobs, `style:${k}`, job.batch)),
  );
  const network = await context.network(
    String(settings.network),
    uses,
    Number(settings.seed ?? 0),
  );
  const options = {
    threads: context.threads,
    memory: context.memory,
    collectGarbage: context.collectGarbage,
    signal: context.signal,
    onNotice: context.onNotice,
  };
  if (job.kind === "image") {
    if (await blobs.has(`out:${job.index}`)) return;
    const content = await decoded(blobs, `in:${job.index}`, job.batch);
    const result = await stylize({ network, plugins: uses, content, styles, settings }, {
      ...options,
      onProgress: (e) => {
        if (e.type === "iteration") context.onProgress?.(e.iteration, e.iterations);
      },
    });
    await blobs.set(`out:${job.index}`, await png(result.image));
    return;
  }
  await stylizeFrames({
    network,
    plugins: uses,
    styles,
    settings,
    frames: { count: job.count, read: (i) => decoded(blobs, `in:${i}`, job.batch) },
    outputs: frameBlobs(blobs, job, "out"),
    warmups: frameBlobs(blobs, job, "warm"),
    earlier: job.earlier,
    range: { from: job.from, to: job.to, warmup: job.warmup },
  }, {
    ...options,
    onProgress: (e) => {
      if (e.type === "frame" && e.status !== "warmup") context.onProgress?.(e.done, e.frames);
    },
  });
}
