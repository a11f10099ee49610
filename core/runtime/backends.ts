/**
 * The three backends and the automatic choice between them:
 *
 * - `wasm`: onnxruntime-web's WebAssembly (SIMD) CPU provider, multi-threaded;
 * - `webgpu`: onnxruntime-web's WebGPU provider;
 * - `native`: onnxruntime-node, for Deno and Node callers (an optional
 *   dependency, loaded only when asked for).
 *
 * `auto` takes native where it loads (Deno, Node), else a hardware WebGPU
 * adapter (browsers with a GPU), else wasm, and says what it chose (and why,
 * when it passed native over).
 * Native comes first because it was faster even against an H100: there,
 * onnxruntime-web's WebGPU kernels took 634 ms per Inception evaluation at
 * 512² against 180 ms on 16 CPU threads (bench/gpu.sh, docs/design_notes.md).
 *
 * @module
 */

import type { OnnxGraph } from "../graph/onnx.ts";
import { createOrtSession, firstLine, type OrtApi } from "./ort_session.ts";
import { type BackendChoice, BackendError, type BackendName, type Session } from "./session.ts";
import { findWebGpuAdapter } from "./webgpu_adapter.ts";
import { sharedMemoryMayRace, withFullSizeSharedMemory } from "./shared_memory.ts";

/** Options of {@linkcode createSession}. */
export interface SessionOptions {
  /** Which backend (default `auto`). */
  backend?: BackendChoice;
  /**
   * CPU threads for wasm and native (default: all cores). The wasm runtime
   * fixes its thread count when its first session is created.
   */
  threads?: number;
  /** Receives one-line notices: the backend chosen, fallbacks. */
  onNotice?: (message: string) => void;
}

interface OrtEnv {
  env: {
    logLevel?: string;
    wasm: { numThreads?: number };
    webgpu: { adapter?: unknown };
    versions?: Record<string, string>;
  };
}

type OrtModule = OrtApi & OrtEnv;

function defaultThreads(): number {
  const n = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)
    ?.hardwareConcurrency;
  return Number.isInteger(n) && n! > 0 ? n! : 1;
}

function checkThreads(threads: number | undefined): number {
  const t = threads ?? defaultThreads();
  if (!Number.isInteger(t) || t < 1 || t > 256) {
    throw new RangeError(`threads ${threads} must be an integer from 1 to 256`);
  }
  return t;
}

// Outside browsers, "onnxruntime-web" resolves to its Node build (CPU, threads
// through worker_threads); the WebGPU build must be imported by its subpath and
// can only run its CPU part on one thread there. In a browser bundle both
// names may point to the same module.
let wasmModule: Promise<OrtModule> | undefined;
let webgpuModule: Promise<OrtModule> | undefined;
let wasmThreads: number | undefined;

async function loadWasm(threads: number, notice: (m: string) => void): Promise<OrtModule> {
  wasmModule ??= import("onnxruntime-web") as Promise<unknown> as Promise<OrtModule>;
  const ort = await wasmModule;
  if (wasmThreads === undefined) {
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = "error";
    wasmThreads = threads;
  } else if (wasmThreads !== threads) {
    notice(`wasm: keeping ${wasmThreads} thread(s); the count is fixed by the first session`);
  }
  return ort;
}

async function loadWebGpu(): Promise<OrtModule> {
  webgpuModule ??= (import("onnxruntime-web/webgpu") as Promise<unknown> as Promise<OrtModule>)
    .then((ort) => {
      ort.env.logLevel = "error";
      return ort;
    });
  return await webgpuModule;
}

let nativeModule: Promise<OrtModule> | undefined;

/**
 * Loads onnxruntime-node, or throws a {@linkcode BackendError} saying why it is
 * unavailable. The specifier is a variable so that bundlers leave it out.
 */
export async function loadNative(): Promise<OrtModule> {
  const specifier = "onnxruntime-node";
  nativeModule ??= import(specifier).then((m) => (m.default?.InferenceSession ? m.default : m));
  try {
    return await nativeModule;
  } catch (e) {
    nativeModule = undefined;
    throw new BackendError(
      `native: onnxruntime-node is not available (${firstLine(e)}); install it ` +
        `(npm i onnxruntime-node) or choose --backend wasm`,
      { cause: e },
    );
  }
}

let wasmRuntimeStarted = false;

