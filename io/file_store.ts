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

import { dirname, join } from "node:path";
import type { WeightStore } from "../core/network/weight_store.ts";

/** The default cache directory for the environment `env`. */
export function defaultCacheDir(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
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

/** A {@linkcode WeightStore} in files under one directory. */
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
      return (await Deno.stat(this.path(key))).isFile;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  /** Writes a temporary file beside the value, then renames it over the value. */
  async set(key: string, value: Uint8Array): Promise<void> {
    const path = this.path(key);
    await Deno.mkdir(dirname(path), { recursive: true });
    const temp = `${path}~tmp-${crypto.randomUUID()}`;
    try {
      await Deno.writeFile(temp, value);
      await Deno.rename(temp, path);
    } catch (e) {
      await Deno.remove(temp).catch(() => {});
      throw e;
    }
  }

  /** Removes the value and the partial value (or a whole directory, for a prefix). */
  async delete(key: string): Promise<void> {
    const path = this.path(key);
    for (const p of [path, `${path}~partial`]) {
      await Deno.remove(p, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }

  /** The partial value, or undefined. */
  async getPartial(key: string): Promise<Uint8Array | undefined> {
    return await readIfExists(`${this.path(key)}~partial`);
  }

  /** Appends to the partial value's file. */
  async appendPartial(key: string, chunk: Uint8Array): Promise<void> {
    const path = `${this.path(key)}~partial`;
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeFile(path, chunk, { append: true });
  }

  /** Removes the partial value's file. */
  async clearPartial(key: string): Promise<void> {
    await Deno.remove(`${this.path(key)}~partial`).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
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
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}
