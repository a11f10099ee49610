/**
 * Static assets from a fixed table made at startup by listing a directory
 * (the client build's `web/dist/`). A request path is only ever looked up in
 * that table, never joined onto the file system, so no spelling of `..`
 * reaches another file. Files with a content hash in their name are cached
 * for a year; others are revalidated with their ETag on every use.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** One servable file. */
export interface Asset {
  /** The file on disk. */
  file: string;
  /** Its Content-Type. */
  type: string;
  /** Its Cache-Control. */
  cacheControl: string;
  /** Its (quoted) ETag, from the content. */
  etag: string;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
};

/** The Content-Type of a file name, by extension (`application/octet-stream` if unknown). */
export function mimeType(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot >= 0 && MIME[name.slice(dot).toLowerCase()]) || "application/octet-stream";
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
          file,
          type: mimeType(entry.name),
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

/** Whether an If-None-Match header matches `etag` (weak comparison, as for GET). */
export function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((t) => t.trim() === "*" || bare(t) === bare(etag));
}

/**
 * Answers a GET/HEAD for an asset of `table`, or `null` when the path is not
 * in it. The path is percent-decoded once and looked up as it is.
 */
export async function serveAsset(
  req: Request,
  table: ReadonlyMap<string, Asset>,
): Promise<Response | null> {
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url).pathname);
  } catch {
    return null;
  }
  const asset = table.get(path);
  if (!asset) return null;
  const headers = { "cache-control": asset.cacheControl, etag: asset.etag };
  if (etagMatches(req.headers.get("if-none-match"), asset.etag)) {
    return new Response(null, { status: 304, headers });
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(asset.file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null; // removed since startup
    throw e;
  }
  return new Response(file.readable, { headers: { ...headers, "content-type": asset.type } });
}