async function wasmSession(graph: OnnxGraph, threads: number, notice: (m: string) => void) {
  const ort = await loadWasm(threads, notice);
  const create = () =>
    createOrtSession(ort, graph, {
      backend: "wasm",
      device: `WebAssembly SIMD, ${wasmThreads} thread(s)`,
      sessionOptions: { executionProviders: ["wasm"] },
    });
  // The first session instantiates the runtime and its shared memory.
  if (wasmRuntimeStarted || wasmThreads === 1 || !sharedMemoryMayRace()) return await create();
  const session = await withFullSizeSharedMemory(create);
  wasmRuntimeStarted = true;
  return session;
}

async function nativeSession(graph: OnnxGraph, threads: number) {
  const ort = await loadNative();
  return createOrtSession(ort, graph, {
    backend: "native",
    device: `onnxruntime-node CPU, ${threads} thread(s)`,
    sessionOptions: {
      executionProviders: ["cpu"],
      intraOpNumThreads: threads,
      // Without the arena, a run's buffers go back when it ends: many sessions (one
      // per tile shape) then hold only the weights, not each its own peak.
      enableCpuMemArena: false,
      interOpNumThreads: 1,
    },
  });
}

/**
 * The onnxruntime session options of the webgpu backend (also used by
 * tests/webgpu_placement_test.ts, which checks that no node falls back to the
 * CPU). onnxruntime 1.30's WebGPU NHWC kernels mis-compute some convolutions
 * (e.g. 6 → 8 channels, and grouped transposed convolutions with one output
 * channel per group); the NCHW kernels are right. See tests/runtime_test.ts.
 */
export const WEBGPU_SESSION_OPTIONS: Readonly<Record<string, unknown>> = {
  executionProviders: [{ name: "webgpu", preferredLayout: "NCHW" }],
};

async function webgpuSession(graph: OnnxGraph, adapter: unknown, description: string) {
  const ort = await loadWebGpu();
  ort.env.webgpu.adapter ??= adapter;
  return createOrtSession(ort, graph, {
    backend: "webgpu",
    device: `WebGPU ${description}`,
    sessionOptions: { ...WEBGPU_SESSION_OPTIONS },
  });
}

/**
 * Loads `graph` on a backend.
 *
 * @example
 * ```ts
 * import { createSession, input, mul, toOnnx } from "../../mod.ts";
 * const x = input("x", [3]);
 * const session = await createSession(toOnnx({ y: mul(x, 2) }), { backend: "wasm" });
 * const { y } = await session.run({ x: new Float32Array([1, 2, 3]) });
 * ```
 */
export async function createSession(
  graph: OnnxGraph,
  options: SessionOptions = {},
): Promise<Session> {
  const choice = options.backend ?? "auto";
  const notice = options.onNotice ?? (() => {});
  const threads = checkThreads(options.threads);
  const chosen = (s: Session, why: string) => {
    notice(`backend: ${s.backend} (${s.device})${why ? ` — ${why}` : ""}`);
    return s;
  };
  switch (choice) {
    case "wasm":
      return chosen(await wasmSession(graph, threads, notice), "");
    case "native":
      return chosen(await nativeSession(graph, threads), "");
    case "webgpu": {
      const found = await findWebGpuAdapter();
      if (!found) {
        notice("webgpu: no WebGPU adapter here, falling back to wasm");
        return chosen(await wasmSession(graph, threads, notice), "");
      }
      const why = found.software ? "software adapter: expect it to be very slow" : "";
      return chosen(await webgpuSession(graph, found.adapter, found.description), why);
    }
    case "auto": {
      try {
        return chosen(await nativeSession(graph, threads), "");
      } catch (e) {
        if (
          !(e instanceof BackendError) || !e.message.startsWith("native: onnxruntime-node is not")
        ) {
          throw e;
        }
      }
      const found = await findWebGpuAdapter();
      if (found && !found.software) {
        return chosen(
          await webgpuSession(graph, found.adapter, found.description),
          "native unavailable; hardware GPU",
        );
      }
      const gpuWhy = found
        ? `WebGPU adapter ${found.description} is software`
        : "no WebGPU adapter";
      return chosen(await wasmSession(graph, threads, notice), `native unavailable; ${gpuWhy}`);
    }
    default:
      throw new RangeError(
        `backend "${choice}" is unknown; choose auto, webgpu, native or wasm`,
      );
  }
}

/** The backends that can run here, probed without creating a session. */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  const gpu = await findWebGpuAdapter();
  if (gpu) out.push("webgpu");
  try {
    await loadNative();
    out.push("native");
  } catch {
    // not installed or not loadable here
  }
  out.push("wasm");
  return out;
}
