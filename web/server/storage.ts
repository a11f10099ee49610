/**
 * Share links on Deno KV. Images are stored once, keyed by the SHA-256 of
 * their bytes, split into chunks under KV's 64 KiB value limit: the chunks
 * are written first and the image's meta record last, and readers go through
 * the meta record, so nobody ever sees half an image. A share is a recipe plus
 * image hashes under an unguessable id that is written only if still free.
 *
 * Keys: `["image", sha]` → {@linkcode ImageMeta};
 * `["image_chunk", sha, i]` → bytes; `["share", id]` → {@linkcode Share};
 * `["ref", sha, id]` for each image a share uses (an image goes when its
 * last share goes); `["usage"]` → bytes of stored images, for the quota.
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

/** A fresh share id with 128 random bits. */
export function newShareId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
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
   * Stores an image unless it is there already; returns its SHA-256. The
   * caller has checked the bytes and read `type`, `width` and `height`.
   */
  async putImage(
    bytes: Uint8Array,
    info: { type: ImageType; width: number; height: number },
  ): Promise<string> {
    const sha = await sha256Hex(bytes);
    if (await this.hasImage(sha)) return sha;
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
    for (let first = 0; first < chunks; first += CHUNKS_PER_COMMIT) {
      const op = this.#kv.atomic();
      for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_COMMIT); i++) {
        op.set(["image_chunk", sha, i], bytes.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
      }
      await commit(op);
    }
    const meta: ImageMeta = { ...info, bytes: bytes.length, chunks };
    // Last, and only if absent: a concurrent upload of the same bytes wrote the same chunks.
    const written = await this.#kv.atomic().check({ key: ["image", sha], versionstamp: null })
      .set(["image", sha], meta).commit();
    if (written.ok) await this.#addUsage(bytes.length);
    return sha;
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
    for await (const entry of this.#kv.list<Uint8Array>({ prefix: ["image_chunk", sha] })) {
      if (entry.key[2] !== count || offset + entry.value.length > meta.bytes) break;
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
   * Stores a share under a fresh id and returns the id. Every image must be
   * stored already. An existing share is never overwritten: the write checks
   * that the key is free, and a (practically impossible) taken id is
   * replaced by another.
   */
  async createShare(input: ShareInput): Promise<string> {
    const shas = [
      ...(input.content ? [input.content] : []),
      ...input.styles,
      input.result,
      ...(input.styleMasks ?? []).filter((m): m is string => m !== null),
    ];
    for (const sha of shas) {
      if (!(await this.hasImage(sha))) throw new Error(`createShare: image ${sha} is not stored`);
    }
    for (let attempt = 0; attempt < 5; attempt++) {
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
      for (const sha of new Set(shas)) op.set(["ref", sha, id], true);
      const done = await op.commit();
      if (done.ok) return id;
    }
    throw new Error("createShare: no free id after 5 attempts");
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
   * Deletes a share, then every image no other share uses. Returns whether
   * there was such a share.
   */
  async deleteShare(id: string): Promise<boolean> {
    const entry = await this.#kv.get<StoredShare>(["share", id]);
    const share = entry.value;
    if (!share) return false;
    const shas = [
      ...new Set([
        share.content,
        ...share.styles,
        share.result,
        ...(share.styleMasks ?? []),
      ].filter((s): s is string => typeof s === "string")),
    ];
    const op = this.#kv.atomic().check(entry).delete(["share", id]);
    for (const sha of shas) op.delete(["ref", sha, id]);
    if (!(await op.commit()).ok) return false;
    for (const sha of shas) {
      const others = this.#kv.list({ prefix: ["ref", sha] }, { limit: 1 });
      if (!(await others.next()).done) continue;
      const meta = await this.#kv.get<ImageMeta>(["image", sha]);
      if (!meta.value) continue;
      // The meta record first: from then on readers see no image, then the chunks go.
      if (!(await this.#kv.atomic().check(meta).delete(["image", sha]).commit()).ok) continue;
      for await (const chunk of this.#kv.list({ prefix: ["image_chunk", sha] })) {
        await this.#kv.delete(chunk.key);
      }
      await this.#addUsage(-meta.value.bytes);
    }
    return true;
  }

  /** Deletes every share unused for longer than `maxIdleMs`; returns how many went. */
  async sweep(options: { maxIdleMs: number; now?: number }): Promise<number> {
    const now = options.now ?? Date.now();
    let removed = 0;
    for await (const entry of this.#kv.list<StoredShare>({ prefix: ["share"] })) {
      const seen = Date.parse(entry.value.seenAt ?? entry.value.createdAt);
      if (now - seen > options.maxIdleMs && await this.deleteShare(entry.value.id)) removed++;
    }
    return removed;
  }

  /** Bytes of stored images (what the quota counts). */
  async usage(): Promise<number> {
    return (await this.#kv.get<number>(["usage"])).value ?? 0;
  }

  async #addUsage(delta: number): Promise<void> {
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
