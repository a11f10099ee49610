/**
 * Times stylegram's full objective (the recipe's costs on a real network,
 * forward + backward) on one backend and prints one JSON line. Reads the
 * same input bundle as the PyTorch reference (`bench/reference/inputs.ts`),
 * so both evaluate the same pixels: the final scale's content and style
 * images, at the bundle's starting image. Run in a fresh process per
 * configuration by the iteration suite (the wasm runtime fixes its thread
 * count once per process).
 *
 *     deno run -A bench/objective_speed.ts --network inception --inputs B.safetensors \
 *       --backend native --threads 2 --iterations 5 [--dump gradient.safetensors]
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type BackendChoice,
  BUILTIN_PLUGINS,
  loadNetwork,
  parseRecipe,
  type RgbImage,
  rgbImage,
} from "../mod.ts";
import { parseSafetensorsHeader, readSafetensors } from "../core/network/safetensors.ts";
import { compileObjective } from "../core/objective.ts";
import { ensureRuntimeDir } from "../io.ts";
import { encodeSafetensors } from "./reference/safetensors_write.ts";

ensureRuntimeDir();

const { values } = parseArgs({
  options: {
    network: { type: "string", default: "inception" },
    inputs: { type: "string" },
    backend: { type: "string", default: "native" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    iterations: { type: "string", default: "5" },
    dump: { type: "string" },
  },
});
if (!values.inputs) throw new Error("--inputs BUNDLE is required (see bench/reference/inputs.ts)");

const bytes = await Deno.readFile(values.inputs);
const bundle = JSON.parse(parseSafetensorsHeader(bytes).metadata.bundle);
const tensors = readSafetensors(bytes);
const image = (name: string): RgbImage => {
  const t = tensors.get(name)!;
  return rgbImage(t.shape[3], t.shape[2], t.data);
};
const last = bundle.scales.length - 1;
if (last !== 0) throw new Error("objective_speed: give a one-scale bundle");
const size = bundle.scales[last];
const { recipe, uses } = parseRecipe(bundle.recipe, BUILTIN_PLUGINS);
const network = await loadNetwork(values.network, { seed: recipe.seed });

const t0 = performance.now();
const objective = await compileObjective({
  network,
  pooling: recipe.pooling === "auto" ? undefined : recipe.pooling,
  plugins: uses,
  size,
  content: tensors.has(`content_s${last}`) ? image(`content_s${last}`) : undefined,
  // Already at their reference sizes: the compiler's resize leaves them as they are.
  styles: Array.from({ length: bundle.styles }, (_, j) => ({
    image: image(`style${j}_s${last}`),
    weight: recipe.styleWeights[j] ?? 1,
  })),
}, { backend: values.backend as BackendChoice, threads: Number(values.threads) });
const compileMs = performance.now() - t0;
const start = tensors.get("init")!.data;

// The first evaluation is the warm-up (allocations, kernel selection) and the one compared.
const first = await objective.evaluate(start);
if (values.dump) {
  await Deno.writeFile(
    values.dump,
    encodeSafetensors(
      { gradient: { shape: [1, 3, size.height, size.width], data: first.gradient } },
      { result: JSON.stringify({ total: first.total, terms: first.terms }) },
    ),
  );
}
const times: number[] = [];
for (let i = 0; i < Number(values.iterations); i++) {
  const t = performance.now();
  await objective.evaluate(start);
  times.push(performance.now() - t);
}
await objective.release();
const sorted = [...times].sort((a, b) => a - b);
const mid = sorted.length >> 1;
console.log(JSON.stringify({
  backend: objective.session.backend,
  device: objective.session.device,
  threads: Number(values.threads),
  size: Math.max(size.width, size.height),
  medianMs: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
  minMs: sorted[0],
  times,
  compileMs,
  total: first.total,
  terms: first.terms,
  nodes: objective.graph.nodeCount,
}));
