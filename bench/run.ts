/**
 * `deno task bench`: the benchmark suites, one table each, and all results
 * written to `bench/results/` as one JSON file.
 *
 * - `gradient` (`gradient_suite.ts`): the VGG-19 style objective, forward +
 *   backward, per backend and thread count, at `--sizes`.
 * - `whole` (`whole_run.ts`): the wall time of the README's default command
 *   at `--whole-sizes`, 2 runs at 256 px and 1 at 512 px unless `--whole-runs`.
 *
 *     deno task bench                                   # both suites (several minutes)
 *     deno task bench --sizes 256                       # quicker gradient suite
 *     deno task bench --suite whole --whole-sizes 256   # one whole run size only
 *
 * @module
 */

import { parseArgs } from "node:util";
import { gradientSuite, type GradientSuiteResult } from "./gradient_suite.ts";
import { type WholeRunRow, wholeRunSuite } from "./whole_run.ts";
import { ensureRuntimeDir } from "../cli/runtime_dir.ts";

ensureRuntimeDir(); // keeps the Vulkan loader quiet while looking for a WebGPU adapter

const SUITES = ["gradient", "whole"] as const;
type Suite = typeof SUITES[number];

const { values } = parseArgs({
  options: {
    suite: { type: "string", default: SUITES.join(",") },
    sizes: { type: "string", default: "256,512" },
    iterations: { type: "string", default: "" },
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
const gradientSizes = sizesOf("sizes", values.sizes);
const wholeSizes = sizesOf("whole-sizes", values["whole-sizes"]);
const wholeRuns = values["whole-runs"] === undefined ? undefined : Number(values["whole-runs"]);
if (wholeRuns !== undefined && !(Number.isInteger(wholeRuns) && wholeRuns >= 1)) {
  console.error(`--whole-runs: give a whole number ≥ 1; got ${values["whole-runs"]}`);
  Deno.exit(2);
}
const cores = navigator.hardwareConcurrency;

console.log(
  `machine: ${cores} cores, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`,
);
console.log();
let gradient: GradientSuiteResult | undefined;
let whole: WholeRunRow[] | undefined;
if (suites.includes("gradient")) {
  gradient = await gradientSuite(gradientSizes, { iterations: values.iterations });
}
if (suites.includes("whole")) {
  if (gradient) console.log();
  whole = await wholeRunSuite(wholeSizes, { runs: wholeRuns });
}

const dir = new URL("./results/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
const file = new URL(`bench_${new Date().toISOString().replace(/[:.]/g, "-")}.json`, dir);
await Deno.writeTextFile(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cores,
      os: `${Deno.build.os}/${Deno.build.arch}`,
      deno: Deno.version.deno,
      suites,
      // Gradient speed of the VGG-19 objective (absent when not run).
      gradient,
      // Wall time of the default CLI command (absent when not run).
      whole,
    },
    null,
    2,
  ),
);
console.log(`\nresults: ${file.pathname}`);
