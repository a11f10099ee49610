/**
 * The playground server as one request handler: the share API, the two
 * server-rendered pages (`/` and `/s/:id`), the client's static assets, and
 * the security headers on every answer.
 *
 * @module
 */

import { errorResponse } from "./http.ts";
import { withSecurityHeaders } from "./headers.ts";
import { DEFAULT_LIMITS, type Limits, RateLimiter } from "./limits.ts";
import { type ClientInfo, Router } from "./router.ts";
import { shareRoutes } from "./shares.ts";
import { type Asset, loadAssets, serveAsset } from "./static.ts";
import type { ImageMeta, Share, ShareStore } from "./storage.ts";

/** What each page is rendered from; `origin` (e.g. `https://example.org`) is for absolute links. */
export interface PageData {
  /** The playground itself. */
  home: { origin: string };
  /** A shared result: the share and the meta record of each of its images, by SHA-256. */
  share: { origin: string; share: Share; images: Record<string, ImageMeta> };
  /** Any unknown page. */
  notFound: { origin: string; path: string };
}

/** The kinds of page. */
export type PageKind = keyof PageData;

/** Renders a page to an HTML document (escaping is the renderer's job). */
export type RenderPage = <K extends PageKind>(
  kind: K,
  data: PageData[K],
) => string | Promise<string>;

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** Shares and images. */
  store: ShareStore;
  /** The client build to serve (read once, now); default `web/dist`. */
  assetsDir?: string;
  /** Limits; unset fields keep {@linkcode DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /** The page renderer; default: a bare placeholder page. */
  renderPage?: RenderPage;
  /**
   * The public origin for absolute links in pages (Open Graph); default: the
   * request's own, which behind a TLS proxy may be the wrong one.
   */
  origin?: string;
}

/** A request handler for `Deno.serve`. */
export type App = (req: Request, info: ClientInfo) => Promise<Response>;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The stand-in renderer (a {@linkcode RenderPage}) for when there are no real pages. */
export function placeholderPage(kind: PageKind, data: unknown): string {
  return `<!doctype html><meta charset="utf-8"><title>stylegram</title><h1>stylegram: ${kind}</h1>` +
    `<pre>${escapeHtml(JSON.stringify(data, null, 2))}</pre>`;
}

function html(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
  });
}

/** Builds the app; the asset table is made now, from the directory as it is. */
export async function createApp(options: AppOptions): Promise<App> {
  const { store } = options;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const render = options.renderPage ?? placeholderPage;
  const assets: Map<string, Asset> = await loadAssets(options.assetsDir ?? "web/dist");
  const limiter = new RateLimiter(limits.sharesPerWindow, limits.shareWindowMs);

  const originOf = (req: Request) => options.origin ?? new URL(req.url).origin;
  const notFoundPage = async (req: Request) =>
    html(
      await render("notFound", { origin: originOf(req), path: new URL(req.url).pathname }),
      404,
    );

  const router = new Router({
    fallback: async (req) => {
      const path = new URL(req.url).pathname;
      const isRead = req.method === "GET" || req.method === "HEAD";
      const asset = isRead ? await serveAsset(req, assets) : null;
      if (asset) return asset;
      if (!isRead || path.startsWith("/api/")) {
        return errorResponse(404, `not found: ${path.slice(0, 200)}`);
      }
      return await notFoundPage(req);
    },
  });
  shareRoutes(router, { store, limits, limiter });
  router.get("/", async (req) => html(await render("home", { origin: originOf(req) })));
  router.get("/s/:id", async (req, ctx) => {
    const share = await store.getShare(ctx.params.id);
    if (!share) return await notFoundPage(req);
    const images: Record<string, ImageMeta> = {};
    for (const sha of [share.content, ...share.styles, share.result]) {
      const meta = sha ? await store.getImageMeta(sha) : null;
      if (sha && meta) images[sha] = meta;
    }
    return html(await render("share", { origin: originOf(req), share, images }));
  });

  return async (req, info) => withSecurityHeaders(await router.handle(req, info));
}
