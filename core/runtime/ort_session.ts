/**
 * A {@linkcode Session} over any ONNX Runtime JavaScript API (onnxruntime-web
 * and onnxruntime-node share the onnxruntime-common interface).
 *
 * @module
 */

import type { OnnxGraph } from "../graph/onnx.ts";
import { BackendError, type BackendName, checkFeeds, type Feeds, type Session } from "./session.ts";

/** The part of onnxruntime-common's API that sessions use. */
export interface OrtApi {
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtInferenceSession>;
  };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensor;
}

/** An onnxruntime tensor, as far as sessions read it. */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  getData?(): Promise<unknown>;
  dispose?(): void;
}

interface OrtInferenceSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** Options for {@linkcode createOrtSession}. */
export interface OrtSessionOptions {
  /** The backend name the session reports. */
  backend: BackendName;
  /** The device description the session reports. */
  device: string;
  /** onnxruntime session options (execution providers, threads…). */
  sessionOptions: Record<string, unknown>;
}

/** Creates a session for `graph` with the onnxruntime module `ort`. */
export async function createOrtSession(
  ort: OrtApi,
  graph: OnnxGraph,
  options: OrtSessionOptions,
): Promise<Session> {
  let inner: OrtInferenceSession;
  try {
    inner = await ort.InferenceSession.create(graph.model, {
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
      ...options.sessionOptions,
    });
  } catch (e) {
    throw new BackendError(
      `${options.backend}: onnxruntime could not load the graph: ${firstLine(e)}`,
      { cause: e },
    );
  }
  let released = false;
  return {
    backend: options.backend,
    device: options.device,
    inputs: graph.inputs,
    outputs: graph.outputs,
    async run(feeds: Feeds) {
      if (released) throw new BackendError(`${options.backend}: the session was released`);
      checkFeeds(graph.inputs, feeds);
      const tensors: Record<string, OrtTensor> = {};
      for (const spec of graph.inputs) {
        tensors[spec.name] = new ort.Tensor("float32", feeds[spec.name], spec.shape);
      }
      let results: Record<string, OrtTensor>;
      try {
        results = await inner.run(tensors);
      } catch (e) {
        throw new BackendError(`${options.backend}: running the graph failed: ${firstLine(e)}`, {
          cause: e,
        });
      }
      const out: Record<string, Float32Array> = {};
      for (const spec of graph.outputs) {
        const t = results[spec.name];
        const data = t.getData ? await t.getData() : t.data;
        // Copy out of runtime-owned memory before the tensor is disposed.
        out[spec.name] = new Float32Array(data as Float32Array);
        t.dispose?.();
      }
      return out;
    },
    async release() {
      if (released) return;
      released = true;
      await inner.release();
    },
  };
}

/** The first line of an error's message, for one-line reports. */
export function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0].trim();
}
