/**
 * The session contract every backend fulfils: float32 feeds in, float32
 * outputs out, by name.
 *
 * @module
 */

import type { ValueSpec } from "../graph/onnx.ts";
import { formatShape, sizeOf } from "../graph/expr.ts";

/** The execution backends a compiled graph can run on. */
export type BackendName = "wasm" | "webgpu" | "native";

/** A backend, or `auto` to pick the fastest one available. */
export type BackendChoice = BackendName | "auto";

/** The backends in the order the CLI and docs list them. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "webgpu", "native", "wasm"];

/** Named float32 tensors, row-major. */
export type Feeds = Readonly<Record<string, Float32Array>>;

/** A compiled graph loaded on a backend, ready to run many times. */
export interface Session {
  /** The backend it runs on. */
  readonly backend: BackendName;
  /** A short description of the device (e.g. the WebGPU adapter or thread count). */
  readonly device: string;
  /** The graph's inputs. */
  readonly inputs: readonly ValueSpec[];
  /** The graph's outputs. */
  readonly outputs: readonly ValueSpec[];
  /** Runs the graph once. Every input must be fed, with exactly its shape's size. */
  run(feeds: Feeds): Promise<Record<string, Float32Array>>;
  /** Frees the session's memory; it cannot run afterwards. */
  release(): Promise<void>;
}

/** Thrown when a backend cannot be loaded or cannot run a graph. */
export class BackendError extends Error {
  /** Creates the error; `message` says which backend failed and what to do. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendError";
  }
}

/** Checks feeds against a graph's inputs; throws a message naming the input at fault. */
export function checkFeeds(inputs: readonly ValueSpec[], feeds: Feeds): void {
  for (const spec of inputs) {
    const data = feeds[spec.name];
    if (!(data instanceof Float32Array)) {
      throw new TypeError(
        `run: input "${spec.name}" ${formatShape(spec.shape)} is missing (give a Float32Array)`,
      );
    }
    if (data.length !== sizeOf(spec.shape)) {
      throw new TypeError(
        `run: input "${spec.name}" has ${data.length} values, its shape ` +
          `${formatShape(spec.shape)} needs ${sizeOf(spec.shape)}`,
      );
    }
  }
  for (const name of Object.keys(feeds)) {
    if (!inputs.some((i) => i.name === name)) {
      throw new TypeError(
        `run: "${name}" is not an input of this graph (inputs: ${
          inputs.map((i) => i.name).join(", ") || "none"
        })`,
      );
    }
  }
}
