/**
 * The Vulkan loader under WebGPU prints "XDG_RUNTIME_DIR is invalid or not
 * set" on every adapter request when that variable is missing (common in
 * containers and CI). Harmless, but it buries the CLI's output; give it a
 * private directory instead.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import process from "node:process";

/**
 * Sets XDG_RUNTIME_DIR to a private directory when it is unset (Linux only).
 * Call it before the first WebGPU adapter request.
 *
 * @example
 * ```ts
 * import { ensureRuntimeDir } from "../io.ts";
 * ensureRuntimeDir();
 * ```
 */
export function ensureRuntimeDir(): void {
  if (process.platform !== "linux" || process.env.XDG_RUNTIME_DIR) return;
  try {
    const dir = `/tmp/stylegram-runtime-${process.getuid?.() ?? "user"}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  } catch {
    // Not fatal: only the loader's warnings remain.
  }
}
