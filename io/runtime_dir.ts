/**
 * The Vulkan loader under WebGPU prints "XDG_RUNTIME_DIR is invalid or not
 * set" on every adapter request when that variable is missing (common in
 * containers and CI). Harmless, but it buries the CLI's output; give it a
 * private directory instead.
 *
 * @module
 */

/** Sets XDG_RUNTIME_DIR to a private directory when it is unset (Linux only). */
export function ensureRuntimeDir(): void {
  if (Deno.build.os !== "linux" || Deno.env.get("XDG_RUNTIME_DIR")) return;
  try {
    const uid = Deno.uid() ?? "user";
    const dir = `/tmp/stylegram-runtime-${uid}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Not fatal: only the loader's warnings remain.
  }
}
