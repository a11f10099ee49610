/**
 * Downloaded tensors in a {@linkcode WeightStore}, each as raw little-endian
 * float32 bytes under `prefix/name`, with a manifest (`prefix/manifest.json`)
 * that records where each came from and its SHA-256. Every load re-hashes the
 * bytes, so a corrupt cache is reported instead of silently used. The
 * manifest also records which download each partial value belongs to, so a
 * resume never splices bytes of another file.
 *
 * @module
 */

import type { NamedTensor } from "./description.ts";
import { decodeFloats } from "./float_decode.ts";
import { CacheError } from "./weight_errors.ts";
import type { WeightStore } from "./weight_store.ts";

/** What the manifest records about a cached tensor. */
export interface CachedTensorInfo {
  /** The file it was downloaded from. */
  url: string;
  /** Its dtype in that file (stored as float32 regardless). */
  dtype: string;
  /** Its shape. */
  shape: number[];
  /** SHA-256 of the stored float32 bytes, lowercase hex. */
  sha256: string;
}

/** The download a partial value belongs to: a file and the tensor's byte range in it. */
export interface PartialInfo {
  /** The file being downloaded. */
  url: string;
  /** First byte of the tensor in the file. */
  start: number;
  /** End of the tensor in the file (exclusive). */
  end: number;
  /** The file version's ETag, when the server sent one. */
  etag?: string;
}

interface Manifest {
  format: 1;
  tensors: Record<string, CachedTensorInfo>;
  partials: Record<string, PartialInfo>;
}

const MANIFEST = "manifest.json";

/** Tensors cached under one key prefix of a store (e.g. `vgg19`). */
export class TensorCache {
  /** The store. */
  readonly store: WeightStore;
  /** The key prefix, without a trailing `/`. */
  readonly prefix: string;
  #manifest?: Manifest;

  /** A cache of the tensors under `prefix/` in `store`. */
  constructor(store: WeightStore, prefix: string) {
    if (!prefix || prefix.startsWith("/") || prefix.endsWith("/")) {
      throw new RangeError(`TensorCache: prefix "${prefix}" must be a non-empty relative key`);
    }
    this.store = store;
    this.prefix = prefix;
  }

  /** The store key of tensor `name`. */
  key(name: string): string {
    if (name === MANIFEST) throw new RangeError(`TensorCache: "${MANIFEST}" is reserved`);
    return `${this.prefix}/${name}`;
  }

  /** Whether `name`, downloaded from `url`, is in the cache (without re-hashing it). */
  async has(name: string, url: string): Promise<boolean> {
    const info = (await this.#read()).tensors[name];
    return info?.url === url && await this.store.has(this.key(name));
  }

  /**
   * Tensor `name` as downloaded from `url`, or undefined when it is not
   * cached; throws a {@linkcode CacheError} when its bytes no longer match
   * the recorded checksum.
   */
  async load(name: string, url: string): Promise<NamedTensor | undefined> {
    const info = (await this.#read()).tensors[name];
    if (info?.url !== url) return undefined;
    const bytes = await this.store.get(this.key(name));
    if (!bytes) return undefined;
    const size = info.shape.reduce((a, b) => a * b, 1) * 4;
    if (bytes.byteLength !== size || await sha256(bytes) !== info.sha256) {
      throw new CacheError(
        `${this.store.describe(this.key(name))}: cached tensor "${name}" of ${url} is corrupt (` +
          (bytes.byteLength !== size
            ? `${bytes.byteLength} bytes instead of ${size}`
            : "its SHA-256 differs from the one recorded at download") +
          `); delete ${this.store.describe(this.prefix)} to download it again`,
      );
    }
    return { shape: info.shape, data: decodeFloats(bytes, "F32") };
  }

  /** Stores a downloaded tensor, records its checksum, and drops its partial value. */
  async save(
    name: string,
    tensor: NamedTensor,
    source: { url: string; dtype: string },
  ): Promise<void> {
    const key = this.key(name);
    const bytes = float32Bytes(tensor.data);
    const info = { ...source, shape: [...tensor.shape], sha256: await sha256(bytes) };
    // Value first, manifest second: a crash in between leaves an unlisted value, fetched again.
    await this.store.set(key, bytes);
    const manifest = await this.#read();
    manifest.tensors[name] = info;
    delete manifest.partials[name];
    await this.#write();
    await this.store.clearPartial(key);
  }

  /**
   * The bytes of an earlier, interrupted download of the same tensor range
   * of the same file (empty if none); a partial value of another download is
   * dropped. Records `partial` so later appends can be resumed.
   */
  async resume(name: string, partial: PartialInfo): Promise<Uint8Array> {
    const key = this.key(name);
    const manifest = await this.#read();
    const known = manifest.partials[name];
    const same = known?.url === partial.url && known.start === partial.start &&
      known.end === partial.end && known.etag === partial.etag;
    if (same) {
      const bytes = await this.store.getPartial(key);
      if (!bytes) return new Uint8Array(0);
      if (bytes.byteLength <= partial.end - partial.start) return bytes;
    }
    await this.store.clearPartial(key);
    manifest.partials[name] = partial;
    await this.#write();
    return new Uint8Array(0);
  }

  async #read(): Promise<Manifest> {
    if (this.#manifest) return this.#manifest;
    const key = `${this.prefix}/${MANIFEST}`;
    const bytes = await this.store.get(key);
    let manifest: Manifest = { format: 1, tensors: {}, partials: {} };
    if (bytes) {
      try {
        manifest = JSON.parse(new TextDecoder().decode(bytes));
        if (manifest.format !== 1 || !manifest.tensors || !manifest.partials) throw new Error();
      } catch {
        throw new CacheError(
          `${this.prefix} cache: the manifest ${this.store.describe(key)} is corrupt; delete ${
            this.store.describe(this.prefix)
          } to download again`,
        );
      }
    }
    return this.#manifest = manifest;
  }

  async #write(): Promise<void> {
    const text = JSON.stringify(this.#manifest, null, 1);
    await this.store.set(`${this.prefix}/${MANIFEST}`, new TextEncoder().encode(text));
  }
}

/** Lowercase hex SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Little-endian bytes of float32 values (a view on little-endian hosts). */
function float32Bytes(data: Float32Array): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] === 1) return view;
  const out = new DataView(new ArrayBuffer(data.byteLength));
  data.forEach((v, i) => out.setFloat32(i * 4, v, true));
  return new Uint8Array(out.buffer);
}
