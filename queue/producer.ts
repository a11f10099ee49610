/**
 * The producer of a batch: stores its inputs in Redis, enqueues one job per
 * image or chunk of frames (ids derived from the batch, so enqueuing again
 * after a crash finds the same jobs), follows them to the end — through
 * worker deaths (BullMQ hands a stalled job to another worker) and Redis
 * restarts (the clients reconnect) — hands each finished job's outputs to the
 * caller, and fails in one line when a job fails for good.
 *
 * @module
 */

import { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type Blobs, type JobData, QUEUE_NAME } from "./jobs.ts";
import { deleteBlobs, redisBlobs } from "./blobs.ts";
import { QueueError } from "./redis.ts";

/** Tries a job gets before it fails for good. */
export const ATTEMPTS = 3;

/** Progress of a batch. */
export interface BatchProgress {
  /** Jobs in the batch. */
  jobs: number;
  /** Jobs finished and collected. */
  completed: number;
  /** Items (images or frames) done over all jobs, as the workers report them. */
  done: number;
  /** Items over all jobs. */
  items: number;
}

/** What to run. */
export interface BatchSpec {
  /** The batch's id: the same inputs and recipe give the same id. */
  batch: string;
  /** The jobs. */
  jobs: JobData[];
  /** Items each job makes (images: 1; chunks: their frames), for progress. */
  items: (job: JobData) => number;
  /** Whether a job's outputs are already where the caller keeps them (a resumed run). */
  collected: (job: JobData) => Promise<boolean>;
  /** Stores the inputs the jobs read (called before any job is enqueued). */
  upload: (blobs: Blobs) => Promise<void>;
  /** Takes a finished job's outputs (writes them to files). */
  collect: (job: JobData, blobs: Blobs) => Promise<void>;
}

/** Options of {@linkcode runBatch}. */
export interface RunBatchOptions {
  /** Progress as jobs move. */
  onProgress?: (progress: BatchProgress) => void;
  /** Stops following the batch (the jobs go on; running the batch again collects them). */
  signal?: AbortSignal;
  /** How long Redis may be away before the producer gives up (default 120 s). */
  patienceSeconds?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a batch on the queue of `redis` and returns once every job's outputs are collected. */
export async function runBatch(
  redis: Redis,
  spec: BatchSpec,
  options: RunBatchOptions = {},
): Promise<void> {
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  const blobs = redisBlobs(redis, spec.batch);
  const ids = spec.jobs.map((_, n) => `${spec.batch}-${n}`);
  const patience = (options.patienceSeconds ?? 120) * 1000;
  try {
    const open: number[] = [];
    for (const [n, job] of spec.jobs.entries()) if (!(await spec.collected(job))) open.push(n);
    if (open.length) await spec.upload(blobs);
    for (const n of open) {
      const known = await Job.fromId(queue, ids[n]);
      // A job that failed for good in an earlier run gets its tries again.
      if (known && (await known.getState()) === "failed") await known.retry("failed");
      else if (!known) {
        await queue.add(spec.jobs[n].kind, spec.jobs[n], {
          jobId: ids[n],
          attempts: ATTEMPTS,
          backoff: { type: "fixed", delay: 1000 },
        });
      }
    }
    const items = spec.jobs.reduce((a, j) => a + spec.items(j), 0);
    const finished = new Set(spec.jobs.keys().filter((n) => !open.includes(n)));
    let lastContact = Date.now();
    while (finished.size < spec.jobs.length) {
      options.signal?.throwIfAborted();
      let done = [...finished].reduce((a, n) => a + spec.items(spec.jobs[n]), 0);
      try {
        for (const n of open) {
          if (finished.has(n)) continue;
          const job = await Job.fromId(queue, ids[n]);
          if (!job) throw new QueueError(`job ${ids[n]} vanished from the queue`);
          const state = await job.getState();
          if (state === "completed") {
            await spec.collect(spec.jobs[n], blobs);
            finished.add(n);
            done += spec.items(spec.jobs[n]);
          } else if (state === "failed" && job.attemptsMade >= ATTEMPTS) {
            throw new QueueError(
              `job ${ids[n]} failed ${job.attemptsMade} times: ${job.failedReason ?? "no reason"}`,
            );
          } else if (typeof job.progress === "object" && job.progress !== null) {
            done += Number((job.progress as { done?: number }).done ?? 0);
          }
        }
        lastContact = Date.now();
      } catch (e) {
        if (e instanceof QueueError) throw e;
        // Redis away (restarting): wait for it, within patience.
        if (Date.now() - lastContact > patience) {
          throw new QueueError(
            `lost Redis for ${Math.round(patience / 1000)} s (${(e as Error).message}); ` +
              `run the same command again to collect the batch once it is back`,
          );
        }
      }
      options.onProgress?.({ jobs: spec.jobs.length, completed: finished.size, done, items });
      if (finished.size < spec.jobs.length) await sleep(250);
    }
    // Everything collected: the batch leaves nothing in Redis.
    for (const id of ids) await (await Job.fromId(queue, id))?.remove();
    await deleteBlobs(redis, spec.batch);
  } finally {
    await queue.close();
  }
}
