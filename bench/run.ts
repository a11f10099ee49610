/**
 * `deno task bench`: the benchmark suites, each printing its own titled
 * table, all results written to `bench/results/` as one JSON file.
 *
 * Comparison with the PyTorch reference (`bench/reference/`), each row
 * measured side by side in the same run:
 *
 * - `iteration` (`iteration_suite.ts`): ms per evaluation of the full
 *   objective for wasm, native, webgpu (hardware adapters only) and PyTorch,
 *   1 and all threads, on VGG-19 (random weights) and InceptionV3.
 * - `quality` (`quality_suite.ts`): time to reach the reference's final cost
 *   with the default recipe at 384 px on 3 example pairs; both outputs
 *   scored by the same judge; a side-by-side grid PNG.
 * - `memory` (`memory_suite.ts`, `tiled_memory.ts`): peak RSS of whole runs at 256², 512²,
 *   1024², and its growth; then tiled against untiled up to 8192², with the halo overhead.
 * - `browser` (`browser_suite.ts`): the playground's worker in headless
 *   Chromium (wasm) vs Deno wasm vs PyTorch.
 *
 * stylegram alone:
 *
 * - `gradient` (`gradient_suite.ts`): the bare VGG-19 style objective per
 *   backend and thread count.
 * - `whole` (`whole_run.ts`): the wall time of the README's default command.
 * - `tiles` (`tile_accuracy.ts`): tiled against untiled image gradients as
 *   the halo grows, per network.
 * - `video` (`video_suite.ts`): flicker of frames stylised on their own
 *   against the temporal term (with their style scores), chunk seams, flow
 *   speed, and throughput with one and two workers through Redis.
 *
 *     deno task bench                          # the four comparison suites (~20–25 minutes)
 *     deno task bench --quick                  # fewer sizes, pairs and rounds (~7 minutes)
 *     deno task bench --suite iteration --sizes 256
 *     deno task bench --suite gradient,whole --whole-sizes 256
 *     deno task bench --suite video                 # about 10 minutes
 *
 * GPU: `bench/gpu.sh` on a machine with an NVIDIA GPU.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { gradientSuite, type GradientSuiteResult } from "./gradient_suite.ts";
import { type WholeRunRow, wholeRunSuite } from "./whole_run.ts";
import { iterationSuite, type IterationSuiteResult } from "./iteration_suite.ts";
import { PAIRS, qualitySuite, type QualitySuiteResult } from "./quality_suite.ts";
import { memorySuite, type MemorySuiteResult } from "./memory_suite.ts";
import { DEFAULT_TILED_RUNS, tiledMemorySuite } from "./tiled_memory.ts";
import { type AccuracyRow, tileAccuracySuite } from "./tile_accuracy.ts";
import { type LargeBrowserRun, largeBrowserRun } from "./browser_large.ts";
import { browserSuite, type BrowserSuiteResult } from "./browser_suite.ts";
import { videoSuite, type VideoSuiteResult } from "./video_suite.ts";
import { fixed, printTable, RESULTS_DIR, stamp } from "./measure.ts";
import { ensureRuntimeDir } from "../io.ts";

ensureRuntimeDir(); // keeps the Vulkan loader quiet while looking for a WebGPU adapter

const SUITES = [
  "iteration",
  "quality",
  "memory",
  "browser",
  "gradient",
  "whole",
  "tiles",
  "video",
] as const;
type Suite = typeof SUITES[number];
const DEFAULT_SUITES: readonly Suite[] = ["iteration", "quality", "memory", "browser"];

const { values } = parseArgs({
  options: {
    suite: { type: "string", default: DEFAULT_SUITES.join(",") },
    quick: { type: "boolean", default: false },
    sizes: { type: "string" },
    rounds: { type: "string" },
    iterations: { type: "string", default: "" },
    "memory-sizes": { type: "string" },
    "quality-size": { type: "string" },
    pairs: { type: "string" },
    "whole-sizes": { type: "string", default: "256,512" },
    "whole-runs": { type: "string" },
  },
});
const suites = values.suite.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = suites.filter((s) => !SUITES.includes(s as Suite));
if (unknown.length || !suites.length) {
  console.error(`--suite: unknown suite ${unknown.join(", ")}; choose from ${SUITES.join(", ")}`);
  Deno.exit(2);
}
const sizesOf = (flag: string, text: string) => {
  const sizes = text.split(",").map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 16)) {
    console.error(`--${flag}: give whole numbers ≥ 16, comma-separated; got ${text}`);
    Deno.exit(2);
  }
  return sizes;
};
const countOf = (flag: string, text: string | undefined) => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag}: give a whole number ≥ 1; got ${text}`);
    Deno.exit(2);
  }
  return n;
};
const quick = values.quick;
const iterationSizes = values.sizes ? sizesOf("sizes", values.sizes) : quick ? [256] : [256, 512];
const memorySizes = values["memory-sizes"]
  ? sizesOf("memory-sizes", values["memory-sizes"])
  : quick
  ? [256, 512]
  : [256, 512, 1024];
const qualitySize = values["quality-size"]
  ? sizesOf("quality-size", values["quality-size"])[0]
  : 384;
const pairCount = countOf("pairs", values.pairs) ?? (quick ? 1 : PAIRS.length);
const rounds = countOf("rounds", values.rounds);
const wholeSizes = sizesOf("whole-sizes", values["whole-sizes"]);
const wholeRuns = countOf("whole-runs", values["whole-runs"]);
const cores = navigator.hardwareConcurrency;

console.log(
  `machine: ${cores} cores, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}` +
    (quick ? " (--quick: fewer sizes, pairs, rounds and iterations)" : ""),
);
const started = performance.now();
const section = (title: string) => console.log(`\n=== ${title} ${"=".repeat(70 - title.length)}`);

let iteration: IterationSuiteResult | undefined;
let quality: QualitySuiteResult | undefined;
let memory: MemorySuiteResult | undefined;
let tiled: Awaited<ReturnType<typeof tiledMemorySuite>> | undefined;
let tileAccuracy: AccuracyRow[] | undefined;
let largeBrowser: LargeBrowserRun | undefined;
let browser: BrowserSuiteResult | undefined;
let gradient: GradientSuiteResult | undefined;
let whole: WholeRunRow[] | undefined;
let video: VideoSuiteResult | undefined;
if (suites.includes("iteration")) {
  section("iteration: speed per iteration vs PyTorch");
  iteration = await iterationSuite({
    sizes: iterationSizes,
    rounds: rounds ?? (quick ? 1 : 2),
    evaluations: quick ? 3 : undefined,
  });
}
if (suites.includes("quality")) {
  section("quality: time to quality and the judge");
  quality = await qualitySuite({ size: qualitySize, pairs: PAIRS.slice(0, pairCount) });
}
if (suites.includes("memory")) {
  section("memory: peak RSS and its growth");
  memory = await memorySuite({ sizes: memorySizes, iterations: quick ? 4 : 11 });
  section("memory: tiled and untiled, up to 8192²");
  tiled = await tiledMemorySuite({
    runs: quick ? DEFAULT_TILED_RUNS.filter((r) => r.size <= 2048) : DEFAULT_TILED_RUNS,
  });
}
if (suites.includes("tiles")) {
  section("tiles: tiled against untiled gradients as the halo grows");
  tileAccuracy = await tileAccuracySuite();
}
if (suites.includes("browser")) {
  section("browser: headless Chromium");
  browser = await browserSuite({ iterations: quick ? 8 : 12, rounds: rounds ?? (quick ? 1 : 2) });
  if (!quick) {
    section("browser: a 4096 px image in the playground's worker, in tiles");
    largeBrowser = await largeBrowserRun({ size: 4096 });
  }
}
if (suites.includes("gradient")) {
  section("gradient: the bare VGG-19 style objective");
  gradient = await gradientSuite(iterationSizes, { iterations: values.iterations });
}
if (suites.includes("video")) {
  section("video: flicker, chunk seams, workers");
  video = await videoSuite(quick ? { frames: 6, iterations: 40 } : {});
}
if (suites.includes("whole")) {
  section("whole: the README's default command");
  whole = await wholeRunSuite(wholeSizes, { runs: wholeRuns });
}

/** The targets, checked against what ran. */
interface TargetRow {
  target: string;
  measured: string;
  value: number;
  limit: number;
}
const targets: TargetRow[] = [];
if (iteration) {
  const at = (network: string, size: number, engine: string, threads: number) =>
    iteration!.rows.find((r) =>
      r.network === network && r.size === size && r.engine === engine && r.threads === threads
    );
  for (const network of new Set(iteration.rows.map((r) => r.network))) {
    for (const size of new Set(iteration.rows.map((r) => r.size))) {
      for (const threads of [...new Set([1, cores])]) {
        const n = at(network, size, "native", threads);
        if (size === 512 && n?.vsPytorch !== undefined) {
          targets.push({
            target: `native ≤ 0.75× PyTorch per iteration, 512², ${network}, ${threads}t`,
            measured: `${fixed(n.vsPytorch, 2)}×`,
            value: n.vsPytorch,
            limit: 0.75,
          });
        }
      }
      const w = at(network, size, "wasm", cores);
      const n = at(network, size, "native", cores);
      if (w && n) {
        targets.push({
          target: `wasm ${cores}t ≤ 3× native ${cores}t, ${size}², ${network}`,
          measured: `${fixed(w.medianMs / n.medianMs, 2)}×`,
          value: w.medianMs / n.medianMs,
          limit: 3,
        });
      }
    }
  }
}
for (const r of quality?.rows ?? []) {
  targets.push({
    target: `time to quality ≤ ⅓ of PyTorch's, ${r.pair}, reference ${r.variant}`,
    measured: r.ratio === undefined ? "not reached" : `${fixed(r.ratio, 2)}×`,
    value: r.ratio ?? Infinity,
    limit: 1 / 3,
  });
}
if (targets.length) {
  section("targets (reported, not asserted)");
  printTable(
    ["target", "measured", "met"],
    targets.map((t) => [t.target, t.measured, t.value <= t.limit ? "yes" : "no"]),
  );
}

await Deno.mkdir(RESULTS_DIR, { recursive: true });
const file = `${RESULTS_DIR}bench_${stamp()}.json`;
await Deno.writeTextFile(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cores,
      os: `${Deno.build.os}/${Deno.build.arch}`,
      deno: Deno.version.deno,
      quick,
      suites,
      seconds: Math.round((performance.now() - started) / 1000),
      // Each suite's result (absent when not run).
      iteration,
      quality,
      memory,
      tiled,
      tileAccuracy,
      browser,
      largeBrowser,
      gradient,
      video,
      whole,
      targets,
    },
    null,
    2,
  ),
);
console.log(`\nresults: ${file} (${Math.round((performance.now() - started) / 1000)} s)`);
