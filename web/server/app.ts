/**
 * The playground server as one request handler, a Hono app: the share API,
 * the two server-rendered pages (`/` and `/s/:id`), the client's static
 * assets, the security headers on every answer, JSON errors, and 405 with
 * `Allow` for a known path under another method (HEAD runs the GET route).
 *
 * @module
 */

import { Hono } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import { errorResponse, responseForError } from "./http.ts";
import { pagePolicy, sandboxPolicy, securityHeaders } from "./headers.ts";
import { DEFAULT_LIMITS, type Limits, RateLimiter } from "./limits.ts";
import { shareRoutes } from "./shares.ts";
import { loadAssets, serveAssets } from "./static.ts";
import { type ImageMeta, publicShare, type Share, type ShareStore } from "./storage.ts";

/**
 * What each page is rendered from; `origin` (e.g. `https://example.org`) is
 * for absolute links, and only the configured one: never the request's Host.
 */
export interface PageData {
  /** The playground itself; `nonce` marks the page's run-time styles (see `pagePolicy`). */
  home: { origin?: string; nonce?: string };
  /** A shared result: the share and the meta record of each of its images, by SHA-256. */
  share: { origin?: string; nonce?: string; share: Share; images: Record<string, ImageMeta> };
  /** Any unknown page. */
  notFound: { origin?: string; path: string };
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
   * The public origin for absolute links in pages (Open Graph link previews).
   * Unset: pages have no absolute links (a request's Host header is the
   * client's to choose, so it never makes one).
   */
  origin?: string;
  /** The header a trusted reverse proxy gives the client's address in (see `ShareApiOptions`). */
  trustProxy?: string;
}

/** The part of `Deno.ServeHandlerInfo` the app reads (Hono's `getConnInfo` reads it as the env). */
export interface ClientInfo {
  /** The peer's address. */
  remoteAddr: Deno.Addr;
}

/** A request handler for `Deno.serve`. */
export type App = (req: Request, info: ClientInfo) => Promise<Response>;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The stand-in renderer (a {@linkcode RenderPage}) for when there are no real pages. */
export function placeholderPage(kind: PageKind, data: unknown): string {
  return `<!doctype html><meta charset="utf-8"><title>stylegram</title><h1>stylegram: ${kind}</h1>` +
    `<pre>${escapeHtml(JSON.stringify(data, null, 2))}</pre>`;
}

/** A fresh nonce for one page's policy. */
const newNonce = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));

function withPolicy(res: Response, policy: string): Response {
  res.headers.set("content-security-policy", policy);
  return res;
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
  const assetsDir = options.assetsDir ?? "web/dist";
  const assets = await loadAssets(assetsDir);
  // The plugin sandbox's page, from the client build, with its own policy.
  const sandboxHtml = await Deno.readTextFile(`${assetsDir}/assets/sandbox.html`).catch(() => "");
  const sandboxCsp = sandboxHtml ? await sandboxPolicy(sandboxHtml) : "";
  const limiter = new RateLimiter(limits.sharesPerWindow, limits.shareWindowMs, { kv: store.kv });
  const attempts = new RateLimiter(limits.attemptsPerWindow, limits.shareWindowMs, {
    kv: store.kv,
    scope: "attempts",
  });

  const origin = options.origin;
  const notFoundPage = async (req: Request) =>
    html(await render("notFound", { origin, path: new URL(req.url).pathname }), 404);

  const app = new Hono<{ Bindings: ClientInfo }>();
  app.use(securityHeaders);
  app.use(async (c, next) => {
    await next();
    // Hono answers a HEAD with the GET answer's headers and drops its body
    // without cancelling it, which would leave an asset's file open.
    if (c.req.method === "HEAD") await c.res.body?.cancel();
  });
  app.use(methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allow = methods.join(", ");
      return errorResponse(405, `method ${c.req.method} not allowed here (allowed: ${allow})`, {
        headers: { allow },
      });
    },
  }));
  app.route("/", shareRoutes({ store, limits, limiter, attempts, trustProxy: options.trustProxy }));
  app.get("/", async () => {
    const nonce = newNonce();
    return withPolicy(html(await render("home", { origin, nonce })), pagePolicy(nonce));
  });
  app.get("/sandbox", () => {
    if (!sandboxHtml) return errorResponse(404, "no plugin sandbox in this build");
    const res = html(sandboxHtml);
    res.headers.set("content-security-policy", sandboxCsp);
    return res;
  });
  app.get("/s/:id", async (c) => {
    const stored = await store.openShare(c.req.param("id"), { maxIdleMs: limits.shareExpiryMs });
    if (!stored) return await notFoundPage(c.req.raw);
    const share = publicShare(stored);
    const images: Record<string, ImageMeta> = {};
    for (const sha of [share.content, ...share.styles, share.result, ...(share.styleMasks ?? [])]) {
      const meta = sha ? await store.getImageMeta(sha) : null;
      if (sha && meta) images[sha] = meta;
    }
    const nonce = newNonce();
    return withPolicy(
      html(await render("share", { origin, nonce, share, images })),
      pagePolicy(nonce),
    );
  });
  // Last, so that only paths no route knows are looked up in the asset table.
  app.use(serveAssets(assetsDir, assets));
  app.notFound(async (c) => {
    const isRead = c.req.method === "GET" || c.req.method === "HEAD";
    if (!isRead || c.req.path.startsWith("/api/")) {
      return errorResponse(404, `not found: ${new URL(c.req.url).pathname.slice(0, 200)}`);
    }
    return await notFoundPage(c.req.raw);
  });
  app.onError((error) => responseForError(error));

  return async (req, info) => await app.fetch(req, info);
}
