/**
 * A local HTTP server for download tests: serves one file at
 * `/model.safetensors` with or without Range support and ETags, counts
 * requests and bytes, can cut a response short once (a dropped connection)
 * or answer every request with an error status, and can swap the file for a
 * new version.
 *
 * @module
 */

/** What the server saw of one request. */
export interface SeenRequest {
  /** Path requested. */
  path: string;
  /** Its Range header, if any. */
  range?: string;
  /** The status answered. */
  status: number;
}

/** Options of {@linkcode startWeightServer}. */
export interface WeightServerOptions {
  /** Honour Range requests (default true); false answers 200 with the whole file. */
  ranges?: boolean;
  /** Cut the first response that would send file byte `dropAt`, just before it. */
  dropAt?: number;
  /** Answer every request with this status and no file. */
  status?: number;
  /** Send this ETag with the file. */
  etag?: string;
}

/** A running test server. */
export interface WeightServer {
  /** URL of the file. */
  readonly url: string;
  /** The server's origin, for other paths. */
  readonly origin: string;
  /** Requests seen, in order. */
  readonly requests: SeenRequest[];
  /** File bytes sent so far. */
  readonly bytesSent: number;
  /** Forgets the requests and bytes counted so far. */
  reset(): void;
  /** Serves `file` with ETag `etag` from now on (a new version of the file). */
  replace(file: Uint8Array, etag?: string): void;
  /** Stops the server. */
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

/** Serves `file` on 127.0.0.1 on a free port. */
export function startWeightServer(
  served: Uint8Array,
  options: WeightServerOptions = {},
): WeightServer {
  let file = served;
  const requests: SeenRequest[] = [];
  let bytesSent = 0;
  let dropAt = options.dropAt;
  let etag = options.etag;

  const handler = (request: Request): Response => {
    const path = new URL(request.url).pathname;
    const range = request.headers.get("range") ?? undefined;
    const answer = (status: number, body: BodyInit | null, headers: HeadersInit = {}) => {
      requests.push({ path, range, status });
      return new Response(body, { status, headers });
    };
    if (options.status) return answer(options.status, "nope");
    if (path !== "/model.safetensors") return answer(404, "not found");
    let start = 0;
    let end = file.byteLength;
    let status = 200;
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (etag) headers.etag = etag;
    const m = range?.match(/^bytes=(\d+)-(\d*)$/);
    if (options.ranges !== false && m) {
      start = +m[1];
      end = m[2] ? Math.min(+m[2] + 1, file.byteLength) : file.byteLength;
      if (start >= file.byteLength) {
        return answer(416, null, { "content-range": `bytes */${file.byteLength}` });
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${end - 1}/${file.byteLength}`;
    }
    // The declared length stays whole, so a cut body reads as a dropped connection.
    headers["content-length"] = String(end - start);
    let cut = end;
    if (dropAt !== undefined && start <= dropAt && dropAt < end) {
      cut = dropAt;
      dropAt = undefined;
    }
    let at = start;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= cut) return controller.close();
        const next = Math.min(at + CHUNK, cut);
        controller.enqueue(file.slice(at, next));
        bytesSent += next - at;
        at = next;
      },
    });
    return answer(status, body, headers);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    url: `${origin}/model.safetensors`,
    origin,
    requests,
    get bytesSent() {
      return bytesSent;
    },
    reset() {
      requests.length = 0;
      bytesSent = 0;
    },
    replace(next, nextEtag) {
      file = next;
      etag = nextEtag;
    },
    close: () => server.shutdown(),
  };
}
