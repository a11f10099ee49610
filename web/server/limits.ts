/**
 * What the server accepts: request bodies up to a size (counted, whatever
 * Content-Length says), still PNG, JPEG or WebP images recognised by their
 * first bytes and refused over a pixel limit from their header alone, and a
 * per-client token bucket for share creation.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import sharp from "sharp";
import { HttpError } from "./http.ts";
import type { ImageType } from "./storage.ts";

/** The server's limits. */
export interface Limits {
  /** Largest request body, bytes (default 32 MiB). */
  maxBodyBytes: number;
  /** Most pixels in one image (default 4096 × 4096). */
  maxPixels: number;
  /** Shares one client may create in a burst (default 10). */
  sharesPerWindow: number;
  /** Time in which a client's allowance refills completely, ms (default 10 minutes). */
  shareWindowMs: number;
  /** Upload attempts one client may make in that window, refused ones included (default 60). */
  attemptsPerWindow: number;
  /** Most bytes of stored images in all (default 2 GiB); unused shares are swept first. */
  maxStorageBytes: number;
  /** A share nobody opened for this long is deleted, ms (default 180 days). */
  shareExpiryMs: number;
}

/** The default {@linkcode Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxBodyBytes: 32 * 1024 * 1024,
  maxPixels: 4096 * 4096,
  sharesPerWindow: 10,
  shareWindowMs: 10 * 60 * 1000,
  attemptsPerWindow: 60,
  maxStorageBytes: 2 * 1024 ** 3,
  shareExpiryMs: 180 * 24 * 60 * 60 * 1000,
};

const mebibytes = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Middleware holding a request body to `maxBytes` (413 past it) with Hono's
 * `bodyLimit`, which refuses a declared Content-Length over the limit unread
 * and otherwise buffers at most `maxBytes`. Two things are added around it:
 *
 * - bodyLimit passes a body whose declared length is within the limit on
 *   uncounted. Deno.serve cuts every body at its Content-Length, but a
 *   Request handed to the app directly may carry more than it declares, so
 *   such a length is dropped and bodyLimit counts the bytes instead.
 * - bodyLimit stops reading a body it refuses but does not cancel it:
 *   whatever is left once the answer is made is cancelled here, so the
 *   sender is told to stop.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new HttpError(413, `request body over the ${mebibytes(maxBytes)} limit`);
    },
  });
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return await limit(c, next);
    const source = raw.body.getReader();
    const headers = new Headers(raw.headers);
    // Kept only when bodyLimit will refuse it unread (plain digits, so its parseInt agrees).
    const declared = headers.get("content-length") ?? "";
    if (!(/^\d+$/.test(declared) && Number(declared) > maxBytes)) headers.delete("content-length");
    // No read-ahead (highWaterMark 0): a chunk is pulled only when bodyLimit asks.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await source.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => source.cancel(reason),
    }, { highWaterMark: 0 });
    // From its parts: copying the Request would also tie in Deno.serve's abort signal.
    c.req.raw = new Request(raw.url, { method: raw.method, headers, body });
    try {
      await limit(c, next);
    } finally {
      await source.cancel().catch(() => {});
    }
  };
}

const startsWith = (bytes: Uint8Array, prefix: number[], at = 0) =>
  prefix.every((b, i) => bytes[at + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The image type told by the file's first bytes (never its name or declared type), or `null`. */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "image/webp";
  return null;
}

/**
 * Whether a PNG is animated (APNG): an `acTL` chunk before the image data.
 * libvips reads such files as one still frame, but browsers animate them.
 */
export function isApng(bytes: Uint8Array): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 8 <= bytes.length;) {
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === "acTL") return true;
    if (type === "IDAT" || type === "IEND") return false;
    at += 12 + view.getUint32(at);
  }
  return false;
}

/** What {@linkcode checkImage} found out. */
export interface CheckedImage {
  /** The media type, from the magic bytes. */
  type: ImageType;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

const FORMAT_TYPES: Record<string, ImageType> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
};

/**
 * Checks an uploaded image: 415 unless it is a still PNG, JPEG or WebP; 413
 * over `maxPixels` (from the header, before any decoding); 400 when it does
 * not decode to the end (corrupt or truncated: such a share would show
 * nothing). `label` (the form field) starts every message.
 */
