/**
 * Connections to Redis for the job queue (BullMQ on ioredis): a URL checked
 * up front with a one-line error, and clients that wait through a restart of
 * the server instead of failing (BullMQ's workers need that:
 * `maxRetriesPerRequest: null`).
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";

/** A problem with Redis or the queue, said in one line. */
export class QueueError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "QueueError";
  }
}

/** The options of a client of `url` that retries for as long as it takes. */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueError(
      `--redis ${url}: not a URL; give redis://HOST:PORT (e.g. redis://127.0.0.1:6379)`,
    );
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new QueueError(`--redis ${url}: the URL must start with redis:// or rediss://`);
  }
  const db = Number(parsed.pathname.slice(1) || 0);
  return {
    host: parsed.hostname || "127.0.0.1",
    port: Number(parsed.port || 6379),
    db: Number.isInteger(db) ? db : 0,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    // Back off to one try a second while the server is away.
    retryStrategy: (times) => Math.min(1000, 50 * times),
  };
}

/**
 * A client of `url` once it answers PING, or a {@linkcode QueueError}
 * saying why not (refused, unknown host, wrong password).
 */
export async function connectRedis(url: string): Promise<Redis> {
  const options = redisOptions(url);
  const probe = new Redis({ ...options, lazyConnect: true, retryStrategy: () => null });
  let last: Error | undefined;
  probe.on("error", (e: Error) => last = e);
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    probe.disconnect();
    const why = (last ?? (e as Error)).message.split("\n")[0];
    throw new QueueError(
      `cannot reach Redis at ${url} (${why}): start redis-server there, or check --redis`,
    );
  }
  probe.disconnect();
  return client(options);
}

/** A client that keeps retrying; its errors while the server is away are reported once. */
export function client(options: RedisOptions): Redis {
  const redis = new Redis(options);
  let reported = false;
  redis.on("error", (e: Error) => {
    if (!reported) console.error(`stylegram: Redis: ${e.message.split("\n")[0]} (retrying)`);
    reported = true;
  });
  redis.on("ready", () => reported = false);
  return redis;
}
