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
}

/** The default {@linkcode Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxBodyBytes: 32 * 1024 * 1024,
  maxPixels: 4096 * 4096,
  sharesPerWindow: 10,
  shareWindowMs: 10 * 60 * 1000,
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
 * Checks an uploaded image without decoding its pixels: 415 unless it is a
 * still PNG, JPEG or WebP; 413 over `maxPixels`; 400 when its header is
 * unreadable. `label` (the form field) starts every message.
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

/**
 * A token bucket per client: `capacity` actions at once, refilled evenly
 * over `windowMs`.
 */
export class RateLimiter {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `now` is the clock (default `Date.now`), for tests. */
  constructor(
    capacity: number,
    windowMs: number,
    options: { now?: () => number } = {},
  ) {
    this.#capacity = capacity;
    this.#perMs = capacity / windowMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes one token for `ip`; returns 0 when it was granted, else the whole
   * seconds to wait for the next one.
   */
  take(ip: string): number {
    const now = this.#now();
    const key = clientKey(ip);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.#buckets.set(key, bucket);
      this.#prune(now);
      return 0;
    }
    this.#buckets.set(key, bucket);
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
  }

  /** Like {@linkcode take}, but throws 429 with `Retry-After` when no token is left. */
  takeOrThrow(ip: string): void {
    const wait = this.take(ip);
    if (wait > 0) {
      throw new HttpError(429, `too many shares from your address; try again in ${wait} s`, {
        headers: { "retry-after": String(wait) },
      });
    }
  }

  #prune(now: number): void {
    // Full buckets carry no information: forget them so the map stays small.
    if (this.#buckets.size < 10_000) return;
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.#capacity) this.#buckets.delete(key);
    }
  }
}
