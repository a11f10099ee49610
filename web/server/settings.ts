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
  return {
    port,
    host: values.host ?? env("HOST") ?? "127.0.0.1",
    kv: values.kv ?? env("STYLEGRAM_KV") ?? DEFAULT_KV,
    assets: values.assets ?? env("STYLEGRAM_ASSETS") ?? "web/dist",
    origin,
  };
}
