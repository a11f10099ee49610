/**
 * Import first in tests that touch WebGPU, so the Vulkan loader does not print
 * a warning for every adapter request (see cli/runtime_dir.ts).
 *
 * @module
 */

import { ensureRuntimeDir } from "../../cli/runtime_dir.ts";

ensureRuntimeDir();
