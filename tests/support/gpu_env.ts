/**
 * Import first in tests that touch WebGPU: the Vulkan loader prints an error
 * for every adapter request when XDG_RUNTIME_DIR is unset (harmless, but it
 * buries the test output).
 *
 * @module
 */

if (!Deno.env.get("XDG_RUNTIME_DIR")) {
  Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ prefix: "xdg-" }));
}
