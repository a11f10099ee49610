/**
 * Share links on Deno KV. Images are stored once, keyed by the SHA-256 of
 * their bytes, split into chunks under KV's 64 KiB value limit: the chunks
 * are written first and the image's meta record last, and readers go through
 * the meta record, so nobody ever sees half an image. A share is a recipe plus
 * image hashes under an unguessable id that is written only if still free.
 *
 * Keys: `["image", sha]` → {@linkcode ImageMeta}, which counts the shares
 * using the image; `["image_chunk", sha, generation, i]` → bytes (each
 * upload writes its own generation, so a delete never takes a fresh
 * upload's chunks); `["share", id]` → {@linkcode Share}; `["usage"]` →
 * bytes of stored images, for the quota. A share and its images' counts
 * change in one atomic write, so an image goes exactly when its last share
 * goes.
 *
 * @module
 */

import type { Recipe } from "../../mod.ts";

/** Bytes per stored chunk (KV values may hold 65 536 bytes). */
export const CHUNK_BYTES = 60_000;
// KV refuses atomic operations over 800 KiB in total: 12 chunks fit.
const CHUNKS_PER_COMMIT = 12;

/** The image types the store accepts. */
export type ImageType = "image/png" | "image/jpeg" | "image/webp";

/** What is known about a stored image. */
export interface ImageMeta {
  /** The media type. */
  type: ImageType;
  /** Length in bytes. */
  bytes: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Number of chunks the bytes are split into. */
  chunks: number;
  /** The upload whose chunks these are (absent: an image stored before generations). */
  generation?: string;
  /** How many shares use it (absent: counted before refcounts, treated as 1). */
  refs?: number;
  /** When it was stored (ms since 1970); an image no share took is swept after an hour. */
  storedAt?: number;
}

/** Thrown by `createShare` when an image was deleted meanwhile: store it again and retry. */
export class ImageGoneError extends Error {
  /** Names the image. */
  constructor(sha: string) {
    super(`createShare: image ${sha} is not stored (or was deleted meanwhile)`);
    this.name = "ImageGoneError";
  }
}

/** A stored image. */
export interface StoredImage {
  /** The image file's bytes. */
  bytes: Uint8Array;
  /** Its meta record. */
  meta: ImageMeta;
}

/** What a share is made of. */
export interface ShareInput {
  /** The checked recipe. */
  recipe: Recipe;
  /** SHA-256 of the content image; absent for texture synthesis. */
  content?: string | null;
  /** SHA-256 of each style image, in order. */
  styles: string[];
  /** SHA-256 of the result image. */
  result: string;
  /** Per style image, SHA-256 of its mask over the content image, or `null`. */
  styleMasks?: (string | null)[];
  /** The images' file names as uploaded (cleaned), for labels. */
  names?: ImageNames;
  /** SHA-256 (hex) of the share's delete token: the token itself is never stored. */
  deleteKey?: string;
}

/** The file names of a share's images. */
export interface ImageNames {
  /** The content image's, or `null` for a texture. */
  content: string | null;
  /** Each style image's, in order. */
  styles: string[];
}

/** A stored share, as the API returns it. */
export interface Share {
  /** The share's id. */
  id: string;
  /** The recipe. */
  recipe: Recipe;
  /** SHA-256 of the content image, or `null` for a texture. */
  content: string | null;
  /** SHA-256 of each style image, in order. */
  styles: string[];
  /** SHA-256 of the result image. */
  result: string;
  /** Per style image, SHA-256 of its mask over the content image, or `null` (absent: no masks). */
  styleMasks?: (string | null)[];
  /** The images' file names (absent in shares made before names were kept). */
  names?: ImageNames;
  /** When it was created (ISO 8601). */
  createdAt: string;
}

