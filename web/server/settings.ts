/**
 * The server's settings: command-line flags, then environment variables,
 * then defaults (see `main.ts` for the list).
 *
 * @module
 */

import { parseArgs } from "node:util";

/** Where shares live unless told otherwise. */
export const DEFAULT_KV = "web/data/stylegram.kv";

/** What the server runs with. */
export interface ServerSettings {
  /** TCP port (0: any free one). */
  port: number;
  /** Address to listen on. */
  host: string;
  /** KV file path or URL. */
  kv: string;
  /** The client build's directory. */
  assets: string;
  /** Public origin for absolute links, if set. */
  origin?: string;
  /** The header a trusted reverse proxy gives the client's address in, if any. */
  trustProxy?: string;
  /** Most bytes of stored share images. */
  maxStorageBytes: number;
  /** Days after which a share nobody opened is deleted. */
  shareExpiryDays: number;
  /** Seconds a client has to send a request's headers, from their first byte. */
  headerTimeout: number;
  /** Seconds a client has to send a request's body. */
  bodyTimeout: number;
}

/** `2GB`, `512MB`, `1.5GiB`, `800000` (bytes) → bytes. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|b|kb|mb|gb|tb|kib|mib|gib|tib)$/i.exec(text.trim());
  if (!m) throw new RangeError(`${what} must be a size like 2GB or 512MB, got "${text}"`);
  const unit = m[2].toLowerCase();
  const power = ["", "k", "m", "g", "t"].indexOf(unit.replace(/i?b$/, ""));
  const base = unit.includes("i") ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** Math.max(0, power));
}

function positive(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0)) {
    throw new RangeError(`${what} must be a number above 0, got "${text}"`);
  }
  return n;
}

/** The server's settings from flags, then the environment, then defaults. */
export function serverSettings(
  args: string[],
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): ServerSettings {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      kv: { type: "string" },
      assets: { type: "string" },
      origin: { type: "string" },
      "trust-proxy": { type: "string" },
      "max-storage": { type: "string" },
      "share-expiry-days": { type: "string" },
      "header-timeout": { type: "string" },
      "body-timeout": { type: "string" },
    },
    strict: true,
  });
  const portText = values.port ?? env("PORT") ?? "8000";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new RangeError(`--port must be a port number (0–65535), got "${portText}"`);
  }
  const origin = values.origin ?? env("STYLEGRAM_ORIGIN");
  if (origin !== undefined && !/^https?:\/\/[^/]+$/.test(origin)) {
    throw new RangeError(`--origin must look like https://example.org, got "${origin}"`);
  }
  const trustProxy = values["trust-proxy"] ?? env("STYLEGRAM_TRUST_PROXY");
  if (trustProxy !== undefined && !/^[A-Za-z0-9-]+$/.test(trustProxy)) {
    throw new RangeError(
      `--trust-proxy must be a header name like x-forwarded-for, got "${trustProxy}"`,
    );
  }
  const pick = (flag: keyof typeof values, name: string, fallback: string) =>
    (values[flag] as string | undefined) ?? env(name) ?? fallback;
  return {
    port,
    host: values.host ?? env("HOST") ?? "127.0.0.1",
    kv: values.kv ?? env("STYLEGRAM_KV") ?? DEFAULT_KV,
    assets: values.assets ?? env("STYLEGRAM_ASSETS") ?? "web/dist",
    origin,
    trustProxy: trustProxy?.toLowerCase(),
    maxStorageBytes: parseSize(
      pick("max-storage", "STYLEGRAM_MAX_STORAGE", "2GiB"),
      "--max-storage",
    ),
    shareExpiryDays: positive(
      pick("share-expiry-days", "STYLEGRAM_SHARE_EXPIRY_DAYS", "180"),
      "--share-expiry-days",
    ),
    headerTimeout: positive(
      pick("header-timeout", "STYLEGRAM_HEADER_TIMEOUT", "10"),
      "--header-timeout",
    ),
    bodyTimeout: positive(pick("body-timeout", "STYLEGRAM_BODY_TIMEOUT", "60"), "--body-timeout"),
  };
}
