/**
 * The share-link API:
 *
 * - `POST /api/shares` (multipart/form-data: `recipe` JSON text, optional
 *   `content` file, 1–8 `style` files, one `result` file, and optionally
 *   one `style-mask` entry per style image — a mask image of the content
 *   image's size, or the text `none`) → 201 `{ id, url, deleteToken }`,
 *   once within the client's allowance (only created shares count) and the
 *   storage quota;
 * - `GET /api/shares/:id` → the share as JSON (a share unopened for the
 *   expiry time is gone: 404);
 * - `DELETE /api/shares/:id` with `Authorization: Bearer <deleteToken>` →
 *   204, and its images go with it unless another share uses them;
 * - `GET /api/images/:sha` → the image bytes, cached for good (the URL
 *   names the content).
 *
 * Everything is checked before anything is stored; nothing here fetches a
 * URL (a recipe has no URL fields, and unknown fields are refused).
 *
 * @module
 */

import { type Context, Hono, type MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import { etag } from "hono/etag";
import { BUILTIN_PLUGINS, OptionError, parseRecipe, type Recipe } from "../../mod.ts";
import { parseSources } from "../../core/plugin_module.ts";
import { HttpError } from "./http.ts";
import {
  type CheckedImage,
  checkImage,
  limitBody,
  type Limits,
  type RateLimiter,
} from "./limits.ts";
import { IMMUTABLE } from "./static.ts";
import { stripMetadata } from "./metadata.ts";
import {
  base64url,
  IMAGE_SHA,
  ImageGoneError,
  publicShare,
  sha256Hex,
  SHARE_ID,
  type ShareStore,
} from "./storage.ts";

/** Most style images in one share. */
export const MAX_STYLES = 8;
/** Longest recipe text (plugin code included), bytes: a share's KV value is at most 64 KiB. */
export const MAX_RECIPE_BYTES = 48 * 1024;

const FIELDS = new Set(["recipe", "content", "style", "result", "style-mask"]);

/** Options of {@linkcode shareRoutes}. */
export interface ShareApiOptions {
  /** Where shares and images live. */
  store: ShareStore;
  /** Size limits (the rate is the limiter's). */
  limits: Limits;
  /** Share creations per client (refused attempts give their token back). */
  limiter: RateLimiter;
  /** Upload attempts per client, refused ones included. */
  attempts: RateLimiter;
  /**
   * The header a trusted reverse proxy puts the client's address in (e.g.
   * `x-forwarded-for`, whose last entry is the one the proxy added); unset:
   * the TCP peer is the client.
   */
  trustProxy?: string;
}

/** The client's address: the trusted proxy's header when set and present, else the TCP peer. */
export function clientAddress(c: Context, trustProxy?: string): string {
  const forwarded = trustProxy ? c.req.header(trustProxy)?.split(",").pop()?.trim() : undefined;
  // The TCP peer; other transports have no address and share one bucket.
  return forwarded || (getConnInfo(c).remote.address ?? "unknown");
}

/**
 * A recipe with its own plugin modules: the server never runs their code,
 * so their cost entries are held to a shape (a plugin name, a weight, plain
 * options of bounded size) and everything else to the schema, as usual.
 */
function checkWithSources(json: unknown): Recipe {
  const { plugins: list, ...rest } =
    (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const entries = Array.isArray(list) ? list : undefined;
  if (!parseSources(rest.sources) || !entries) {
    return parseRecipe(json, BUILTIN_PLUGINS, BROWSER).recipe;
  }
  const isOwn = (e: unknown) =>
    typeof e === "object" && e !== null &&
    !BUILTIN_PLUGINS.has((e as { plugin?: string }).plugin ?? "");
  const own = entries.filter(isOwn).map((e, i) => ownEntry(e as Record<string, unknown>, i));
  const builtin = entries.filter((e) => !isOwn(e));
  const { recipe } = parseRecipe(
    { ...rest, ...(builtin.length ? { plugins: builtin } : {}) },
    BUILTIN_PLUGINS,
    BROWSER,
  );
  const checked = builtin.length ? [...recipe.plugins] : [];
  recipe.plugins = entries.map((e) => (isOwn(e) ? own.shift()! : checked.shift()!));
  return recipe;
}

const BROWSER = { browser: true } as const;

/** A cost entry of a recipe's own plugin: name, weight and plain options, nothing else. */
function ownEntry(e: Record<string, unknown>, i: number): Recipe["plugins"][number] {
  const where = `recipe: plugins[${i}]`;
  const { plugin, weight = 1, options = {}, ...extra } = e;
  if (Object.keys(extra).length) {
    throw new OptionError(`${where}: unknown field "${Object.keys(extra)[0]}"`);
  }
  if (typeof plugin !== "string" || !/^[a-z][a-z0-9_-]{0,63}$/.test(plugin)) {
    throw new OptionError(`${where}: plugin must be a plugin name`);
  }
  if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
    throw new OptionError(`${where}: weight must be a number ≥ 0`);
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new OptionError(`${where}: options must be an object`);
  }
  if (JSON.stringify(options).length > 4096) throw new OptionError(`${where}: options too long`);
  for (const key of Object.keys(options)) {
    if (["__proto__", "constructor", "prototype"].includes(key)) {
      throw new OptionError(`${where}: option "${key}" is not allowed`);
    }
  }
  return { plugin, weight, options: options as Record<string, unknown> };
}

/**
 * Checks the recipe text: 400 with the validation message, 413 when too
 * long. A share is opened and run in a browser, so it is held to the
 * schema's browser limits — the very check the page makes before a run.
 */
export function checkRecipe(text: string): Recipe {
  if (new TextEncoder().encode(text).length > MAX_RECIPE_BYTES) {
    throw new HttpError(413, `recipe: longer than ${MAX_RECIPE_BYTES / 1024} KiB`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `recipe: malformed JSON (${(e as Error).message})`);
  }
  if (typeof json === "object" && json !== null && "masks" in json) {
    throw new HttpError(400, "recipe: masks travel in a share as style-mask files, not names");
  }
  try {
    return checkWithSources(json);
  } catch (e) {
    if (e instanceof OptionError) throw new HttpError(400, e.message);
    throw e;
  }
}

function files(form: FormData, field: string, count: { min: number; max: number }): File[] {
  const values = form.getAll(field);
  if (values.length < count.min || values.length > count.max) {
    const want = count.min === count.max ? `${count.min}` : `${count.min} to ${count.max}`;
    throw new HttpError(400, `${field}: expected ${want} file(s), got ${values.length}`);
  }
  return values.map((v) => {
    if (typeof v === "string") throw new HttpError(400, `${field}: must be a file, not text`);
    return v;
  });
}

/**
 * Refuses an upload before reading any of it: over the client's rate (429),
 * or not multipart/form-data (415).
 */
/** At most this many uploads are decoded at once; the others wait their turn. */
const DECODING_AT_ONCE = 2;
let decoding = 0;
const waiting: (() => void)[] = [];

async function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  if (decoding >= DECODING_AT_ONCE) {
    if (waiting.length >= 32) throw new HttpError(503, "the server is busy; try again shortly");
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  decoding++;
  try {
    return await work();
  } finally {
    decoding--;
    waiting.shift()?.();
  }
}

function admitUpload(options: ShareApiOptions): MiddlewareHandler {
  return async (c, next) => {
    const client = clientAddress(c, options.trustProxy);
    // Every attempt counts here; a share's token is given back if it is not made.
    await options.attempts.acquire(client, "upload attempts");
    if (!c.req.header("content-type")?.toLowerCase().startsWith("multipart/form-data")) {
      await c.req.raw.body?.cancel();
      throw new HttpError(415, "send the share as multipart/form-data");
    }
    const refund = await options.limiter.acquire(client);
    try {
      await next();
    } finally {
      // Hono has turned any error into the answer by now: only a made share keeps the token.
      if (c.res.status !== 201) await refund();
    }
  };
}

async function parseForm(c: Context): Promise<FormData> {
  try {
    // The body limit has already read the body, so the parser never sees more than the limit.
    return await c.req.formData();
  } catch {
    throw new HttpError(400, "malformed multipart/form-data body");
  }
}

async function createShare(c: Context, options: ShareApiOptions): Promise<Response> {
  const form = await parseForm(c);
  for (const key of form.keys()) {
    if (!FIELDS.has(key)) {
      throw new HttpError(400, `unknown form field "${key}" (fields: ${[...FIELDS].join(", ")})`);
    }
  }
  const recipeText = form.getAll("recipe");
  if (recipeText.length !== 1 || typeof recipeText[0] !== "string") {
    throw new HttpError(400, "recipe: expected one text field with the recipe JSON");
  }
  const recipe = checkRecipe(recipeText[0]);
  const [content] = files(form, "content", { min: 0, max: 1 });
  const styles = files(form, "style", { min: 1, max: MAX_STYLES });
  const [result] = files(form, "result", { min: 1, max: 1 });
  if (recipe.styleWeights.length > 0 && recipe.styleWeights.length !== styles.length) {
    throw new HttpError(
      400,
      `recipe: styleWeights has ${recipe.styleWeights.length} weights for ${styles.length} style image(s)`,
    );
  }
  const masks = styleMasks(form, styles.length, content !== undefined);
  // Every image is checked before any is stored.
  const named: [string, File][] = content ? [["content", content]] : [];
  styles.forEach((file, i) => named.push([`style[${i}]`, file]));
  named.push(["result", result]);
  masks.forEach((file, i) => file && named.push([`style-mask[${i}]`, file]));
  const checked: { label: string; bytes: Uint8Array; info: CheckedImage }[] = [];
  for (const [label, file] of named) {
    const upload = new Uint8Array(await file.arrayBuffer());
    const info = await checkImage(upload, label, options.limits);
    // No EXIF, XMP or text chunks are kept; the pixels are untouched.
    checked.push({ label, bytes: stripMetadata(upload, info.type), info });
  }
  for (const { label, info } of checked.filter((c) => c.label.startsWith("style-mask"))) {
    const c = checked[0].info;
    if (info.width !== c.width || info.height !== c.height) {
      throw new HttpError(
        400,
        `${label}: ${info.width}×${info.height} does not match the content image's ${c.width}×${c.height}`,
      );
    }
  }
  // The token goes to the creator only; the store keeps its hash.
  const deleteToken = base64url(crypto.getRandomValues(new Uint8Array(24)));
  const deleteKey = await sha256Hex(new TextEncoder().encode(deleteToken));
  const id = await storeShare(options, checked, (sha) => ({
    recipe,
    content: content ? sha.get("content")! : null,
    styles: styles.map((_, i) => sha.get(`style[${i}]`)!),
    result: sha.get("result")!,
    ...(masks.length
      ? { styleMasks: masks.map((m, i) => m ? sha.get(`style-mask[${i}]`)! : null) }
      : {}),
    names: {
      content: content ? imageName(content.name, "content image") : null,
      styles: styles.map((f, i) => imageName(f.name, `style image ${i + 1}`)),
    },
    deleteKey,
  }));
  const url = `/s/${id}`;
  return c.json({ id, url, deleteToken }, 201, { location: url });
}

/**
 * Stores the images and the share. The new images' bytes are set aside in
 * the quota first (after sweeping out expired shares if they do not fit:
 * else 507), so concurrent uploads cannot overshoot it; an image deleted
 * meanwhile by another request is stored again.
 */
async function storeShare(
  options: ShareApiOptions,
  images: { label: string; bytes: Uint8Array; info: CheckedImage }[],
  share: (sha: Map<string, string>) => Parameters<ShareStore["createShare"]>[0],
): Promise<string> {
  const { store, limits } = options;
  for (let attempt = 0;; attempt++) {
    const fresh = new Map<string, number>();
    for (const { bytes } of images) {
      const sha = await sha256Hex(bytes);
      if (!fresh.has(sha) && !(await store.hasImage(sha))) fresh.set(sha, bytes.length);
    }
    const adding = [...fresh.values()].reduce((a, b) => a + b, 0);
    if (!(await store.reserve(adding, limits.maxStorageBytes))) {
      await store.sweep({ maxIdleMs: limits.shareExpiryMs });
      if (!(await store.reserve(adding, limits.maxStorageBytes))) {
        throw new HttpError(507, "the share storage is full; try again later");
      }
    }
    const sha = new Map<string, string>();
    for (const { label, bytes, info } of images) {
      const put = await store.putImage(bytes, info);
      sha.set(label, put.sha);
      // Stored by someone else meanwhile: its bytes were never ours to count.
      if (!put.added && fresh.has(put.sha)) {
        await store.addUsage(-fresh.get(put.sha)!);
        fresh.delete(put.sha);
      }
    }
    try {
      return await store.createShare(share(sha));
    } catch (e) {
      // Images stored now but used by no share are swept within the hour.
      if (!(e instanceof ImageGoneError) || attempt >= 2) throw e;
    }
  }
}

/** Whether two strings are equal, in time that does not depend on where they differ. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

async function deleteShare(c: Context, store: ShareStore): Promise<Response> {
  const id = c.req.param("id");
  const share = id && SHARE_ID.test(id) ? await store.getShare(id) : null;
  if (!share) throw new HttpError(404, "no such share");
  const token = /^Bearer (\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  const key = token ? await sha256Hex(new TextEncoder().encode(token)) : "";
  if (!share.deleteKey || !sameText(key, share.deleteKey)) {
    throw new HttpError(403, "give the share's delete token as Authorization: Bearer TOKEN");
  }
  await store.deleteShare(share.id);
  return c.body(null, 204);
}

/**
 * An uploaded file's name as a label: its last path part, without control
 * or bidirectional-override characters, at most 100 characters; `fallback`
 * when nothing is left.
 */
export function imageName(name: string, fallback: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const clean = [...base].filter((ch) => {
    const code = ch.codePointAt(0)!;
    return code >= 0x20 && !(code >= 0x7f && code <= 0x9f) &&
      !(code >= 0x200b && code <= 0x200f) && !(code >= 0x202a && code <= 0x202e) &&
      !(code >= 0x2066 && code <= 0x2069);
  }).join("").trim();
  return [...clean].slice(0, 100).join("") || fallback;
}

/**
 * The `style-mask` entries: none at all, or one per style image, each a
 * file or the text `none`; at least one file; only with a content image.
 */
function styleMasks(form: FormData, styles: number, hasContent: boolean): (File | null)[] {
  const entries = form.getAll("style-mask");
  if (!entries.length) return [];
  if (!hasContent) throw new HttpError(400, "style-mask: masks need a content image");
  if (entries.length !== styles) {
    throw new HttpError(
      400,
      `style-mask: expected one entry per style image (${styles}), a file or "none", got ${entries.length}`,
    );
  }
  const masks = entries.map((v) => {
    if (typeof v !== "string") return v;
    if (v === "none") return null;
    throw new HttpError(400, `style-mask: a text entry must be "none"`);
  });
  if (!masks.some((m) => m)) throw new HttpError(400, `style-mask: every entry is "none"`);
  return masks;
}

async function getShare(c: Context, options: ShareApiOptions): Promise<Response> {
  const id = c.req.param("id");
  const share = id && SHARE_ID.test(id)
    ? await options.store.openShare(id, { maxIdleMs: options.limits.shareExpiryMs })
    : null;
  if (!share) throw new HttpError(404, "no such share");
  // A share never changes, but may be deleted: cache it briefly.
  return c.json(publicShare(share), 200, { "cache-control": "public, max-age=300" });
}

async function getImage(c: Context, store: ShareStore): Promise<Response> {
  const sha = c.req.param("sha");
  const image = sha && IMAGE_SHA.test(sha) ? await store.getImage(sha) : null;
  if (!image) throw new HttpError(404, "no such image");
  return c.body(image.bytes as Uint8Array<ArrayBuffer>, 200, {
    "content-type": image.meta.type,
    "cache-control": IMMUTABLE,
    // The URL names the content, so its hash is the ETag (Hono's etag answers 304 from it).
    etag: `"${sha}"`,
    // Stated, so that a HEAD (sent without the body) still tells the size.
    "content-length": String(image.bytes.length),
  });
}

/** The share API's routes, as a Hono app to mount at `/`. */
export function shareRoutes(options: ShareApiOptions): Hono {
  return new Hono()
    .post(
      "/api/shares",
      admitUpload(options),
      limitBody(options.limits.maxBodyBytes),
      (c) => oneAtATime(() => createShare(c, options)),
    )
    .get("/api/shares/:id", (c) => getShare(c, options))
    .delete("/api/shares/:id", (c) => deleteShare(c, options.store))
    .get("/api/images/:sha", etag(), (c) => getImage(c, options.store));
}
