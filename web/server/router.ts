/**
 * A tiny router in the spirit of Hono's: `new Router().get("/s/:id", h)`.
 * Patterns are literal segments and `:name` parameters; the first matching
 * route wins; a path known under another method answers 405, an unknown one
 * goes to the fallback (404 by default). HEAD runs the GET route (Deno.serve
 * sends its headers without the body). A thrown {@linkcode HttpError} becomes
 * its JSON answer.
 *
 * @module
 */

import { errorResponse, responseForError } from "./http.ts";

/** What a handler gets besides the request. */
export interface Context {
  /** The `:name` parameters of the pattern, percent-decoded. */
  params: Record<string, string>;
  /** The client's address (the TCP peer; `"unknown"` for other transports). */
  ip: string;
}

/** A route handler. */
export type Handler = (req: Request, ctx: Context) => Response | Promise<Response>;

/** The part of `Deno.ServeHandlerInfo` the router reads. */
export interface ClientInfo {
  /** The peer's address. */
  remoteAddr: Deno.Addr;
}

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

const notFound: Handler = (req) =>
  errorResponse(404, `not found: ${new URL(req.url).pathname.slice(0, 200)}`);

/** Splits and percent-decodes a path; `null` when it is not valid percent-encoding. */
function splitPath(pathname: string): string[] | null {
  try {
    return pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return null;
  }
}

function match(pattern: string[], path: string[]): Record<string, string> | null {
  if (pattern.length !== path.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(":")) {
      if (path[i] === "") return null;
      params[pattern[i].slice(1)] = path[i];
    } else if (pattern[i] !== path[i]) return null;
  }
  return params;
}

/** Routes requests by method and path pattern. */
export class Router {
  #routes: Route[] = [];
  #fallback: Handler;

  /** `fallback` answers paths no route knows (default: JSON 404). */
  constructor(options: { fallback?: Handler } = {}) {
    this.#fallback = options.fallback ?? notFound;
  }

  /** Adds a GET (and HEAD) route. */
  get(pattern: string, handler: Handler): this {
    return this.#add("GET", pattern, handler);
  }

  /** Adds a POST route. */
  post(pattern: string, handler: Handler): this {
    return this.#add("POST", pattern, handler);
  }

  #add(method: string, pattern: string, handler: Handler): this {
    this.#routes.push({ method, segments: pattern.split("/").slice(1), handler });
    return this;
  }

  /** Answers a request; never throws. */
  async handle(req: Request, info: ClientInfo): Promise<Response> {
    try {
      return await this.#dispatch(req, info);
    } catch (e) {
      return responseForError(e);
    }
  }

  #dispatch(req: Request, info: ClientInfo): Response | Promise<Response> {
    const ip = "hostname" in info.remoteAddr ? info.remoteAddr.hostname : "unknown";
    const method = req.method === "HEAD" ? "GET" : req.method;
    const path = splitPath(new URL(req.url).pathname);
    const allowed = new Set<string>();
    for (const route of path ? this.#routes : []) {
      const params = match(route.segments, path!);
      if (!params) continue;
      if (route.method === method) return route.handler(req, { params, ip });
      allowed.add(route.method);
    }
    if (allowed.size === 0) return this.#fallback(req, { params: {}, ip });
    if (allowed.has("GET")) allowed.add("HEAD");
    const allow = [...allowed].join(", ");
    return errorResponse(405, `method ${req.method} not allowed here (allowed: ${allow})`, {
      headers: { allow },
    });
  }
}
