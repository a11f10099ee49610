/**
 * Static assets from a fixed table made at startup by listing a directory
 * (the client build's `web/dist/`). Only a request path found in that table
 * reaches Hono's `serveStatic` (which reads the file and types it), so no
 * spelling of `..`, no hidden file and no symbolic link is ever served.
 * Files with a content hash in their name are cached for a year; others are
 * revalidated with their ETag (hashed from the content at startup; Hono's
 * `etag` answers 304) on every use.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { serveStatic } from "hono/deno";
import { etag } from "hono/etag";

/** One servable file. */
export interface Asset {
  /** Its Cache-Control. */
  cacheControl: string;
  /** Its (quoted) ETag, from the content. */
  etag: string;
}

/** Cache-Control of files whose name changes with their content. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * Whether a URL path names content that never changes: a file name with a
 * content hash — a `-` or `.` separated part of at least 8 characters,
 * lower-case hex or upper-case base32, with a digit in it (`app.64ae97ff31.js`,
 * `app-5XKQ2B7Z.js`) — or a file in a versioned folder (`/assets/ort-1.30.0/…`).
 */
export function isImmutablePath(path: string): boolean {
  const segments = path.split("/");
  const base = segments.pop() ?? "";
  if (segments.some((s) => /[-@]v?\d+\.\d+\.\d+$/.test(s))) return true;
  const parts = base.split(/[-.]/).slice(1, -1);
  return parts.some((p) => p.length >= 8 && /\d/.test(p) && /^([0-9a-f]+|[0-9A-Z]+)$/.test(p));
}

async function fileEtag(file: string): Promise<string> {
  const hash = createHash("sha256");
  using f = await Deno.open(file);
  for await (const chunk of f.readable) hash.update(chunk);
  return `"${hash.digest("hex").slice(0, 32)}"`;
}

/** Options of {@linkcode loadAssets}. */
export interface LoadAssetsOptions {
  /** Which URL paths may be cached for a year (default: {@linkcode isImmutablePath}). */
  immutable?: (path: string) => boolean;
}

/**
 * The table of every regular file under `dir` (recursively; hidden files and
 * symbolic links left out), keyed by URL path: `dir/a/b.js` is `/a/b.js`. A
 * missing directory gives an empty table.
 */
export async function loadAssets(
  dir: string,
  options: LoadAssetsOptions = {},
): Promise<Map<string, Asset>> {
  const immutable = options.immutable ?? isImmutablePath;
  const table = new Map<string, Asset>();
  const walk = async (folder: string, prefix: string) => {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.name.startsWith(".") || entry.isSymlink) continue;
      const file = `${folder}/${entry.name}`;
      const path = `${prefix}/${entry.name}`;
      if (entry.isDirectory) await walk(file, path);
      else if (entry.isFile) {
        table.set(path, {
          cacheControl: immutable(path) ? IMMUTABLE : "no-cache",
          etag: await fileEtag(file),
        });
      }
    }
  };
  try {
    await walk(dir.replace(/\/+$/, ""), "");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return table;
}

/**
 * Middleware serving the files of `table` (from {@linkcode loadAssets}) out
 * of `dir` on GET and HEAD, with their Cache-Control and ETag; any other
 * request goes on to the next handler.
 */
export function serveAssets(dir: string, table: ReadonlyMap<string, Asset>): MiddlewareHandler {
  const serve = serveStatic({
    root: dir,
    onFound: (_file, c) => {
      const asset = table.get(c.req.path)!;
      c.header("cache-control", asset.cacheControl);
      c.header("etag", asset.etag);
    },
  });
  const revalidate = etag();
  return async (c, next) => {
    const read = c.req.method === "GET" || c.req.method === "HEAD";
    // c.req.path is the path Hono routes on, and the one serveStatic reads below `dir`.
    if (!read || !table.has(c.req.path)) return await next();
    await revalidate(c, async () => {
      // serveStatic returns its answer (or next()'s value); etag reads c.res.
      const res = await serve(c, next);
      if (res instanceof Response) c.res = res;
    });
  };
}
