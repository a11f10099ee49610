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
 * - between requests: `idleTimeout` without a byte either way, counted
 *   only once every answer on the connection is complete.
 *
 * A late request gets `408` and the connection is closed. Header blocks are
 * held to strict HTTP/1.1 syntax (CRLF line ends, no folding, no space
 * before a colon), so the front and the app's parser always agree on where
 * a request ends. The front tells the app the client's address in a header
 * whose name is secret to this process, and never takes it from the client.
 *
 * @module
 */

/** The prefix of the headers the front speaks to the app in; a client's are dropped. */
export const PEER_HEADER = "x-stylegram-peer";
const SECRET = [...crypto.getRandomValues(new Uint8Array(8))]
  .map((b) => b.toString(16).padStart(2, "0")).join("");
/** This process's names: the client's address, and the connection it came on. */
const PEER = `${PEER_HEADER}-${SECRET}`;
const CONNECTION = `${PEER_HEADER}-conn-${SECRET}`;

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
/** Bytes ↔ a string of the same char codes (header bytes pass through unchanged). */
const bytesToText = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
};
const textToBytes = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

function answer(status: number, reason: string, message: string): Uint8Array {
  const body = JSON.stringify({ error: message });
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Where the header block ends (after its blank line), searching from `from`; or -1. */
function indexOfBlankLine(bytes: Uint8Array, from: number): number {
  for (let i = Math.max(3, from); i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

/** Bytes received and not yet passed on; grows by doubling, so appending stays linear. */
class Pending {
  #buffer = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;

  get bytes(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  get length(): number {
    return this.#end - this.#start;
  }

  append(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buffer.length) {
      const size = Math.max(this.length + chunk.length, 2 * this.length, 16 * 1024);
      const grown = new Uint8Array(size);
      grown.set(this.bytes);
      this.#buffer = grown;
      this.#end = this.length;
      this.#start = 0;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  drop(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REFUSED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** How a request's body is delimited. */
type Framing = { kind: "length"; left: number } | { kind: "chunked" } | { kind: "none" };

/**
 * The header block with the front's headers set, and how the body ends; or
 * an error answer for a block the app's parser might read differently.
 */
function rewriteHeaders(
  block: Uint8Array,
  peer: string,
  connection: number,
): { head: Uint8Array; framing: Framing } | { error: Uint8Array } {
  const bad = (message: string) => ({ error: answer(400, "Bad Request", message) });
  const text = bytesToText(block);
  // Every CR starts a CRLF and every LF ends one: a lone one is where parsers disagree.
  if (/\r(?!\n)|(?<!\r)\n/.test(text)) return bad("header lines must end in CRLF");
  const lines = text.split("\r\n").slice(0, -2);
  const [method, target, version, ...more] = lines[0].split(" ");
  if (
    more.length || !TOKEN.test(method ?? "") || !target || !/^HTTP\/1\.[01]$/.test(version ?? "")
  ) {
    return bad("malformed request line");
  }
  if (REFUSED_METHODS.has(method.toUpperCase())) {
    return { error: answer(405, "Method Not Allowed", `method ${method} not allowed`) };
  }
  const kept = [lines[0]];
  let length: string | undefined;
  let chunked = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
      return bad("malformed header line (a name, then a colon; no folding)");
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name.startsWith(PEER_HEADER)) continue;
    if (name === "content-length") {
      if (length !== undefined && length !== value) {
        return { error: answer(400, "Bad Request", "conflicting Content-Length headers") };
      }
      length = value;
    }
    if (name === "transfer-encoding") chunked = /(^|,)\s*chunked\s*$/i.test(value);
    kept.push(line);
  }
  kept.splice(1, 0, `${PEER}: ${peer}`, `${CONNECTION}: ${connection}`);
  const head = textToBytes(kept.join("\r\n") + "\r\n\r\n");
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
  // Answers in progress per connection: its idle deadline waits for them.
  const busy = new Map<
    number,
    { count: number; done: number; idle: () => void; busy: () => void }
  >();
  const inner = Deno.serve({ path, onListen: () => {} }, (req, info) => {
    const peer = req.headers.get(PEER);
    const connection = busy.get(Number(req.headers.get(CONNECTION)));
    if (!peer || peer.includes(",") || !connection) {
      return new Response(JSON.stringify({ error: "bad request" }), { status: 400 });
    }
    connection.count++;
    connection.busy();
    info.completed.finally(() => {
      connection.done++;
      if (--connection.count === 0) connection.idle();
    });
    const headers = new Headers(req.headers);
    headers.delete(PEER);
    headers.delete(CONNECTION);
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

  let connections = 0;
  const guard = async (client: Deno.Conn) => {
    const peer = (client.remoteAddr as Deno.NetAddr).hostname;
    const id = ++connections;
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
      busy.delete(id);
      open.delete(client);
      for (const c of [client, upstream]) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
    };
    let state: "idle" | "headers" | "body" = "idle";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answering = { count: 0, done: 0, idle: () => {}, busy: () => {} };
    let forwarded = 0;
    busy.set(id, answering);
    const deadline = (ms: number) => {
      clearTimeout(timer);
      // No idle deadline while an answer is being made or sent.
      if (state === "idle" && answering.count > 0) return;
      timer = setTimeout(async () => {
        // A 408 in the middle of an earlier request's answer would corrupt it: just close.
        const earlier = forwarded - answering.done - (state === "body" ? 1 : 0);
        if (state !== "idle" && earlier <= 0) {
          const what = state === "headers" ? "headers" : "body";
          await client.write(
            answer(408, "Request Timeout", `the request's ${what} came too slowly`),
          )
            .catch(() => {});
        }
        close();
      }, ms);
    };
    answering.idle = () => state === "idle" && deadline(idleMs);
    answering.busy = () => state === "idle" && clearTimeout(timer);
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
    const pending = new Pending();
    let scanned = 0;
    let framing: Framing = { kind: "none" };
    let chunks: ChunkedBody | undefined;
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (state === "idle" && pending.length) {
          // Empty lines before a request are allowed (RFC 9112, 2.2).
          const b = pending.bytes;
          let skip = 0;
          while (skip + 1 < b.length && b[skip] === 13 && b[skip + 1] === 10) skip += 2;
          pending.drop(skip);
          if (pending.length && !(pending.length === 1 && pending.bytes[0] === 13)) {
            state = "headers";
            scanned = 0;
            deadline(headerMs);
          }
        }
        if (state === "headers") {
          const end = indexOfBlankLine(pending.bytes, scanned);
          scanned = Math.max(0, pending.length - 3);
          if (end < 0 && pending.length > maxHeader) {
            await client.write(answer(431, "Request Header Fields Too Large", "headers too large"));
            break;
          }
          if (end >= 0) {
            const rewritten = rewriteHeaders(pending.bytes.subarray(0, end), peer, id);
            if ("error" in rewritten) {
              await client.write(rewritten.error);
              break;
            }
            await writeAll(upstream, rewritten.head);
            forwarded++;
            pending.drop(end);
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
            ({ used, done } = chunks!.feed(pending.bytes));
          }
          await writeAll(upstream, pending.bytes.subarray(0, used));
          pending.drop(used);
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
        pending.append(buffer.subarray(0, n));
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
      // Answers in progress finish first; then the connections close.
      await inner.shutdown();
      for (const c of [...open]) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}
