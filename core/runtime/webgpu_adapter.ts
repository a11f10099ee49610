/**
 * Finds a WebGPU adapter and tells a hardware GPU from a software one
 * (llvmpipe/lavapipe, SwiftShader, WARP…), which runs graphs about 100× slower
 * than a CPU backend and must never be picked automatically.
 *
 * @module
 */

/** A WebGPU adapter and what is known about it. */
export interface AdapterInfo {
  /** The adapter, to hand to the WebGPU backend. */
  readonly adapter: unknown;
  /** True for a software (CPU-emulated) adapter. */
  readonly software: boolean;
  /** Vendor, architecture and description in one line. */
  readonly description: string;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render|warp/i;

interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
}

/** Tells a software adapter from its info fields. */
export function isSoftwareAdapter(
  info: Readonly<Record<string, unknown>>,
  fallback = false,
): boolean {
  if (fallback || info.isFallbackAdapter === true) return true;
  const text = ["vendor", "architecture", "device", "description"]
    .map((k) => String(info[k] ?? "")).join(" ");
  return SOFTWARE.test(text);
}

/**
 * The best WebGPU adapter of this runtime, or undefined when WebGPU is absent
 * or no adapter exists. Never throws.
 */
export async function findWebGpuAdapter(): Promise<AdapterInfo | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return undefined;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) return undefined;
    const info = adapter.info ?? {};
    const parts = ["vendor", "architecture", "description"]
      .map((k) => String(info[k] ?? "").trim()).filter(Boolean);
    return {
      adapter,
      software: isSoftwareAdapter(info, adapter.isFallbackAdapter === true),
      description: parts.join(" ") || "unknown adapter",
    };
  } catch {
    return undefined;
  }
}
