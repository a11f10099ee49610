/**
 * Chosen tensors of a remote safetensors file, through a cache. The header is
 * read with two small Range requests, then only the byte ranges of the
 * missing tensors are fetched (neighbours merged into one request). A
 * dropped connection keeps what arrived in the store's partial values and
 * resumes with a Range request from there; a server that ignores Range is
 * streamed once, keeping only the needed slices. Cached tensors are checked
 * against their recorded SHA-256 and load without touching the network.
 *
 * @module
 */

import type { NamedTensor } from "./description.ts";
import { WeightError } from "./feature_network.ts";
import {
  decodeTensor,
  FLOAT_DTYPES,
  parseSafetensorsHeader,
  readHeaderLength,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from "./safetensors.ts";
import { TensorCache } from "./tensor_cache.ts";
import { DownloadError, WeightFileError } from "./weight_errors.ts";
import { concatBytes, type WeightStore } from "./weight_store.ts";

/** Where a download stands. */
export interface DownloadProgress {
  /** Bytes of the missing tensors received so far (bytes resumed from a partial value included). */
  done: number;
  /** Bytes of the missing tensors in all (headers and skipped gaps not counted). */
  total: number;
  /** The tensor the latest bytes belong to. */
  tensor?: string;
}

/** Where downloaded tensors are cached. */
export interface RemoteCacheOptions {
  /** The store. */
  store: WeightStore;
  /** Key prefix in the store (e.g. `vgg19`): tensors go under `prefix/name`. */
  cacheKey: string;
}

/** Options of {@linkcode loadRemoteTensors}. */
export interface DownloadOptions extends RemoteCacheOptions {
  /** The fetch to use (default: the global one); tests inject their own. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Called as bytes arrive; `done` only grows and ends at `total`. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Stops the download; what arrived is kept for a later resume. */
  signal?: AbortSignal;
  /** Required shapes by tensor name, checked before any tensor byte is fetched. */
  shapes?: ReadonlyMap<string, readonly number[]>;
  /** Retries in a row that bring no new bytes before giving up (default 4). */
  retries?: number;
  /** Neighbouring tensors at most this many bytes apart share one request (default 256 KiB). */
  mergeGap?: number;
}

/** Partial values are written to the store every this many bytes. */
const FLUSH_BYTES = 1 << 20;

/**
 * The tensors `names` of the safetensors file at `url`, as float32, from the
 * cache where present and verified, else downloaded and cached.
 */
export async function loadRemoteTensors(
  url: string,
  names: readonly string[],
  options: DownloadOptions,
): Promise<Map<string, NamedTensor>> {
  const cache = new TensorCache(options.store, options.cacheKey);
  const found = new Map<string, NamedTensor>();
  const missing: string[] = [];
  for (const name of new Set(names)) {
    const tensor = await cache.load(name, url);
    if (!tensor) {
      missing.push(name);
      continue;
    }
    checkShape(url, name, tensor.shape, options.shapes);
    found.set(name, tensor);
  }
  if (missing.length) {
    for (const [name, tensor] of await new Download(url, missing, cache, options).run()) {
      found.set(name, tensor);
    }
  }
  return new Map(names.map((name) => [name, found.get(name)!]));
}

/** Whether all `names` of the file at `url` are cached (checksums are verified on load, not here). */
export async function isRemoteCached(
  url: string,
  names: readonly string[],
  options: RemoteCacheOptions,
): Promise<boolean> {
  const cache = new TensorCache(options.store, options.cacheKey);
  for (const name of names) if (!await cache.has(name, url)) return false;
  return true;
}

/** A tensor being received. */
interface Segment {
  readonly entry: SafetensorsEntry;
  /** Its bytes as they arrive; allocated on the first byte, dropped once saved. */
  bytes?: Uint8Array;
  /** Bytes received. */
  have: number;
  /** Bytes already in the store's partial value. */
  flushed: number;
  /** The decoded tensor, once complete. */
  result?: NamedTensor;
}

/** Neighbouring tensors fetched with one request. */
interface Span {
  readonly segments: Segment[];
  end: number;
}

/** An open response body and the file offset of its next byte. */
interface Body {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  /** File offset of the next byte the reader returns. */
  position: number;
  /** The server ignored Range: the body is the whole file from byte 0. */
  readonly full: boolean;
  /** The file's size (Infinity when the server did not say). */
  readonly fileSize: number;
  /** The file version's ETag, if the server sent one. */
  readonly etag?: string;
  /** The chunk the previous consumer stopped in, offered to the next one first. */
  last?: { chunk: Uint8Array; at: number };
}

const size = (s: Segment): number => s.entry.end - s.entry.start;
const complete = (s: Segment): boolean => s.have === size(s);

/** One call's download: header, plan, transfer with retries. */
class Download {
  readonly #url: string;
  readonly #names: readonly string[];
  readonly #cache: TensorCache;
  readonly #options: DownloadOptions;
  readonly #fetch: (input: string, init: RequestInit) => Promise<Response>;
  #header?: SafetensorsHeader;
  /** The ETag the header came with: a body with another one is another version of the file. */
  #etag?: string;
  #segments: Segment[] = [];
  #spans: Span[] = [];
  #body?: Body;
  #done = 0;
  #total = 0;

  constructor(url: string, names: readonly string[], cache: TensorCache, options: DownloadOptions) {
    this.#url = url;
    this.#names = names;
    this.#cache = cache;
    this.#options = options;
    // A wrapper, because calling the global fetch as a method of another object throws in browsers.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Runs to completion; returns the downloaded tensors. */
  async run(): Promise<Map<string, NamedTensor>> {
    const { retries = 4, signal } = this.#options;
    let failures = 0;
    try {
      for (;;) {
        const before = this.#done + (this.#header ? 1 : 0);
        try {
          signal?.throwIfAborted();
          if (!this.#header) await this.#readHeader();
          await this.#transfer();
          break;
        } catch (e) {
          await this.#close();
          await this.#flush();
          signal?.throwIfAborted();
          if (!(e instanceof DownloadError && e.retryable)) throw e;
          const progressed = this.#done + (this.#header ? 1 : 0) > before;
          failures = progressed ? 0 : failures + 1;
          if (failures > retries) {
            throw new DownloadError(`${e.message} (gave up after ${failures} tries)`, { cause: e });
          }
          await sleep(progressed ? 0 : 250 * 2 ** (failures - 1), signal);
        }
      }
    } finally {
      await this.#close();
    }
    return new Map(this.#segments.map((s) => [s.entry.name, s.result!]));
  }

  /** Reads and validates the header, then plans the transfer. */
  async #readHeader(): Promise<void> {
    const source = this.#url;
    let body = await this.#open(0, 8);
    if (body.fileSize < 8) {
      throw new WeightFileError(`${source}: not a safetensors file (only ${body.fileSize} bytes)`);
    }
    const prefix = await this.#read(body, 0, 8);
    const length = readHeaderLength(prefix, { source, fileSize: body.fileSize });
    if (!body.full) {
      await this.#close();
      body = await this.#open(8, 8 + length);
    }
    const json = await this.#read(body, 8, 8 + length);
    if (!body.full) await this.#close(); // a full body goes on serving the tensors
    this.#etag = body.etag;
    const header = parseSafetensorsHeader(concatBytes([prefix, json]), {
      source,
      fileSize: body.fileSize,
    });
    await this.#plan(header);
    this.#header = header;
  }

  /** Checks the wanted tensors, picks up partial values, groups neighbours into spans. */
  async #plan(header: SafetensorsHeader): Promise<void> {
    const url = this.#url;
    for (const name of this.#names) {
      const entry = header.tensors.get(name);
      if (!entry) {
        const has = [...header.tensors.keys()];
        throw new WeightFileError(
          `${url}: no tensor "${name}" (has ${has.length}: ${has.slice(0, 6).join(", ")}${
            has.length > 6 ? ", …" : ""
          })`,
        );
      }
      if (!(FLOAT_DTYPES as readonly string[]).includes(entry.dtype)) {
        throw new WeightFileError(
          `${url}: tensor "${name}" has dtype ${entry.dtype}, expected ${FLOAT_DTYPES.join("/")}`,
        );
      }
      checkShape(url, name, entry.shape, this.#options.shapes);
      this.#segments.push({ entry, have: 0, flushed: 0 });
    }
    this.#segments.sort((a, b) => a.entry.start - b.entry.start);
    for (const s of this.#segments) {
      const { start, end } = s.entry;
      const partial = await this.#cache.resume(s.entry.name, { url, start, end, etag: this.#etag });
      if (partial.byteLength) {
        s.bytes = new Uint8Array(size(s));
        s.bytes.set(partial);
        s.have = s.flushed = partial.byteLength;
      }
      this.#total += size(s);
      this.#done += s.have;
    }
    this.#options.onProgress?.({ done: this.#done, total: this.#total });
    const gap = this.#options.mergeGap ?? 256 * 1024;
    for (const s of this.#segments) {
      if (complete(s)) {
        await this.#persist(s); // empty tensors, or a partial value that was already whole
        continue;
      }
      const last = this.#spans.at(-1);
      if (last && s.entry.start - last.end <= gap) {
        last.segments.push(s);
        last.end = s.entry.end;
      } else {
        this.#spans.push({ segments: [s], end: s.entry.end });
      }
    }
  }

  /** Fetches span after span (or everything from one full body) until every tensor is saved. */
  async #transfer(): Promise<void> {
    for (;;) {
      const next = this.#segments.find((s) => !complete(s));
      if (!next) return;
      const from = next.entry.start + next.have;
      const span = this.#spans.find((r) => r.segments.includes(next))!;
      const body = this.#body ?? await this.#open(from, span.end);
      if (this.#etag && body.etag && body.etag !== this.#etag) {
        throw new DownloadError(
          `${this.#url}: the file changed on the server during the download (ETag ${this.#etag} → ` +
            `${body.etag}); try again`,
        );
      }
      const wanted = body.full ? this.#segments : span.segments;
      const finished = await this.#feed(body, async (chunk, at) => {
        for (const s of wanted) {
          const copied = absorb(s, chunk, at);
          if (!copied) continue;
          this.#done += copied;
          this.#options.onProgress?.({
            done: this.#done,
            total: this.#total,
            tensor: s.entry.name,
          });
          await this.#persist(s);
        }
        return wanted.every(complete);
      });
      if (!finished) throw this.#closedEarly(body);
      await this.#close();
    }
  }

  /** Saves a complete tensor; writes a long-enough unsaved run of a partial one. */
  async #persist(s: Segment): Promise<void> {
    if (complete(s)) {
      const tensor = decodeTensor(s.entry, s.bytes ?? new Uint8Array(0), { source: this.#url });
      await this.#cache.save(s.entry.name, tensor, { url: this.#url, dtype: s.entry.dtype });
      s.result = tensor;
      s.bytes = undefined;
    } else if (s.have - s.flushed >= FLUSH_BYTES) {
      await this.#flushSegment(s);
    }
  }

  /** Writes every unsaved received byte to the partial values (after an error or abort). */
  async #flush(): Promise<void> {
    for (const s of this.#segments) {
      if (!complete(s) && s.have > s.flushed) await this.#flushSegment(s);
    }
  }

  async #flushSegment(s: Segment): Promise<void> {
    await this.#cache.store.appendPartial(
      this.#cache.key(s.entry.name),
      s.bytes!.subarray(s.flushed, s.have),
    );
    s.flushed = s.have;
  }

  /** Requests bytes [start, end) of the file. */
  async #open(start: number, end: number): Promise<Body> {
    const url = this.#url;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: { range: `bytes=${start}-${end - 1}`, "accept-encoding": "identity" },
        signal: this.#options.signal,
      });
    } catch (e) {
      this.#options.signal?.throwIfAborted();
      throw new DownloadError(`${url}: ${firstLine(e)}`, { retryable: true, cause: e });
    }
    const reader = response.body?.getReader();
    const etag = response.headers.get("etag") ?? undefined;
    if (response.status === 206 && reader) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (range?.start !== start) {
        await reader.cancel().catch(() => {});
        throw new DownloadError(
          `${url}: asked for bytes ${start}-${end - 1}, the server sent ${
            response.headers.get("content-range") ?? "no Content-Range"
          }`,
        );
      }
      return this.#body = { reader, position: start, full: false, fileSize: range.size, etag };
    }
    if (response.status === 200 && reader) {
      // Without Range support the whole file comes; its length is known unless it is compressed.
      const length = response.headers.get("content-length");
      const plain = !response.headers.get("content-encoding") && length !== null;
      const fileSize = plain ? +length : Infinity;
      return this.#body = { reader, position: 0, full: true, fileSize, etag };
    }
    await reader?.cancel().catch(() => {});
    if (response.status === 416) {
      throw new WeightFileError(`${url}: truncated: the file ends before byte ${end} (HTTP 416)`);
    }
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    const retryable = response.status >= 500 || response.status === 408 ||
      response.status === 429;
    throw new DownloadError(`${url}: HTTP ${status}`, { retryable });
  }

  /** Bytes [start, end) from `body`. */
  async #read(body: Body, start: number, end: number): Promise<Uint8Array> {
    const span: Segment = {
      entry: { name: "header", dtype: "U8", shape: [end - start], start, end },
      have: 0,
      flushed: 0,
    };
    const finished = await this.#feed(body, (chunk, at) => {
      absorb(span, chunk, at);
      return complete(span);
    });
    if (!finished) throw this.#closedEarly(body);
    return span.bytes!;
  }

  /**
   * Hands `body`'s chunks with their file offsets to `take` until it reports
   * done (true) or the body ends (false). The chunk it stopped in is offered
   * again to the next consumer, which takes only the bytes it still needs.
   */
  async #feed(
    body: Body,
    take: (chunk: Uint8Array, at: number) => boolean | Promise<boolean>,
  ): Promise<boolean> {
    for (;;) {
      let piece = body.last;
      body.last = undefined;
      if (!piece) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await body.reader.read();
        } catch (e) {
          this.#options.signal?.throwIfAborted();
          throw new DownloadError(
            `${this.#url}: connection lost at byte ${body.position} (${firstLine(e)})`,
            { retryable: true, cause: e },
          );
        }
        if (result.done) return false;
        piece = { chunk: result.value, at: body.position };
        body.position += result.value.byteLength;
      }
      if (await take(piece.chunk, piece.at)) {
        body.last = piece;
        return true;
      }
    }
  }

  /** A body ended too soon: the file is short, or (retryably) the connection dropped. */
  #closedEarly(body: Body): Error {
    if (body.position >= body.fileSize) {
      return new WeightFileError(`${this.#url}: truncated: the file ends at byte ${body.position}`);
    }
    const of = Number.isFinite(body.fileSize) ? ` of ${body.fileSize}` : "";
    return new DownloadError(
      `${this.#url}: truncated: the response ended at byte ${body.position}${of}`,
      { retryable: true },
    );
  }

  async #close(): Promise<void> {
    const body = this.#body;
    this.#body = undefined;
    await body?.reader.cancel().catch(() => {});
  }
}

/** Copies the bytes of `chunk` (at file offset `at`) that `s` needs next; returns how many. */
function absorb(s: Segment, chunk: Uint8Array, at: number): number {
  const from = s.entry.start + s.have;
  const to = Math.min(s.entry.end, at + chunk.byteLength);
  if (from < at || from >= to) return 0;
  s.bytes ??= new Uint8Array(size(s));
  s.bytes.set(chunk.subarray(from - at, to - at), s.have);
  s.have += to - from;
  return to - from;
}

function checkShape(
  url: string,
  name: string,
  shape: readonly number[],
  shapes: ReadonlyMap<string, readonly number[]> | undefined,
): void {
  const expected = shapes?.get(name);
  if (expected && (expected.length !== shape.length || expected.some((d, i) => d !== shape[i]))) {
    throw new WeightError(
      `${url}: tensor "${name}" has shape [${shape.join(",")}], expected [${expected.join(",")}]`,
    );
  }
}

/** `bytes 0-7/1234` → start and size (Infinity for `*`). */
function parseContentRange(header: string | null): { start: number; size: number } | undefined {
  const m = header?.match(/^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i);
  return m ? { start: +m[1], size: m[3] === "*" ? Infinity : +m[3] } : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
