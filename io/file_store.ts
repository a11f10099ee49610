/**
 * A {@linkcode WeightStore} in files under a cache directory (default
 * `$STYLEGRAM_CACHE`, else `$XDG_CACHE_HOME/stylegram`, else
 * `~/.cache/stylegram`). A key's `/`-separated parts become directories;
 * every other character outside `[A-Za-z0-9._-]`, and `.`/`..` parts, are
 * percent-encoded, so no key can reach outside the root. Values are written to
 * a temporary file and renamed into place; partial values sit beside them as
 * `name~partial` (`~` never occurs in an encoded name).
 *
 * @module
 */

import { appendFile, mkdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import type { WeightStore } from "../core/network/weight_store.ts";
import { errorCode } from "./atomic_write.ts";

/** The default cache directory for the environment `env`. */
export function defaultCacheDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (env.STYLEGRAM_CACHE) return env.STYLEGRAM_CACHE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "stylegram");
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) {
    throw new Error("no cache directory: set STYLEGRAM_CACHE, XDG_CACHE_HOME or HOME");
  }
  return join(home, ".cache", "stylegram");
}

/** Options of {@linkcode FileStore}. */
export interface FileStoreOptions {
  /** The cache directory (default {@linkcode defaultCacheDir}()). */
  root?: string;
}

/**
 * A {@linkcode WeightStore} in files under one directory.
 *
 * @example
 * ```ts
 * import { loadNetwork } from "../mod.ts";
 * import { FileStore } from "../io.ts";
 * // VGG-19's weights are downloaded once into the cache, then read from it.
 * const vgg = await loadNetwork("vgg19", { store: new FileStore() });
 * ```
 */
export class FileStore implements WeightStore {
  /** The cache directory. */
  readonly root: string;

  /** A store rooted at `options.root` (created on the first write). */
  constructor(options: FileStoreOptions = {}) {
    this.root = options.root ?? defaultCacheDir();
  }

  /** The file that holds `key`. */
  path(key: string): string {
    const parts = key.split("/");
    if (parts.some((p) => p === "")) throw new RangeError(`FileStore: invalid key "${key}"`);
    return join(this.root, ...parts.map(encodePart));
  }

  /** Where `key` lives: its file path (a prefix names a directory). */
  describe(key: string): string {
    return this.path(key);
  }

  /** The value under `key`, or undefined. */
  async get(key: string): Promise<Uint8Array | undefined> {
    return await readIfExists(this.path(key));
  }

  /** Whether `key` has a value. */
  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch (e) {
      if (errorCode(e) === "ENOENT") return false;
      throw e;
    }
  }

  /** Writes a temporary file beside the value, then renames it over the value. */
  async set(key: string, value: Uint8Array): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}~tmp-${crypto.randomUUID()}`;
    try {
      await writeFile(temp, value);
      await rename(temp, path);
    } catch (e) {
      await unlink(temp).catch(() => {});
      throw e;
    }
  }

  /** Removes the value and the partial value (or a whole directory, for a prefix). */
  async delete(key: string): Promise<void> {
    const path = this.path(key);
    // force: a missing file is no error.
    for (const p of [path, `${path}~partial`]) await rm(p, { recursive: true, force: true });
  }

  /** The partial value, or undefined. */
  async getPartial(key: string): Promise<Uint8Array | undefined> {
    return await readIfExists(`${this.path(key)}~partial`);
  }

  /** Appends to the partial value's file. */
  async appendPartial(key: string, chunk: Uint8Array): Promise<void> {
    const path = `${this.path(key)}~partial`;
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, chunk);
  }

  /** Removes the partial value's file. */
  async clearPartial(key: string): Promise<void> {
    await rm(`${this.path(key)}~partial`, { force: true });
  }
}

/** One key part as a file name: safe characters kept, the rest (and `.`, `..`) %-encoded. */
function encodePart(part: string): string {
  if (part === "." || part === "..") return part.replaceAll(".", "%2E");
  return Array.from(new TextEncoder().encode(part), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    // A plain Uint8Array over Node's Buffer, as the web-standard WeightStore promises.
    const data = await readFile(path);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    if (errorCode(e) === "ENOENT") return undefined;
    throw e;
  }
}
