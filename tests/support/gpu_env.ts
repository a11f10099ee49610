/**
 * Import first in tests that touch WebGPU, so the Vulkan loader does not print
 * a warning for every adapter request (see io/runtime_dir.ts).
 *
 * @module
 */

import { ensureRuntimeDir } from "../../io.ts";

ensureRuntimeDir();
