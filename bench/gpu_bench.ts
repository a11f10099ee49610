/**
 * GPU benchmark, run by `bench/gpu.sh` once the Vulkan loader and the NVIDIA
 * driver are set up: ms per evaluation of the full objective on Deno's
 * WebGPU (onnxruntime-web's webgpu backend on the GPU) next to native CPU
 * (all threads) measured in the same run, and PyTorch on CUDA when a Python
 * with a CUDA build of torch is given (`STYLEGRAM_REFERENCE_PYTHON`).
 * Refuses to measure a software adapter (llvmpipe, SwiftShader…).
 *
 *     deno run -A bench/gpu_bench.ts --sizes 512,1024 --networks random,inception
 *
 * @module
 */

import { parseArgs } from "node:util";
import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";
import { ensureRuntimeDir, readImage } from "../io.ts";
import { type Config, measureConfig, prepareSquare, type Sample } from "./iteration_suite.ts";
import { fixed, median, printTable, RESULTS_DIR, ROOT, stamp } from "./measure.ts";

ensureRuntimeDir();

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "512,1024" },
    networks: { type: "string", default: "random,inception" },
    evaluations: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
    "torch-cuda": { type: "boolean", default: false },
    // For trying the script where only a software adapter exists (tiny sizes!).
    "allow-software": { type: "boolean", default: false },
  },
});
const sizes = values.sizes.split(",").map(Number);
const networks = values.networks.split(",").map((s) => s.trim());
const evaluations = Number(values.evaluations);
const rounds = Number(values.rounds);
const cores = navigator.hardwareConcurrency;

const adapter = await findWebGpuAdapter();
if (!adapter) {
  console.error("gpu bench: Deno finds no WebGPU adapter (is the Vulkan ICD set up? see gpu.sh)");
  Deno.exit(3);
}
if (adapter.software && !values["allow-software"]) {
  console.error(`gpu bench: the adapter is software (${adapter.description}); not measuring`);
  Deno.exit(3);
}
console.log(`WebGPU adapter: ${adapter.description}`);
console.log(
  `ms per evaluation of the full default objective (forward + backward), square images, ` +
    `median of ${rounds} round(s) × ${evaluations} evaluations, configurations interleaved`,
);

const configs: Config[] = [
  { engine: "webgpu", threads: 1 },
  { engine: "native", threads: cores },
  ...(values["torch-cuda"] ? [{ engine: "pytorch", threads: cores, device: "cuda" }] : []),
];
/** The engine as the table names it (with the torch device, if any). */
const label = (c: Config): string => c.device ? `${c.engine} ${c.device}` : c.engine;
const images = {
  content: await readImage(`${ROOT}examples/cat.jpg`),
  style: await readImage(`${ROOT}examples/kandinsky.jpg`),
};
const rows: Record<string, unknown>[] = [];
const table: string[][] = [];
for (const network of networks) {
  for (const size of sizes) {
    const files = await prepareSquare(network, size, images);
    const samples = new Map<Config, Sample[]>(configs.map((c) => [c, []]));
    const failed = new Map<Config, string>();
    for (let r = 0; r < rounds; r++) {
      for (const config of r % 2 ? [...configs].reverse() : configs) {
        if (failed.has(config)) continue;
        const s = await measureConfig(config, files, { network, evaluations });
        if (typeof s === "string") failed.set(config, s);
        else samples.get(config)!.push(s);
        // Progress as it goes: a run cut short by a time limit still reports what it measured.
        const result = typeof s === "string"
          ? `failed: ${s}`
          : `${s.times.map((t) => fixed(t, 1)).join(" ")} ms`;
        console.error(`gpu bench: ${network} ${size}² ${label(config)} round ${r + 1}: ${result}`);
      }
    }
    const ms = (c: Config) => median(samples.get(c)!.flatMap((s) => s.times));
    const native = ms(configs[1]);
    for (const config of configs) {
      if (failed.has(config)) {
        table.push([network, `${size}²`, label(config), `failed: ${failed.get(config)}`]);
        continue;
      }
      const m = ms(config);
      rows.push({ network, size, engine: label(config), threads: config.threads, medianMs: m });
      table.push([
        network,
        `${size}²`,
        label(config),
        String(config.threads),
        fixed(m, 1),
        `${fixed(native / m, 2)}×`,
        samples.get(config)![0].device,
      ]);
    }
  }
}
printTable(
  ["network", "size", "engine", "threads", "median ms", "speed-up vs native", "device"],
  table,
);
await Deno.mkdir(RESULTS_DIR, { recursive: true });
const file = `${RESULTS_DIR}gpu_${stamp()}.json`;
await Deno.writeTextFile(
  file,
  JSON.stringify({ date: new Date().toISOString(), adapter: adapter.description, rows }, null, 2),
);
console.log(`results: ${file}`);
