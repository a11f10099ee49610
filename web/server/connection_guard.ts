/**
 * Deadlines for slow clients. `Deno.serve` has no header or body timeouts
 * (denoland/deno#3515): a client that sends half a request line, or one
 * byte of a body every few seconds, holds its connection for ever. This
 * front accepts the TCP connections itself and passes the bytes on to the
 * app's `Deno.serve` over a private Unix socket, reading just enough of the
 * HTTP/1.1 framing (headers, `Content-Length`, chunked bodies) to hold each
 * request to a deadline:
 *
 * - headers: from a request's first byte to its blank line, `headerTimeout`;
 * - body: from there to its last byte, `bodyTimeout`;
 * - between requests: `idleTimeout` without a byte either way.
 *
 * A late request gets `408` and the connection is closed. The front also
 * tells the app the client's address (a header it sets itself and never
 * takes from the client).
 *
 * @module
 */

/** The header the front gives the app the client's address in. */
export const PEER_HEADER = "x-stylegram-peer";

/** Options of {@linkcode serveGuarded}. */
export interface GuardOptions {
  /** Address to listen on. */
  hostname: string;
  /** TCP port (0: any free one). */
  port: number;
  /** Milliseconds for a request's headers (default 10 s). */
  headerTimeoutMs?: number;
  /** Milliseconds for a request's body (default 60 s). */
  bodyTimeoutMs?: number;
  /** Milliseconds a connection may sit without a byte between requests (default 30 s). */
  idleTimeoutMs?: number;
  /** Largest header block, bytes (default 64 KiB; over it: 431). */
  maxHeaderBytes?: number;
  /** Called once listening. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A running guarded server. */
export interface GuardedServer {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Stops accepting, closes every connection and the app's server. */
  shutdown(): Promise<void>;
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

function answer(status: number, reason: string, message: string): Uint8Array {
  const body = JSON.stringify({ error: message });
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** How a request's body is delimited. */
type Framing = { kind: "length"; left: number } | { kind: "chunked" } | { kind: "none" };

/** The header block with the peer header set, and how the body ends; or an error answer. */
function rewriteHeaders(block: Uint8Array, peer: string): { head: Uint8Array; framing: Framing } | {
  error: Uint8Array;
} {
  const lines = latin1.decode(block).split("\r\n").slice(0, -2);
  const kept = [lines[0]];
  let length: string | undefined;
  let chunked = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === PEER_HEADER) continue;
    if (name === "content-length") {
      if (length !== undefined && length !== value) {
        return { error: answer(400, "Bad Request", "conflicting Content-Length headers") };
      }
      length = value;
    }
    if (name === "transfer-encoding") chunked = /(^|,)\s*chunked\s*$/i.test(value);
    kept.push(line);
  }
  kept.splice(1, 0, `${PEER_HEADER}: ${peer}`);
  const head = encoder.encode(kept.join("\r\n") + "\r\n\r\n");
  if (chunked) return { head, framing: { kind: "chunked" } };
  if (length === undefined) return { head, framing: { kind: "none" } };
  if (!/^\d{1,15}$/.test(length)) {
    return { error: answer(400, "Bad Request", "malformed Content-Length") };
  }
  const left = Number(length);
  return { head, framing: left ? { kind: "length", left } : { kind: "none" } };
}

/**
 * Where a chunked body ends in `bytes`, given the parser state; returns the
 * bytes that belong to the body and whether it is complete.
 */
class ChunkedBody {
  #phase: "size" | "data" | "data-end" | "trailer" = "size";
  #line = "";
  #left = 0;

