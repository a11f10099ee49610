/**
 * The blobs of a batch in Redis, under `stylegram:BATCH:KEY`, expiring a week
 * after they were last written so an abandoned batch does not stay forever.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Redis } from "ioredis";
import type { Blobs } from "./jobs.ts";

const WEEK_SECONDS = 7 * 24 * 3600;

/** The Redis key of a batch's blob. */
export const blobKey = (batch: string, key: string): string => `stylegram:${batch}:${key}`;

/** A batch's blobs through `redis`. */
export function redisBlobs(redis: Redis, batch: string): Blobs {
  return {
    get: async (key) => {
      const value = await redis.getBuffer(blobKey(batch, key));
      return value ? new Uint8Array(value) : undefined;
    },
    set: async (key, bytes) => {
      await redis.set(blobKey(batch, key), Buffer.from(bytes), "EX", WEEK_SECONDS);
    },
    has: async (key) => (await redis.exists(blobKey(batch, key))) === 1,
  };
}

/** Deletes every blob of a batch. */
export async function deleteBlobs(redis: Redis, batch: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", blobKey(batch, "*"), "COUNT", 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}
