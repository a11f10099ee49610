/**
 * Prints onnxruntime's node placements for the default objective of one
 * network on the webgpu backend, at a small size (run as a child process by
 * tests/webgpu_placement_test.ts: onnxruntime-web writes its log straight to
 * stderr, where a test cannot intercept it in-process).
 *
 *     deno run -A tests/support/webgpu_placement.ts inception
 *
 * @module
 */

import "./gpu_env.ts";
import { BUILTIN_PLUGINS, loadNetwork, parseRecipe, rgbImage } from "../../mod.ts";
import { compileObjective } from "../../core/objective.ts";
import { uniform } from "../../core/random.ts";
import { WEBGPU_SESSION_OPTIONS } from "../../core/runtime/backends.ts";

const name = Deno.args[0] ?? "inception";
const size = 64;
const { recipe, uses } = parseRecipe({ network: name }, BUILTIN_PLUGINS);
const network = await loadNetwork(name, { seed: recipe.seed });
const image = rgbImage(size, size, uniform(3 * size * size, 1));
// The graph does not depend on the backend; wasm computes the style targets.
const objective = await compileObjective({
  network,
  plugins: uses,
  size: { width: size, height: size },
  content: image,
  styles: [{ image, weight: 1 }],
}, { backend: "wasm", threads: 1 });

const ort = await import("onnxruntime-web/webgpu");
ort.env.logLevel = "verbose";
const session = await ort.InferenceSession.create(objective.graph.model, {
  ...WEBGPU_SESSION_OPTIONS,
  graphOptimizationLevel: "all",
  logSeverityLevel: 0,
  logVerbosityLevel: 0,
});
await session.release();
await objective.release();