/** A share as stored: with its delete key and when it was last opened. */
export interface StoredShare extends Share {
  /** SHA-256 (hex) of the delete token, if the share has one. */
  deleteKey?: string;
  /** When it was last opened (ISO 8601, updated at most daily); unused shares expire. */
  seenAt?: string;
}

/** A share as the public sees it: no delete key, no bookkeeping. */
export function publicShare(share: StoredShare): Share {
  const { deleteKey: _key, seenAt: _seen, ...rest } = share;
  return rest;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Share ids: 16 random bytes in unpadded base64url. */
export const SHARE_ID = /^[A-Za-z0-9_-]{22}$/;
/** Image keys: SHA-256 in lower-case hex. */
export const IMAGE_SHA = /^[0-9a-f]{64}$/;

/** Bytes in unpadded base64url. */
export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** A fresh share id with 128 random bits. */
export function newShareId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** SHA-256 of `bytes` in lower-case hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Shares and their images in one Deno KV database. */
export class ShareStore {
  readonly #kv: Deno.Kv;
  readonly #newId: () => string;

  /**
   * Wraps an open KV database. `newId` is for tests that need id
   * collisions; it defaults to {@linkcode newShareId}.
   */
  constructor(kv: Deno.Kv, options: { newId?: () => string } = {}) {
    this.#kv = kv;
    this.#newId = options.newId ?? newShareId;
  }

  /**
   * Stores an image unless it is there already; returns its SHA-256 and
   * whether this call stored it (the caller accounts for its bytes). The
   * caller has checked the bytes and read `type`, `width` and `height`.
   */
  async putImage(
    bytes: Uint8Array,
    info: { type: ImageType; width: number; height: number },
  ): Promise<{ sha: string; added: boolean }> {
    const sha = await sha256Hex(bytes);
    if (await this.hasImage(sha)) return { sha, added: false };
    const generation = newShareId();
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
    for (let first = 0; first < chunks; first += CHUNKS_PER_COMMIT) {
      const op = this.#kv.atomic();
      for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_COMMIT); i++) {
        op.set(
          ["image_chunk", sha, generation, i],
          bytes.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
        );
      }
      await commit(op);
    }
    const meta: ImageMeta = {
      ...info,
      bytes: bytes.length,
      chunks,
      generation,
      refs: 0,
      storedAt: Date.now(),
    };
    // Last, and only if absent: readers go through the meta record.
    const written = await this.#kv.atomic().check({ key: ["image", sha], versionstamp: null })
      .set(["image", sha], meta).commit();
    if (!written.ok) await this.#deleteChunks(sha, generation);
    return { sha, added: written.ok };
  }

  /** Whether a complete image with this SHA-256 is stored. */
  async hasImage(sha: string): Promise<boolean> {
    return (await this.getImageMeta(sha)) !== null;
  }

  /** The meta record of a stored image, or `null`. */
  async getImageMeta(sha: string): Promise<ImageMeta | null> {
    if (!IMAGE_SHA.test(sha)) return null;
    return (await this.#kv.get<ImageMeta>(["image", sha])).value;
  }

  /** A stored image's bytes and meta record, or `null`. */
  async getImage(sha: string): Promise<StoredImage | null> {
    const meta = await this.getImageMeta(sha);
    if (!meta) return null;
    const bytes = new Uint8Array(meta.bytes);
    let offset = 0, count = 0;
    const prefix = meta.generation ? ["image_chunk", sha, meta.generation] : ["image_chunk", sha];
    for await (const entry of this.#kv.list<Uint8Array>({ prefix })) {
      if (entry.key[prefix.length] !== count || offset + entry.value.length > meta.bytes) break;
      bytes.set(entry.value, offset);
      offset += entry.value.length;
      count++;
    }
    if (count !== meta.chunks || offset !== meta.bytes) {
      throw new Error(`image ${sha}: stored chunks do not match its meta record`);
    }
    return { bytes, meta };
  }

  /**
   * Stores a share under a fresh id and returns the id, counting it in each
   * of its images in the same atomic write. Every image must be stored
   * already ({@linkcode ImageGoneError} if one was deleted meanwhile). An
   * existing share is never overwritten: a (practically impossible) taken id
   * is replaced by another.
   */
  async createShare(input: ShareInput): Promise<string> {
    const shas = [
      ...new Set([
        ...(input.content ? [input.content] : []),
        ...input.styles,
        input.result,
        ...(input.styleMasks ?? []).filter((m): m is string => m !== null),
      ]),
    ];
    for (let attempt = 0; attempt < 10; attempt++) {
      const metas = await Promise.all(shas.map((sha) => this.#kv.get<ImageMeta>(["image", sha])));
      const missing = metas.findIndex((m) => !m.value);
      if (missing >= 0) throw new ImageGoneError(shas[missing]);
      const id = this.#newId();
      const now = new Date().toISOString();
      const share: StoredShare = {
        id,
        recipe: input.recipe,
        content: input.content ?? null,
        styles: [...input.styles],
        result: input.result,
        ...(input.styleMasks ? { styleMasks: [...input.styleMasks] } : {}),
        ...(input.names ? { names: structuredClone(input.names) } : {}),
        createdAt: now,
        ...(input.deleteKey ? { deleteKey: input.deleteKey } : {}),
        seenAt: now,
      };
      const key = ["share", id];
      const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, share);
      for (const m of metas) {
        op.check(m).set(m.key, { ...m.value!, refs: (m.value!.refs ?? 1) + 1 });
      }
      if ((await op.commit()).ok) return id;
    }
    throw new Error("createShare: too much contention; try again");
  }

  /** A share by id, or `null` (also for ids that are not well-formed). */
  async getShare(id: string): Promise<StoredShare | null> {
    if (!SHARE_ID.test(id)) return null;
    return (await this.#kv.get<StoredShare>(["share", id])).value;
  }

  /**
   * A share that is being opened: `null` if absent or unused for longer than
   * `maxIdleMs` (then it is deleted); otherwise its "last seen" moves to
   * `now` (written at most once a day).
   */
  async openShare(id: string, options: { maxIdleMs: number; now?: number }): Promise<
    StoredShare | null
  > {
    const share = await this.getShare(id);
    if (!share) return null;
    const now = options.now ?? Date.now();
    const seen = Date.parse(share.seenAt ?? share.createdAt);
    if (now - seen > options.maxIdleMs) {
      await this.deleteShare(id);
      return null;
    }
    if (now - seen > DAY_MS) {
      const entry = await this.#kv.get<StoredShare>(["share", id]);
      if (entry.value) {
        await this.#kv.atomic().check(entry)
          .set(["share", id], { ...entry.value, seenAt: new Date(now).toISOString() }).commit();
      }
    }
    return share;
  }

  /**
   * Deletes a share, and every image no other share uses, in one atomic
   * write (retried if a concurrent write changed one of them). Returns
   * whether there was such a share.
   */
  async deleteShare(id: string): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.#kv.get<StoredShare>(["share", id]);
      const share = entry.value;
      if (!share) return false;
      const shas = [
        ...new Set(
          [share.content, ...share.styles, share.result, ...(share.styleMasks ?? [])]
            .filter((s): s is string => typeof s === "string"),
        ),
      ];
      const metas = await Promise.all(shas.map((sha) => this.#kv.get<ImageMeta>(["image", sha])));
      const op = this.#kv.atomic().check(entry).delete(["share", id]);
      const gone: { sha: string; meta: ImageMeta }[] = [];
      for (const m of metas) {
        if (!m.value) continue;
        const refs = (m.value.refs ?? 1) - 1;
        op.check(m);
        if (refs > 0) op.set(m.key, { ...m.value, refs });
        else {
          op.delete(m.key);
          gone.push({ sha: m.key[1] as string, meta: m.value });
        }
      }
      if (!(await op.commit()).ok) continue;
      for (const { sha, meta } of gone) await this.#dropImage(sha, meta);
      return true;
    }
    throw new Error("deleteShare: too much contention; try again");
  }

  /** After its meta record is gone: its chunks, and its bytes from the usage. */
  async #dropImage(sha: string, meta: ImageMeta): Promise<void> {
    if (meta.generation) await this.#deleteChunks(sha, meta.generation);
    else {
      for await (const c of this.#kv.list({ prefix: ["image_chunk", sha] })) {
        if (typeof c.key[2] === "number") await this.#kv.delete(c.key);
      }
    }
    await this.addUsage(-meta.bytes);
  }

  async #deleteChunks(sha: string, generation: string): Promise<void> {
    for await (const c of this.#kv.list({ prefix: ["image_chunk", sha, generation] })) {
      await this.#kv.delete(c.key);
    }
  }

  /**
   * Deletes every share unused for longer than `maxIdleMs`, and images no
   * share took within an hour (a creation that failed halfway); returns how
   * many shares went.
   */
  async sweep(options: { maxIdleMs: number; now?: number }): Promise<number> {
    const now = options.now ?? Date.now();
    let removed = 0;
    for await (const entry of this.#kv.list<StoredShare>({ prefix: ["share"] })) {
      const seen = Date.parse(entry.value.seenAt ?? entry.value.createdAt);
      if (now - seen > options.maxIdleMs && await this.deleteShare(entry.value.id)) removed++;
    }
    for await (const m of this.#kv.list<ImageMeta>({ prefix: ["image"] })) {
      if (m.value.refs !== 0 || now - (m.value.storedAt ?? now) < 60 * 60 * 1000) continue;
      if ((await this.#kv.atomic().check(m).delete(m.key).commit()).ok) {
        await this.#dropImage(m.key[1] as string, m.value);
      }
    }
    return removed;
  }

  /**
   * Sets `bytes` aside in the usage if they fit under `max`; returns whether
   * they did. An upload reserves its new images' bytes before storing them.
   */
  async reserve(bytes: number, max: number): Promise<boolean> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.#kv.get<number>(["usage"]);
      const used = entry.value ?? 0;
      if (used + bytes > max) return false;
      if ((await this.#kv.atomic().check(entry).set(["usage"], used + bytes).commit()).ok) {
        return true;
      }
    }
    throw new Error("storage: could not update the usage counter");
  }

  /** Bytes of stored images (what the quota counts). */
  async usage(): Promise<number> {
    return (await this.#kv.get<number>(["usage"])).value ?? 0;
  }

  /** Adds `delta` bytes to the usage (negative: gives them back). */
  async addUsage(delta: number): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.#kv.get<number>(["usage"]);
      const next = Math.max(0, (entry.value ?? 0) + delta);
      if ((await this.#kv.atomic().check(entry).set(["usage"], next).commit()).ok) return;
    }
    throw new Error("storage: could not update the usage counter");
  }

  /** The KV database (the rate limiter keeps its buckets in it too). */
  get kv(): Deno.Kv {
    return this.#kv;
  }

  /** Closes the database. */
  close(): void {
    this.#kv.close();
  }
}

async function commit(op: Deno.AtomicOperation): Promise<void> {
  const result = await op.commit();
  if (!result.ok) throw new Error("KV commit failed");
}

/**
 * Opens the share store at `location`: a file path (its folder is created)
 * or an `http(s)://` URL of a remote KV database (Deno Deploy KV or a
 * self-hosted denokv; the token is read from `DENO_KV_ACCESS_TOKEN`).
 * `":memory:"` gives a throwaway store.
 */
export async function openShareStore(location: string): Promise<ShareStore> {
  if (!/^https?:\/\//.test(location) && location !== ":memory:") {
    const slash = location.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(location.slice(0, slash), { recursive: true });
  }
  return new ShareStore(await Deno.openKv(location));
}