  /** Consumes body bytes; returns how many belong to the body, and whether it ended there. */
  feed(bytes: Uint8Array): { used: number; done: boolean } {
    let i = 0;
    while (i < bytes.length) {
      if (this.#phase === "data") {
        const take = Math.min(this.#left, bytes.length - i);
        i += take;
        this.#left -= take;
        if (this.#left === 0) this.#phase = "data-end";
        continue;
      }
      const ch = bytes[i++];
      if (ch !== 10) {
        if (ch !== 13) this.#line += String.fromCharCode(ch);
        continue;
      }
      const line = this.#line;
      this.#line = "";
      if (this.#phase === "size") {
        const size = parseInt(line.split(";")[0].trim(), 16);
        if (!Number.isFinite(size)) return { used: i, done: true }; // the app will refuse it
        this.#left = size;
        this.#phase = size === 0 ? "trailer" : "data";
      } else if (this.#phase === "data-end") {
        this.#phase = "size";
      } else if (line === "") {
        return { used: i, done: true };
      }
    }
    return { used: i, done: false };
  }
}

/** Serves `handler` behind the deadlines; the handler sees the client's real address. */
export async function serveGuarded(
  handler: (req: Request, info: { remoteAddr: Deno.NetAddr }) => Response | Promise<Response>,
  options: GuardOptions,
): Promise<GuardedServer> {
  const headerMs = options.headerTimeoutMs ?? 10_000;
  const bodyMs = options.bodyTimeoutMs ?? 60_000;
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const maxHeader = options.maxHeaderBytes ?? 64 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "stylegram-front-" });
  await Deno.chmod(dir, 0o700);
  const path = `${dir}/app.sock`;
  const inner = Deno.serve({ path, onListen: () => {} }, (req) => {
    const peer = req.headers.get(PEER_HEADER) ?? "unknown";
    const headers = new Headers(req.headers);
    headers.delete(PEER_HEADER);
    // From its parts: copying the Request would tie in Deno.serve's abort signal.
    const clean = new Request(req.url, {
      method: req.method,
      headers,
      body: req.body,
      ...(req.body ? { duplex: "half" } : {}),
    } as RequestInit);
    return handler(clean, {
      remoteAddr: { transport: "tcp", hostname: peer, port: 0 },
    });
  });
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const open = new Set<Deno.Conn>();

  const guard = async (client: Deno.Conn) => {
    const peer = (client.remoteAddr as Deno.NetAddr).hostname;
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ transport: "unix", path });
    } catch {
      client.close();
      return;
    }
    open.add(client);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      open.delete(client);
      for (const c of [client, upstream]) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
    };
    let state: "idle" | "headers" | "body" = "idle";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (state !== "idle") {
          const what = state === "headers" ? "headers" : "body";
          await client.write(
            answer(408, "Request Timeout", `the request's ${what} came too slowly`),
          )
            .catch(() => {});
        }
        close();
      }, ms);
    };
    deadline(idleMs);

    // App → client, as it comes; any traffic keeps an idle connection open.
    const back = (async () => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        for (let n; (n = await upstream.read(buffer)) !== null;) {
          if (state === "idle") deadline(idleMs);
          await writeAll(client, buffer.subarray(0, n));
          if (state === "idle") deadline(idleMs);
        }
      } catch { /* either side went away */ }
      close();
    })();

    // Client → app, request by request.
    let pending: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
    let framing: Framing = { kind: "none" };
    let chunks: ChunkedBody | undefined;
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (state === "idle" && pending.length) {
          state = "headers";
          deadline(headerMs);
        }
        if (state === "headers") {
          const end = indexOfBlankLine(pending);
          if (end < 0 && pending.length > maxHeader) {
            await client.write(answer(431, "Request Header Fields Too Large", "headers too large"));
            break;
          }
          if (end >= 0) {
            const rewritten = rewriteHeaders(pending.subarray(0, end), peer);
            if ("error" in rewritten) {
              await client.write(rewritten.error);
              break;
            }
            await writeAll(upstream, rewritten.head);
            pending = pending.subarray(end);
            framing = rewritten.framing;
            chunks = framing.kind === "chunked" ? new ChunkedBody() : undefined;
            state = framing.kind === "none" ? "idle" : "body";
            deadline(state === "body" ? bodyMs : idleMs);
            continue;
          }
        }
        if (state === "body" && pending.length) {
          let used: number;
          let done: boolean;
          if (framing.kind === "length") {
            used = Math.min(framing.left, pending.length);
            framing.left -= used;
            done = framing.left === 0;
          } else {
            ({ used, done } = chunks!.feed(pending));
          }
          await writeAll(upstream, pending.subarray(0, used));
          pending = pending.subarray(used);
          if (done) {
            state = "idle";
            deadline(idleMs);
          }
          continue;
        }
        const n = await client.read(buffer);
        if (n === null) {
          // The client is done sending; the answer may still be on its way.
          await upstream.closeWrite().catch(() => {});
          break;
        }
        pending = join(pending, buffer.slice(0, n));
      }
    } catch { /* either side went away */ }
    if (state !== "idle" || closed) close();
    await back;
  };

  (async () => {
    try {
      for await (const conn of listener) guard(conn);
    } catch { /* the listener was closed */ }
  })();
  const addr = listener.addr as Deno.NetAddr;
  options.onListen?.(addr);
  return {
    addr,
    async shutdown() {
      listener.close();
      for (const c of [...open]) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
      await inner.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}
