/**
 * The share-link API:
 *
 * - `POST /api/shares` (multipart/form-data: `recipe` JSON text, optional
 *   `content` file, 1–8 `style` files, one `result` file) → 201
 *   `{ id, url }`;
 * - `GET /api/shares/:id` → the share as JSON;
 * - `GET /api/images/:sha` → the image bytes, cached for good (the URL
 *   names the content).
 *
 * Everything is checked before anything is stored; nothing here fetches a
 * URL (a recipe has no URL fields, and unknown fields are refused).
 *
 * @module
 */

import { BUILTIN_PLUGINS, NETWORKS, OptionError, parseRecipe, type Recipe } from "../../mod.ts";
import { errorResponse, HttpError, jsonResponse } from "./http.ts";
import {
  type CheckedImage,
  checkImage,
  type Limits,
  type RateLimiter,
  readBody,
} from "./limits.ts";
import type { Router } from "./router.ts";
import { etagMatches, IMMUTABLE } from "./static.ts";
import { IMAGE_SHA, SHARE_ID, type ShareStore } from "./storage.ts";

/** Most style images in one share. */
export const MAX_STYLES = 8;
/** Longest recipe text, bytes: KV values are at most 64 KiB. */
export const MAX_RECIPE_BYTES = 16 * 1024;
/** The networks a shared recipe may name (a file path means nothing on another machine). */
export const SHAREABLE_NETWORKS: readonly string[] = ["auto", ...NETWORKS.map((n) => n.name)];

const FIELDS = new Set(["recipe", "content", "style", "result"]);

/** Options of {@linkcode shareRoutes}. */
export interface ShareApiOptions {
  /** Where shares and images live. */
  store: ShareStore;
  /** Size limits (the rate is the limiter's). */
  limits: Limits;
  /** Share creations per client. */
  limiter: RateLimiter;
}

/** Checks the recipe text: 400 with the validation message, 413 when too long. */
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
  let recipe: Recipe;
  try {
    recipe = parseRecipe(json, BUILTIN_PLUGINS).recipe;
  } catch (e) {
    if (e instanceof OptionError) throw new HttpError(400, e.message);
    throw e;
  }
  if (!SHAREABLE_NETWORKS.includes(recipe.network)) {
    throw new HttpError(
      400,
      `recipe: network must be one of ${SHAREABLE_NETWORKS.join(", ")} in a shared recipe`,
    );
  }
  return recipe;
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

async function parseForm(req: Request, limits: Limits): Promise<FormData> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    await req.body?.cancel();
    throw new HttpError(415, "send the share as multipart/form-data");
  }
  const body = await readBody(req, limits.maxBodyBytes);
  try {
    // Parsed from the bytes already read, so the parser never sees more than the limit.
    return await new Response(body, { headers: { "content-type": type } }).formData();
  } catch {
    throw new HttpError(400, "malformed multipart/form-data body");
  }
}

async function createShare(req: Request, ip: string, options: ShareApiOptions): Promise<Response> {
  options.limiter.takeOrThrow(ip);
  const form = await parseForm(req, options.limits);
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
  // Every image is checked before any is stored.
  const named: [string, File][] = content ? [["content", content]] : [];
  styles.forEach((file, i) => named.push([`style[${i}]`, file]));
  named.push(["result", result]);
  const checked: { bytes: Uint8Array; info: CheckedImage }[] = [];
  for (const [label, file] of named) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    checked.push({ bytes, info: await checkImage(bytes, label, options.limits) });
  }
  const shas: string[] = [];
  for (const { bytes, info } of checked) shas.push(await options.store.putImage(bytes, info));
  const id = await options.store.createShare({
    recipe,
    content: content ? shas[0] : null,
    styles: shas.slice(content ? 1 : 0, -1),
    result: shas[shas.length - 1],
  });
  const url = `/s/${id}`;
  return jsonResponse({ id, url }, { status: 201, headers: { location: url } });
}

async function getShare(id: string, store: ShareStore): Promise<Response> {
  const share = SHARE_ID.test(id) ? await store.getShare(id) : null;
  if (!share) return errorResponse(404, "no such share");
  // A share never changes, but may one day be taken down: cache it briefly.
  return jsonResponse(share, { headers: { "cache-control": "public, max-age=300" } });
}

async function getImage(req: Request, sha: string, store: ShareStore): Promise<Response> {
  if (!IMAGE_SHA.test(sha)) return errorResponse(404, "no such image");
  const etag = `"${sha}"`;
  const headers = { "cache-control": IMMUTABLE, etag };
  if (etagMatches(req.headers.get("if-none-match"), etag) && await store.hasImage(sha)) {
    return new Response(null, { status: 304, headers });
  }
  const image = await store.getImage(sha);
  if (!image) return errorResponse(404, "no such image");
  return new Response(image.bytes as Uint8Array<ArrayBuffer>, {
    headers: { ...headers, "content-type": image.meta.type },
  });
}

/** Adds the share API's routes to `router`. */
export function shareRoutes(router: Router, options: ShareApiOptions): Router {
  return router
    .post("/api/shares", (req, ctx) => createShare(req, ctx.ip, options))
    .get("/api/shares/:id", (_req, ctx) => getShare(ctx.params.id, options.store))
    .get("/api/images/:sha", (req, ctx) => getImage(req, ctx.params.sha, options.store));
}
