/**
 * Where downloaded weights are kept: a byte cache keyed by strings such as
 * `vgg19/features.0.weight`. Besides whole values it holds one *partial*
 * value per key, the bytes of a download in progress, so an interrupted
 * download resumes where it stopped. The CLI keeps it in files
 * (`io/file_store.ts`); {@linkcode MemoryStore} serves tests and browsers
 * without persistent storage.
 *
 * @module
 */

/** A byte cache with resumable partial values. Keys are `/`-separated names. */
export interface WeightStore {
  /** The value under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Whether `key` has a value (without reading it). */
  has(key: string): Promise<boolean>;
  /** Stores `value` atomically: readers see the old value or the new one, never a mix. */
  set(key: string, value: Uint8Array): Promise<void>;
  /** Removes the value and any partial value under `key`. */
  delete(key: string): Promise<void>;
  /** The partial value under `key` (bytes of an unfinished download), or undefined. */
  getPartial(key: string): Promise<Uint8Array | undefined>;
  /** Appends `chunk` to the partial value under `key`. */
  appendPartial(key: string, chunk: Uint8Array): Promise<void>;
  /** Drops the partial value under `key`. */
  clearPartial(key: string): Promise<void>;
  /** Where `key` lives, for messages (a file path, `memory:key`). */
  describe(key: string): string;
}

/** A {@linkcode WeightStore} in memory; values are copied in and out. */
export class MemoryStore implements WeightStore {
  readonly #values = new Map<string, Uint8Array>();
  readonly #partials = new Map<string, Uint8Array[]>();

  /** The value under `key` (a copy), or undefined. */
  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(copy(this.#values.get(key)));
  }

  /** Whether `key` has a value. */
  has(key: string): Promise<boolean> {
    return Promise.resolve(this.#values.has(key));
  }

  /** Stores a copy of `value`. */
  set(key: string, value: Uint8Array): Promise<void> {
    this.#values.set(key, new Uint8Array(value));
    return Promise.resolve();
  }

  /** Removes the value and the partial value. */
  delete(key: string): Promise<void> {
    this.#values.delete(key);
    this.#partials.delete(key);
    return Promise.resolve();
  }

  /** The partial value (a copy), or undefined. */
  getPartial(key: string): Promise<Uint8Array | undefined> {
    const chunks = this.#partials.get(key);
    return Promise.resolve(chunks && concatBytes(chunks));
  }

  /** Appends a copy of `chunk` to the partial value. */
  appendPartial(key: string, chunk: Uint8Array): Promise<void> {
    const chunks = this.#partials.get(key) ?? [];
    chunks.push(new Uint8Array(chunk));
    this.#partials.set(key, chunks);
    return Promise.resolve();
  }

  /** Drops the partial value. */
  clearPartial(key: string): Promise<void> {
    this.#partials.delete(key);
    return Promise.resolve();
  }

  /** `memory:key`. */
  describe(key: string): string {
    return `memory:${key}`;
  }
}

/** The concatenation of `chunks` in a new array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

// `new Uint8Array(x)` always copies; Node's Buffer#slice would return a view.
const copy = (bytes?: Uint8Array): Uint8Array | undefined => bytes && new Uint8Array(bytes);
