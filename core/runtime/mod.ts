/**
 * Running compiled graphs: sessions on onnxruntime-web (wasm, webgpu) and
 * onnxruntime-node (native). Nothing here knows about style transfer.
 *
 * @module
 */

export {
  BACKEND_CHOICES,
  type BackendChoice,
  BackendError,
  type BackendName,
  type Feeds,
  type Session,
} from "./session.ts";
export { availableBackends, createSession, type SessionOptions } from "./backends.ts";
export { type AdapterInfo, findWebGpuAdapter, isSoftwareAdapter } from "./webgpu_adapter.ts";