export async function checkImage(
  bytes: Uint8Array,
  label: string,
  options: { maxPixels: number },
): Promise<CheckedImage> {
  const type = sniffImageType(bytes);
  if (!type) throw new HttpError(415, `${label}: not a PNG, JPEG or WebP image`);
  let meta: sharp.Metadata;
  try {
    // The header only: a decompression bomb is refused before any decoding.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new HttpError(400, `${label}: corrupt or truncated image`);
  }
  if (FORMAT_TYPES[meta.format ?? ""] !== type) {
    throw new HttpError(415, `${label}: not a PNG, JPEG or WebP image`);
  }
  const { width = 0, height = 0 } = meta;
  if (width < 1 || height < 1) throw new HttpError(400, `${label}: the image has no pixels`);
  if ((meta.orientation ?? 1) !== 1) {
    // Stored images keep no EXIF, so the turn would be lost: the page applies it before sharing.
    throw new HttpError(
      400,
      `${label}: has an EXIF orientation (${meta.orientation}); apply it to the pixels first`,
    );
  }
  if ((meta.pages ?? 1) > 1 || (type === "image/png" && isApng(bytes))) {
    throw new HttpError(415, `${label}: animated images are not accepted; give a still image`);
  }
  if (width * height > options.maxPixels) {
    throw new HttpError(
      413,
      `${label}: ${width}×${height} is over the ${
        (options.maxPixels / 1e6).toFixed(1)
      } megapixel limit`,
    );
  }
  try {
    // Every pixel, to the end: libvips fills a truncated image with grey unless told to fail.
    await sharp(bytes, { limitInputPixels: options.maxPixels, failOn: "truncated" }).raw()
      .toBuffer();
  } catch {
    throw new HttpError(
      400,
      `${label}: corrupt or truncated image (it does not decode to the end)`,
    );
  }
  return { type, width, height };
}

/**
 * The part of an address one client is counted by: the whole IPv4 address,
 * or the /64 network of an IPv6 one (one subscriber usually holds a /64).
 */
export function clientKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  const [head, tail = ""] = ip.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = ip.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":") + "::/64";
}

/** A client's bucket: tokens left at time `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** The clock (default `Date.now`), for tests. */
  now?: () => number;
  /** Keep the buckets in this KV database, so a restart forgets nothing (default: memory). */
  kv?: Deno.Kv;
  /** What is counted, naming its buckets in KV (default `shares`). */
  scope?: string;
}

/**
 * A token bucket per client: `capacity` actions at once, refilled evenly
 * over `windowMs`. Checking is separate from counting, so only actions that
 * happened (shares created) use up the allowance, never refused attempts.
 */
export class RateLimiter {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #kv?: Deno.Kv;
  readonly #scope: string;
  readonly #buckets = new Map<string, Bucket>();

  /** A limiter of `capacity` actions per `windowMs`. */
  constructor(capacity: number, windowMs: number, options: RateLimiterOptions = {}) {
    this.#capacity = capacity;
    this.#perMs = capacity / windowMs;
    this.#windowMs = windowMs;
    this.#now = options.now ?? Date.now;
    this.#kv = options.kv;
    this.#scope = options.scope ?? "shares";
  }

  #key(client: string): Deno.KvKey {
    return ["rate", this.#scope, client];
  }

  /** Tokens of a bucket now (a missing bucket is full). */
  #level(bucket: Bucket | null | undefined, now: number): number {
    if (!bucket) return this.#capacity;
    return Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
  }

  /** Whole seconds until `ip` may act (0: now). Takes nothing. */
  async wait(ip: string): Promise<number> {
    const key = clientKey(ip);
    const bucket = this.#kv
      ? (await this.#kv.get<Bucket>(this.#key(key))).value
      : this.#buckets.get(key);
    const tokens = this.#level(bucket, this.#now());
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.#perMs / 1000));
  }

  /**
   * Changes `ip`'s tokens by `delta` (−1 takes one, +1 gives one back),
   * atomically; taking, it takes nothing when no token is left and answers
   * `false`.
   */
  async #change(ip: string, delta: number): Promise<boolean> {
    const key = clientKey(ip);
    for (let attempt = 0; attempt < 20; attempt++) {
      const now = this.#now();
      const entry = this.#kv ? await this.#kv.get<Bucket>(this.#key(key)) : undefined;
      const bucket = entry ? entry.value : this.#buckets.get(key);
      const level = this.#level(bucket, now);
      if (delta < 0 && level < 1) return false;
      const next = { tokens: Math.min(this.#capacity, level + delta), at: now };
      if (!this.#kv || !entry) {
        this.#buckets.set(key, next);
        this.#prune(now);
        return true;
      }
      // Kept until it would be full again: an emptied bucket must not be forgotten early.
      const expireIn = Math.ceil((this.#capacity - next.tokens) / this.#perMs) + 1000;
      const done = await this.#kv.atomic().check(entry).set(this.#key(key), next, { expireIn })
        .commit();
      if (done.ok) return true;
    }
    throw new Error("rate limiter: too much contention");
  }

  /**
   * Takes one token for `ip` now, or throws 429 with `Retry-After`; returns
   * how to give it back (for an action that then failed).
   */
  async acquire(ip: string, what = "shares"): Promise<() => Promise<void>> {
    if (!(await this.#change(ip, -1))) {
      const wait = await this.wait(ip);
      throw new HttpError(429, `too many ${what} from your address; try again in ${wait} s`, {
        headers: { "retry-after": String(wait) },
      });
    }
    return () => this.#change(ip, 1).then(() => {});
  }

  #prune(now: number): void {
    // Full buckets carry no information: forget them so the map stays small.
    if (this.#buckets.size < 10_000) return;
    for (const [key, b] of this.#buckets) {
      if (this.#level(b, now) >= this.#capacity) this.#buckets.delete(key);
    }
  }
}
